/**
 * Pool adapters: each library is a small declarative description (where its pool classes or factories
 * are, which methods submit, acquire, release and end), and this one mechanism does the patching for all
 * of them. A description whose shape does not match the loaded library gets one notice and is skipped.
 *
 * Prototypes are patched, not instances, so it works for pools made by CJS and ESM code alike.
 * @internal
 */
import { types, inspect } from 'node:util';
import type { HandleState } from '../../../collector/probe-state';
import { Sampler, type ProbeContext } from '../context';
import type { HandleKind, LiveState } from '../registry';
import { bindWindow, isNativePromise, observeCall, wrapCallback, type CallObserver } from './observe';
import { copyShape, outOfLine } from '../patcher';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
type Exports = Record<string, unknown>;

/**
 * The declarative shape of a pool library. Three families share it:
 *
 *   worker pools    submit ──▶ task (queued ─▶ running ─▶ settled)          piscina, tinypool, workerpool
 *   resource pools  acquire ─▶ acquisition (queued ─▶ running=held ─▶ released)  generic-pool, tarn, pg-pool, undici
 *   limiters        limit(fn) ─▶ task (queued ─▶ running when fn is called ─▶ settled)  p-limit, p-queue
 *
 * A task or acquisition is `queued` until the library starts it (calls the task function, or hands out
 * the resource) and `running` after; queued work that never starts and started work that never ends are
 * separate findings.
 */
export interface PoolAdapter {
  /** npm package name; also the `library` of its handles. */
  library: string;
  /** Paths in the module's exports of pool classes (`''` is the exports value itself). */
  classes?: string[];
  /** Paths in the module's exports of factory functions that return a pool. */
  factories?: string[];
  /**
   * What a factory returns: a pool object (default), or a submit function (p-limit's `limit`), which is
   * handed out as a wrapper with the same own properties (same `this`, same result) so its calls are seen.
   */
  factoryReturns?: 'pool' | 'submit-function';
  /** Pool methods that submit a task and return its promise. */
  submit?: string[];
  /**
   * The pool starts worker threads of its own (piscina, tinypool, workerpool): a thread started during a
   * call into it is the pool's, and always probed, so every submit sets the running pool (`activePool`).
   * Other pools' unsampled submits only forward the call.
   */
  startsThreads?: boolean;
  /** Pool methods that end the pool. */
  destroy?: string[];
  /**
   * How a task's settlement is learnt. `then`: the library's own thenable, which has no unhandled-rejection
   * semantics to disturb, so a reaction can be attached. `inspect` (native promises): read lazily when a
   * report asks, because attaching a reaction would mark a rejection handled and change the app.
   * `result`: the task settles as its function's result does (the library awaits that result itself, so a
   * reaction on it changes nothing for the app), learnt from the function's return value; needs
   * `taskFunctionArg`.
   */
  taskSettlement: 'then' | 'inspect' | 'result';
  /** Index of the argument that is the task function: the task is `running` once the library calls it. */
  taskFunctionArg?: number;
  /** Pool methods that start an acquisition (a promise of a resource, or an object holding one). */
  acquire?: string[];
  /**
   * Where the acquisition's promise is in what an acquire method returns, when that is not the promise
   * itself (tarn: its PendingOperation's `promise`).
   */
  acquiredPromise?(returned: object): unknown;
  /**
   * Learn what a promise-style acquisition resolves with during the call (observe.ts: the global Promise is
   * swapped for an observing one for the call's duration) instead of lazily afterwards (#acquireLazily,
   * the default, which touches nothing): for a pool whose resource must be known by a report made at exit,
   * that has no release method and no in-use count to settle its acquisitions by (undici: the response
   * body). Whatever stores `global.Promise` during such a call keeps the observing one.
   */
  observeAcquisition?: boolean;
  /** The resource in the value an acquisition resolves with (undici: the response `body`). Default: the value. */
  resourceOf?(value: unknown): unknown;
  /** Pool methods whose first argument is a resource handed back (released or destroyed). */
  release?: string[];
  /** Lazy reader of a held resource (undici: a body read to the end or destroyed is released). */
  resourceState?(resource: object): LiveState | undefined;
  /**
   * Whether the pool has `resource` out on loan now, by its own books. Read when the value of a lazily read
   * acquisition comes (#resolvePending): a resource the pool holds as idle by then was handed back, though
   * the release may have come before the acquisition was seen fulfilled. Must not change the pool.
   */
  isLent?(pool: object, resource: object): boolean;
  /** Optional reader of the pool's live state (destroyed flags, thread counts). */
  poolState?(pool: object): LiveState | undefined;
  /**
   * Resources the pool has handed out and not had back (a getter the library keeps anyway). Read on
   * sampled acquisitions only, to see a steady leak the sampling would catch too rarely (see `Pressure`).
   */
  inUse?(pool: object): number;
}

/** Reads a native promise's state without attaching anything to it. Costly (µs): report time only. */
export function nativePromiseState(obj: object): LiveState | undefined {
  if (!types.isPromise(obj)) return undefined;
  const text = inspect(obj, { depth: 0, customInspect: false, maxStringLength: 0, maxArrayLength: 0, breakLength: Infinity });
  if (text.includes('<pending>')) return { state: 'pending' };
  if (text.includes('<rejected>')) return { state: 'rejected', error: rejectionName(text) };
  return { state: 'fulfilled' };
}

function rejectionName(text: string): string {
  const m = /<rejected> \[?([A-Za-z_$][\w$]*)/.exec(text);
  return m ? m[1] : 'rejection';
}

/** The error name of a rejection reason (never its message: heaps hold secrets). */
export function errorName(reason: unknown): string {
  if (reason instanceof Error) return reason.name || reason.constructor?.name || 'Error';
  if (reason !== null && typeof reason === 'object') return (reason as object).constructor?.name ?? 'object';
  return typeof reason;
}

function getPath(exports: unknown, path: string): unknown {
  if (path === '') return exports;
  let value: unknown = exports;
  for (const key of path.split('.')) {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
    value = (value as Exports)[key];
  }
  return value;
}

/** A native promise's state, but only once it is done: a pending one keeps the finer `queued`/`running`. */
function doneState(obj: object): LiveState | undefined {
  const live = nativePromiseState(obj);
  return live?.state === 'pending' ? undefined : live;
}

interface Kinds {
  pool: HandleKind;
  task: HandleKind;
  resource: HandleKind;
  /**
   * A sampled acquisition not resolved yet (#acquireLazily): its promise may be collected before its
   * resource is known, which is no sign of an abandoned acquisition, so it is not `observed` until then.
   */
  resourceUnresolved: HandleKind;
}

/**
 * `fn` called on `thisArg` with the first `count` (0-3) of `a`, `b`, `c`: a wrapper's forwarding call by
 * count, which V8 inlines (it does not inline `Reflect.apply(fn, thisArg, arguments)`).
 */
/** `adapter.isLent` for the resource in `value`, or undefined when it cannot tell. Never throws. */
function lentNow(adapter: PoolAdapter, pool: object | undefined, value: unknown): boolean | undefined {
  if (pool === undefined || adapter.isLent === undefined) return undefined;
  try {
    const resource = adapter.resourceOf ? adapter.resourceOf(value) : value;
    if (resource === null || (typeof resource !== 'object' && typeof resource !== 'function')) return undefined;
    const lent = adapter.isLent(pool, resource as object);
    return typeof lent === 'boolean' ? lent : undefined;
  } catch {
    return undefined;
  }
}

function callByCount(fn: AnyFunction, thisArg: unknown, count: number, a: unknown, b: unknown, c: unknown): unknown {
  switch (count) {
    case 0:
      return fn.call(thisArg);
    case 1:
      return fn.call(thisArg, a);
    case 2:
      return fn.call(thisArg, a, b);
    default:
      return fn.call(thisArg, a, b, c);
  }
}

/** One submit/acquire call while its registry id is not known yet (the library may start or resolve it synchronously). */
class CallState {
  id = 0;
  started = false;
  /** `result` settlement: what the task function returned or threw, when that came before the id. */
  outcome: { threw: boolean; value: unknown } | null = null;
}

/** A sampled acquisition waiting to learn its resource (see AdapterInstaller #acquireLazily). */
interface Unresolved {
  id: number;
  adapter: PoolAdapter;
  promise: WeakRef<object>;
  /** The pool it was acquired from (its adapter's `inUse` settles it when the pool lends nothing). */
  pool: WeakRef<object> | null;
  /** The release number when it was first seen fulfilled (-1: not yet). */
  seenFulfilledAt: number;
}
/** At most this many sampled acquisitions wait to be resolved; later ones are not tracked. */
const MAX_UNRESOLVED = 4096;
/** Acquisitions looked at per acquire or release call (a look reads the promise's state: µs). */
const RESOLVE_PER_CALL = 4;

/**
 * A steady leak at a busy pool: at a million acquisitions a second the sampler takes about 1 in 40,000, so
 * a site that leaks one acquisition in a thousand would be caught once in 40 s. But such a leak shows in
 * the pool itself: the fewest resources in use over half a second keeps rising, where a busy healthy pool's floor
 * stays put. Read on sampled acquisitions (about 25 a second), this lifts the sampling to 1 in 128 for a
 * while once the floor has risen PRESSURE_WINDOWS windows in a row, so the leaking line is caught within
 * seconds; it costs a few % of a core for that while only (a pool filling up under rising load looks the same).
 */
class Pressure {
  #windowStart = 0;
  #floor = Infinity;
  #previousFloor = -1;
  #rising = 0;

  /** Takes one reading of the resources in use; true when the floor has been rising long enough. */
  observe(inUse: number, now: number): boolean {
    if (this.#windowStart === 0) this.#windowStart = now;
    if (inUse < this.#floor) this.#floor = inUse;
    if (now - this.#windowStart < PRESSURE_WINDOW_MS) return false;
    this.#rising = this.#previousFloor >= 0 && this.#floor > this.#previousFloor ? this.#rising + 1 : 0;
    this.#previousFloor = this.#floor;
    this.#floor = inUse;
    this.#windowStart = now;
    return this.#rising >= PRESSURE_WINDOWS;
  }
}
const PRESSURE_WINDOW_MS = 500;
const PRESSURE_WINDOWS = 2;
/** How long the sampling stays lifted once a pool's floor keeps rising. */
const PRESSURE_BOOST_MS = 10_000;

/**
 * At `sample`, a library's tasks and acquisitions are all tracked after its first TASK_SAMPLE_ALWAYS as long
 * as they come slower than TASK_SAMPLES_PER_SECOND, and sampled to that rate above it. A tracked one costs
 * far more in a busy app than in a loop of them: 120–180 µs measured inside the http-pool workload (the
 * stack alone 35–80 µs; run rarely, none of it stays warm), where 100 a second cost 4–5% of its CPU. While
 * a pool looks like it is leaking, one in TASK_BOOST_EVERY.
 */
const TASK_SAMPLE_ALWAYS = 64;
const TASK_SAMPLES_PER_SECOND = 25;
const TASK_BOOST_EVERY = 128;

/** Applies adapters to loaded modules. One instance per probe. */
export class AdapterInstaller {
  readonly #ctx: ProbeContext;
  readonly #patchedProtos = new WeakSet<object>();
  readonly #proxies = new WeakMap<object, object>();
  readonly #kinds = new Map<string, Kinds>();
  /**
   * Tasks and acquisitions can be frequent: one sampler per library (see TASK_SAMPLE_ALWAYS). Measured on
   * the bench: a tracked acquisition costs ≈ 25–80 µs; at a fixed 1 in 16 generic-pool's acquire/release
   * loop ran at 0.30 of its speed, at 1 in 128 (Netty's default) at 0.71.
   */
  readonly #samplers = new Map<string, Sampler>();

  #samplerOf(adapter: PoolAdapter): Sampler {
    let sampler = this.#samplers.get(adapter.library);
    if (!sampler) this.#samplers.set(adapter.library, (sampler = new Sampler(this.#ctx.level, TASK_SAMPLE_ALWAYS, 1, TASK_SAMPLES_PER_SECOND, TASK_BOOST_EVERY)));
    return sampler;
  }

  /** Sampled acquisitions whose resource is not known yet (promise-style; see #acquireLazily). */
  readonly #unresolved: Unresolved[] = [];
  /**
   * Seen fulfilled, its value still to come from a `then` (one microtask later). At a report the app may be
   * inside `process.exit()`, where that microtask never runs: see #settleIdle.
   */
  readonly #awaitingValue = new Set<Unresolved>();
  /** Lazily resolved pools: the resources known held from each, and each such resource's pool. */
  readonly #heldByPool = new WeakMap<object, number>();
  readonly #poolOf = new WeakMap<object, object>();
  /** Release numbers (see #resolvePending): the latest, and per resource its latest. */
  #releaseSeq = 0;
  readonly #lastRelease = new WeakMap<object, number>();
  /** Per pool object, its in-use floor (pools whose adapter has `inUse`). */
  readonly #pressure = new WeakMap<object, Pressure>();
  /** Resources handed out and not yet handed back (weakly): read lazily through `resourceState`. */
  readonly #held = new WeakSet<object>();
  /**
   * How many of them were handed out and not seen handed back (a resource collected unreleased stays
   * counted): while 0, a release has nothing to look up.
   */
  #heldCount = 0;

  constructor(ctx: ProbeContext) {
    this.#ctx = ctx;
    // before every read and poll: whatever acquisitions can be resolved are (see #resolvePending)
    ctx.beforeRead.push(() => {
      if (this.#unresolved.length !== 0) this.#resolvePending(false, true);
      if (this.#awaitingValue.size !== 0) this.#settleIdle();
    });
  }

  /**
   * Applies `adapter` to a module's exports (a CJS `module.exports` or an ESM namespace). Returns the value
   * `require` should hand out (the exports, or a construct/call-observing proxy when the exports value
   * itself is the pool class or factory). With a read-only namespace only prototypes can be patched: pools
   * are then registered at their first use.
   */
  apply(adapter: PoolAdapter, exports: unknown): unknown {
    let result = exports;
    let matched = false;
    for (const path of adapter.factories ?? []) {
      const factory = getPath(exports, path);
      if (typeof factory !== 'function') continue;
      if (path === '') {
        result = this.#factoryProxy(adapter, factory as AnyFunction);
        matched = true;
        continue;
      }
      const owner = path.includes('.') ? getPath(exports, path.slice(0, path.lastIndexOf('.'))) : exports;
      const key = path.slice(path.lastIndexOf('.') + 1);
      matched = this.#wrapFactory(adapter, owner as object, key) || matched;
    }
    for (const path of adapter.classes ?? []) {
      const cls = getPath(exports, path);
      if (typeof cls !== 'function' || typeof cls.prototype !== 'object') continue;
      this.#patchPrototype(adapter, cls.prototype as object);
      matched = true;
      const proxy = this.#constructProxy(adapter, cls as new (...args: unknown[]) => object);
      if (path === '') result = proxy;
      else {
        const owner = path.includes('.') ? getPath(exports, path.slice(0, path.lastIndexOf('.'))) : exports;
        if (owner && (typeof owner === 'object' || typeof owner === 'function')) this.#ctx.patcher.replace(owner as object, path.slice(path.lastIndexOf('.') + 1), proxy);
      }
    }
    if (!matched) this.#ctx.registry.notice(`leak-agent: ${adapter.library} has an unknown shape (no ${[...(adapter.classes ?? []), ...(adapter.factories ?? [])].join('/') || 'known'} export); not tracked`);
    return result;
  }

  #kindsOf(adapter: PoolAdapter): Kinds {
    let kinds = this.#kinds.get(adapter.library);
    if (!kinds) {
      const held = this.#held;
      kinds = {
        pool: { type: 'pool', library: adapter.library, inspect: adapter.poolState, observed: true },
        task: {
          type: 'task',
          library: adapter.library,
          inspect: adapter.taskSettlement === 'then' ? undefined : doneState,
          // Native promises are observed only through the promise hooks of the `full` level. With `observe`,
          // each task is watched while its `resolve` is the agent's (`Registry.watch`); a promise resolved
          // with another one (p-limit) settles unseen from then on.
          observed: adapter.taskSettlement === 'then' || this.#ctx.level === 'full',
          observedByHook: adapter.taskSettlement !== 'then',
        },
        resource: {
          type: 'resource',
          library: adapter.library,
          inspect(obj: object): LiveState | undefined {
            // Waiting: the acquisition is its promise (a rejection, say an acquire timeout, ends it).
            if (isNativePromise(obj)) return doneState(obj);
            if (held.has(obj) && adapter.resourceState) return adapter.resourceState(obj);
            return undefined;
          },
          observed: (adapter.release?.length ?? 0) > 0,
        },
      } as Omit<Kinds, 'resourceUnresolved'> as Kinds;
      kinds.resourceUnresolved = { ...kinds.resource, observed: false };
      this.#kinds.set(adapter.library, kinds);
    }
    return kinds;
  }

  #registerPool(adapter: PoolAdapter, pool: object, skipAbove: Function): number {
    const { registry, sites } = this.#ctx;
    const known = registry.idOf(pool);
    if (known !== 0) return known;
    return registry.track(pool, this.#kindsOf(adapter).pool, sites.capture(skipAbove));
  }

  #wrapFactory(adapter: PoolAdapter, owner: object, key: string): boolean {
    const installer = this;
    return this.#ctx.patcher.wrap(owner, key, (original) =>
      function poolFactory(this: unknown) {
        // eslint-disable-next-line prefer-rest-params
        return installer.#callFactory(adapter, original, this, arguments, poolFactory);
      },
    );
  }

  /** The exports value itself is the factory (p-limit): a Proxy keeps its properties and `this`. */
  #factoryProxy(adapter: PoolAdapter, factory: AnyFunction): unknown {
    const known = this.#proxies.get(factory);
    if (known) return known;
    const installer = this;
    const proxy = new Proxy(factory, {
      apply(target, thisArg, args) {
        return installer.#callFactory(adapter, target, thisArg, args, installer.#callFactory);
      },
    });
    this.#proxies.set(factory, proxy);
    return proxy;
  }

  #callFactory(adapter: PoolAdapter, original: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>, skipAbove: Function): unknown {
    const ctx = this.#ctx;
    const outer = ctx.constructing;
    const started: number[] = [];
    ctx.constructing = started;
    let pool: unknown;
    try {
      pool = Reflect.apply(original, thisArg, args);
    } finally {
      ctx.constructing = outer;
    }
    this.#adoptPool(adapter, pool, started, skipAbove);
    if (adapter.factoryReturns === 'submit-function' && typeof pool === 'function') {
      try {
        return this.#submitFunction(adapter, pool as AnyFunction);
      } catch {
        return pool;
      }
    }
    return pool;
  }

  /**
   * p-limit's `limit`: calling it submits. Handed out as a plain function with the same own properties
   * (`activeCount`, `pendingCount`, `clearQueue`, `concurrency`: the getters and setters are the library's
   * own, closed over its state). Not a Proxy: an apply trap cost 8% of p-limit's throughput on its own.
   * A limiter starts no threads, so an unsampled call needs no pool attribution: straight through.
   */
  #submitFunction(adapter: PoolAdapter, limit: AnyFunction): AnyFunction {
    const installer = this;
    const sampler = this.#samplerOf(adapter);
    /* eslint-disable prefer-rest-params */
    // A sampled call, with its arguments forwarded (see SAMPLED_PATH_NOTE).
    const sampled = function (this: unknown): unknown {
      return runTracked(installer, adapter, limit, this, arguments, installer.#ctx.registry.idOf(limit), submit);
    };
    const submit = function (this: unknown) {
      if (!sampler.take()) {
        // the same arguments, passed on by count (V8 inlines these, not Reflect.apply(…, arguments))
        switch (arguments.length) {
          case 1:
            return limit.call(this, arguments[0]);
          case 2:
            return limit.call(this, arguments[0], arguments[1]);
          case 3:
            return limit.call(this, arguments[0], arguments[1], arguments[2]);
        }
        return Reflect.apply(limit, this, arguments);
      }
      return Reflect.apply(sampled, this, arguments);
    };
    /* eslint-enable prefer-rest-params */
    copyShape(submit, limit);
    return submit;
  }

  #constructProxy(adapter: PoolAdapter, cls: new (...args: unknown[]) => object): object {
    const known = this.#proxies.get(cls);
    if (known) return known;
    const installer = this;
    const proxy: object = new Proxy(cls, {
      construct(target, args, newTarget): object {
        const ctx = installer.#ctx;
        if (!ctx.active) return Reflect.construct(target, args, newTarget === proxy ? target : newTarget) as object;
        const outer = ctx.constructing;
        const started: number[] = [];
        ctx.constructing = started;
        let pool: object;
        try {
          pool = Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
        } finally {
          ctx.constructing = outer;
        }
        // Frames above #adoptPool are the agent's own (this trap), filtered out: the user's `new` is next.
        installer.#adoptPool(adapter, pool, started, installer.#adoptPool);
        return pool;
      },
    });
    this.#proxies.set(cls, proxy);
    return proxy;
  }

  #adoptPool(adapter: PoolAdapter, pool: unknown, started: number[], skipAbove: Function): void {
    try {
      if (pool === null || (typeof pool !== 'object' && typeof pool !== 'function')) return;
      if (typeof pool === 'object') {
        const proto = Object.getPrototypeOf(pool) as object | null;
        if (proto) this.#patchPrototype(adapter, proto);
      }
      // Captured from inside the trap, the stack's first user frame is the `new Pool()` / factory line.
      const id = this.#registerPool(adapter, pool, skipAbove);
      for (const worker of started) this.#ctx.registry.adopt(worker, id);
    } catch {
      // never throw into the app
    }
  }

  #patchPrototype(adapter: PoolAdapter, proto: object): void {
    if (this.#patchedProtos.has(proto)) return;
    this.#patchedProtos.add(proto);
    for (const method of adapter.submit ?? []) this.#wrapSubmit(adapter, proto, method);
    for (const method of adapter.acquire ?? []) this.#wrapAcquire(adapter, proto, method);
    for (const method of adapter.release ?? []) this.#wrapRelease(adapter, proto, method);
    for (const method of adapter.destroy ?? []) this.#wrapDestroy(adapter, proto, method);
  }

  #poolIdOf(adapter: PoolAdapter, pool: unknown, skipAbove: Function): number {
    if (pool === null || typeof pool !== 'object') return 0;
    try {
      return this.#registerPool(adapter, pool, skipAbove);
    } catch {
      return 0;
    }
  }

  #wrapSubmit(adapter: PoolAdapter, proto: object, method: string): void {
    const installer = this;
    const sampler = this.#samplerOf(adapter);
    // A pool that starts no threads (p-queue, pg-pool) needs no pool attribution for an unsampled submit: a
    // countdown and a forwarding call by count, which V8 can inline. Forwarding `arguments` to another
    // function made it allocate them on every call: p-queue's `add` with short jobs ran about 1.5 % slower
    // with that wrapper than with this one (same process, wrapper swapped in and out, 5 runs each).
    const noThreads = adapter.startsThreads !== true;
    this.#ctx.patcher.wrap(proto, method, (original) => {
      /* eslint-disable prefer-rest-params */
      // The rest of the call, with its arguments forwarded (see SAMPLED_PATH_NOTE).
      const sampled = function (this: unknown): unknown {
        const poolId = installer.#poolIdOf(adapter, this, submit);
        if (!noThreads && !sampler.take()) return installer.#runUntracked(original, this, arguments, poolId);
        return runTracked(installer, adapter, original, this, arguments, poolId, submit);
      };
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      function submit(this: unknown, a?: unknown, b?: unknown, c?: unknown): unknown {
        if (noThreads && !sampler.take()) return arguments.length > 3 ? Reflect.apply(original, this, arguments) : callByCount(original, this, arguments.length, a, b, c);
        return Reflect.apply(sampled, this, arguments);
      }
      return submit;
      /* eslint-enable prefer-rest-params */
    });
  }

  /** Not sampled, at a pool that may start threads: no record, only the pool attribution of a thread the call starts. */
  #runUntracked(original: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>, poolId: number): unknown {
    const ctx = this.#ctx;
    const outer = ctx.activePool;
    ctx.activePool = poolId;
    try {
      return Reflect.apply(original, thisArg, args);
    } finally {
      ctx.activePool = outer;
    }
  }

  /**
   * One sampled submit: the task function argument (if the adapter names one) is wrapped to learn when it starts,
   * and the returned task is tracked.
   */
  #runTracked(adapter: PoolAdapter, original: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>, poolId: number, skipAbove: Function): unknown {
    const ctx = this.#ctx;
    const call = new CallState();
    let callArgs: ArrayLike<unknown> = args;
    const fnIndex = adapter.taskFunctionArg;
    const fromResult = adapter.taskSettlement === 'result';
    if (fnIndex !== undefined && typeof args[fnIndex] === 'function') {
      const copy = Array.prototype.slice.call(args);
      copy[fnIndex] = this.#startWatcher(copy[fnIndex] as AnyFunction, call, fromResult);
      callArgs = copy;
    }
    const outer = ctx.activePool;
    ctx.activePool = poolId;
    let task: unknown;
    try {
      task = Reflect.apply(original, thisArg, callArgs);
      this.#trackTask(adapter, task, poolId, skipAbove, call);
      if (fromResult && call.id !== 0) {
        // Watched until the function's result settles; a task whose function never ran (a cleared queue)
        // and is collected was abandoned.
        ctx.registry.watch(call.id, true);
        if (call.outcome !== null) this.#settleFromResult(call.id, call.outcome.threw, call.outcome.value);
      }
    } finally {
      ctx.activePool = outer;
    }
    return task;
  }

  /**
   * The task function, as the library will call it: marks the task `running` first; with `fromResult`, the
   * task then settles as the function's result does (#settleFromResult).
   */
  #startWatcher(fn: AnyFunction, call: CallState, fromResult: boolean): AnyFunction {
    const installer = this;
    const registry = this.#ctx.registry;
    return function task(this: unknown) {
      if (!call.started) {
        call.started = true;
        if (call.id !== 0) registry.mark(call.id, 'running');
      }
      // eslint-disable-next-line prefer-rest-params
      if (!fromResult) return Reflect.apply(fn, this, arguments);
      let value: unknown;
      try {
        // eslint-disable-next-line prefer-rest-params
        value = Reflect.apply(fn, this, arguments);
      } catch (err) {
        installer.#outcome(call, true, err);
        throw err;
      }
      installer.#outcome(call, false, value);
      return value;
    };
  }

  #outcome(call: CallState, threw: boolean, value: unknown): void {
    if (call.id === 0) call.outcome = { threw, value };
    else this.#settleFromResult(call.id, threw, value);
  }

  /**
   * Settles record `id` as `thenable` does, through its `then` (a reaction: only where that marks nothing
   * handled that the library was not handling anyway). The callbacks hold the id only, never the task or
   * its result.
   */
  #settleWith(id: number, thenable: object, then: Function): void {
    const registry = this.#ctx.registry;
    Reflect.apply(then, thenable, [
      () => registry.settle(id, 'fulfilled'),
      (reason: unknown) => registry.settle(id, 'rejected', errorName(reason)),
    ]);
  }

  /**
   * A task settles as its function's result: a throw, a plain value, or a native promise, which the
   * library awaits itself (p-limit: `await result` in its own `run`), so a reaction here marks nothing
   * handled that was not going to be. Any other thenable is left to be read lazily. Never throws.
   */
  #settleFromResult(id: number, threw: boolean, value: unknown): void {
    const registry = this.#ctx.registry;
    try {
      if (threw) registry.settle(id, 'rejected', errorName(value));
      else if (isNativePromise(value)) this.#settleWith(id, value as object, Promise.prototype.then);
      else if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function') {
        registry.watch(id, false);
      } else registry.settle(id, 'fulfilled');
    } catch {
      // never throw into the library's call of the task function
    }
  }

  #trackTask(adapter: PoolAdapter, task: unknown, poolId: number, skipAbove: Function, call: CallState): void {
    try {
      if (task === null || typeof task !== 'object') return;
      const { registry, sites } = this.#ctx;
      const finer = adapter.taskFunctionArg !== undefined;
      const id = registry.track(task, this.#kindsOf(adapter).task, sites.capture(skipAbove), poolId, finer ? 'queued' : 'pending');
      if (id === 0) return;
      call.id = id;
      if (finer) registry.mark(id, call.started ? 'running' : 'queued');
      if (adapter.taskSettlement !== 'then') return;
      const then = (task as { then?: unknown }).then;
      if (typeof then === 'function') this.#settleWith(id, task, then);
    } catch {
      // never throw into the app
    }
  }

  /**
   * One acquisition: `queued` while its promise (or the object holding it) waits, `running` once the
   * library hands out the resource (the record then follows the resource), done when it is handed back.
   */
  #wrapAcquire(adapter: PoolAdapter, proto: object, method: string): void {
    const installer = this;
    const sampler = this.#samplerOf(adapter);
    // The wrapper is all a busy pool's unsampled acquisition pays for: one countdown and a forwarding call.
    // It must stay this small: a closure created in here would make V8 allocate a context on every call.
    this.#ctx.patcher.wrap(proto, method, (original) => {
      /* eslint-disable prefer-rest-params */
      // A sampled acquisition, with the call's arguments forwarded (see SAMPLED_PATH_NOTE).
      const sampled = function (this: unknown): unknown {
        return acquireTracked(installer, adapter, original, this, arguments, acquire);
      };
      function acquire(this: unknown): unknown {
        if (!sampler.take()) {
          if (installer.#unresolved.length !== 0) resolveSome(installer);
          // The same arguments, passed on by count: unlike Reflect.apply(…, arguments), V8 can inline these.
          switch (arguments.length) {
            case 0:
              return original.call(this);
            case 1:
              return original.call(this, arguments[0]);
            case 2:
              return original.call(this, arguments[0], arguments[1]);
          }
          return Reflect.apply(original, this, arguments);
        }
        return Reflect.apply(sampled, this, arguments);
      }
      return acquire;
      /* eslint-enable prefer-rest-params */
    });
  }

  /**
   * A sampled acquisition: its site, its record, and what the library resolves it with. A promise (or an
   * object holding one) is tracked as it is and resolved lazily (#acquireLazily), or observed during the
   * call (`observeAcquisition`); a callback-style call (pg-pool's own `query` calls `connect(cb)`) by its
   * callback.
   */
  #acquireTracked(adapter: PoolAdapter, original: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>, skipAbove: Function): unknown {
    const ctx = this.#ctx;
    if (adapter.inUse && thisArg !== null && typeof thisArg === 'object') this.#checkPressure(adapter, thisArg);
    const poolId = this.#poolIdOf(adapter, thisArg, skipAbove);
    const last = args.length > 0 ? args[args.length - 1] : undefined;
    const callback = typeof last === 'function';
    if (!callback && !adapter.observeAcquisition) return this.#acquireLazily(adapter, original, thisArg, args, poolId, skipAbove);
    const call = new CallState();
    let early: { which: 'resolved' | 'rejected'; value: unknown } | null = null;
    const observer: CallObserver = {
      resolved: (value) => {
        if (call.id === 0) early = { which: 'resolved', value };
        else this.#handedOut(adapter, call.id, value);
      },
      rejected(reason) {
        if (call.id === 0) early = { which: 'rejected', value: reason };
        else ctx.registry.settle(call.id, 'rejected', errorName(reason));
      },
    };
    if (callback) {
      const copy = Array.prototype.slice.call(args);
      copy[copy.length - 1] = wrapCallback(last as AnyFunction, observer);
      args = copy;
    }
    const outer = ctx.activePool;
    ctx.activePool = poolId;
    try {
      // A callback-style call is watched by its callback: no window, so the global Promise stays the
      // original during the call. A library that keeps `global.Promise` when it makes a resource (pg's
      // Client stores it as its `_Promise`, and pg-pool makes clients inside `connect(cb)`) kept the
      // observing Proxy for good: every later promise of that client went through its construct trap.
      const { result, window } = callback ? { result: Reflect.apply(original, thisArg, args), window: null } : observeCall(() => Reflect.apply(original, thisArg, args));
      try {
        // Callback style: the pool's own object is not what the app holds; the call site is enough.
        const handle = result !== null && typeof result === 'object' ? result : null;
        if (handle === null && !callback) return result;
        const id = ctx.registry.track(handle, this.#kindsOf(adapter).resource, ctx.sites.capture(skipAbove), poolId, 'queued');
        if (id !== 0) {
          ctx.registry.mark(id, 'queued');
          call.id = id;
          if (window !== null && !bindWindow(window, result, observer)) ctx.registry.forget(id); // nothing to learn from: not tracked
          const e = early as { which: 'resolved' | 'rejected'; value: unknown } | null;
          early = null;
          if (e !== null) {
            if (e.which === 'resolved') this.#handedOut(adapter, id, e.value);
            else ctx.registry.settle(id, 'rejected', errorName(e.value));
          }
        }
      } catch {
        // never throw into the app
      }
      return result;
    } finally {
      ctx.activePool = outer;
    }
  }

  /**
   * A sampled promise-style acquisition. Nothing of the app or the library is touched: the acquisition's
   * promise is tracked as it is, and what it resolved with is learnt afterwards (#resolvePending), at the
   * pool's next acquire or release, a poll or a report. (Learning it during the call instead meant swapping
   * a Promise constructor for an observing one: the pool's own field slowed the library's every later
   * promise, generic-pool's acquire/release loop ran at 0.92 of its speed instead of 0.99, 8 ABBA pairs; and
   * the global one was kept by whatever stored `global.Promise` during the call, such as a database client
   * a pool's `create` made, whose every later promise then went through the observing Proxy.)
   */
  #acquireLazily(adapter: PoolAdapter, original: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>, poolId: number, skipAbove: Function): unknown {
    const ctx = this.#ctx;
    const outer = ctx.activePool;
    ctx.activePool = poolId;
    let result: unknown;
    try {
      result = Reflect.apply(original, thisArg, args);
    } finally {
      ctx.activePool = outer;
    }
    try {
      const promise = adapter.acquiredPromise && result !== null && typeof result === 'object' ? adapter.acquiredPromise(result) : result;
      if (isNativePromise(promise) && this.#unresolved.length < MAX_UNRESOLVED) {
        const id = ctx.registry.track(promise as object, this.#kindsOf(adapter).resourceUnresolved, ctx.sites.capture(skipAbove), poolId, 'queued');
        if (id !== 0) {
          ctx.registry.mark(id, 'queued');
          const pool = adapter.inUse && thisArg !== null && typeof thisArg === 'object' ? new WeakRef(thisArg) : null;
          this.#unresolved.push({ id, adapter, promise: new WeakRef(promise as object), pool, seenFulfilledAt: -1 });
        }
      }
    } catch {
      // never throw into the app
    }
    return result;
  }

  /**
   * Looks at sampled acquisitions not resolved yet (a few per call, oldest first; all of them before a
   * report). A fulfilled one holds its resource from then on (the record leaves the promise, which the app
   * may drop at once), and its value comes from `then`, one microtask later: attaching a reaction to a
   * fulfilled promise changes nothing for the app (only a rejection could be marked handled by it). Whether
   * the resource was handed back meanwhile is told by release numbers: every release seen while acquisitions
   * are unresolved gets the next number, and a resource whose latest release is numbered at or after the
   * moment its acquisition was first seen fulfilled was released by this holder (the previous holder's
   * release came before the hand-out, so before that moment).
   */
  #resolvePending(atRelease: boolean, all = false): void {
    const list = this.#unresolved;
    const registry = this.#ctx.registry;
    // at a release: that release's number; otherwise just after the latest release
    const now = atRelease ? this.#releaseSeq : this.#releaseSeq + 0.5;
    for (let k = all ? list.length : Math.min(RESOLVE_PER_CALL, list.length); k > 0; k--) {
      const pending = list.shift()!;
      const promise = pending.promise.deref();
      if (promise === undefined) continue; // collected before it was seen settled: this sample is lost
      let live: LiveState | undefined;
      try {
        live = nativePromiseState(promise);
      } catch {
        live = undefined;
      }
      if (live === undefined || live.state === 'pending') {
        list.push(pending);
        continue;
      }
      if (live.state === 'rejected') {
        registry.settle(pending.id, 'rejected', live.error);
        continue;
      }
      pending.seenFulfilledAt = now;
      registry.unbind(pending.id);
      registry.mark(pending.id, 'running');
      const released = this.#lastRelease;
      this.#awaitingValue.add(pending);
      try {
        Reflect.apply(Promise.prototype.then, promise, [
          (value: unknown) => {
            try {
              if (!this.#awaitingValue.delete(pending)) return; // settled by #settleIdle meanwhile
              const at = value !== null && typeof value === 'object' ? released.get(value) : undefined;
              const pool = pending.pool?.deref();
              // Released after it was seen fulfilled, or back in the pool by the pool's own books (its
              // release came first: with many acquisitions out, each is looked at only every few calls).
              if ((at !== undefined && at >= pending.seenFulfilledAt) || lentNow(pending.adapter, pool, value) === false) registry.settle(pending.id, 'released');
              else this.#handedOut(pending.adapter, pending.id, value, pool);
            } catch {
              // never throw into the app
            }
          },
        ]);
      } catch {
        // a promise that takes no reaction: it reads as held
      }
    }
  }

  /**
   * Before a report: acquisitions whose value has not come yet (a `release()` then `process.exit()` at once
   * leaves no microtask to run) are taken as released when their pool lends no more resources (the
   * adapter's `inUse`) than those known held from it: whatever else it handed out came back. A pool that
   * lends more (resources of acquisitions not sampled, or these) keeps them as held.
   */
  #settleIdle(): void {
    const byPool = new Map<object, Unresolved[]>();
    for (const pending of this.#awaitingValue) {
      const pool = pending.pool?.deref();
      if (pool === undefined) continue;
      const list = byPool.get(pool);
      if (list) list.push(pending);
      else byPool.set(pool, [pending]);
    }
    for (const [pool, list] of byPool) {
      try {
        const inUse = list[0].adapter.inUse?.(pool);
        if (typeof inUse !== 'number' || inUse > (this.#heldByPool.get(pool) ?? 0)) continue;
        for (const pending of list) {
          this.#awaitingValue.delete(pending);
          this.#ctx.registry.settle(pending.id, 'released');
        }
      } catch {
        // a library whose getter throws: left as they are
      }
    }
  }

  #checkPressure(adapter: PoolAdapter, pool: object): void {
    try {
      let pressure = this.#pressure.get(pool);
      if (!pressure) this.#pressure.set(pool, (pressure = new Pressure()));
      const inUse = adapter.inUse!(pool);
      if (typeof inUse === 'number' && pressure.observe(inUse, Date.now())) this.#samplerOf(adapter).boost(PRESSURE_BOOST_MS);
    } catch {
      // a library whose getter throws: no pressure reading, nothing else changes
    }
  }

  #handedOut(adapter: PoolAdapter, id: number, value: unknown, pool?: object): void {
    const registry = this.#ctx.registry;
    let resource: unknown = value;
    if (adapter.resourceOf) {
      try {
        resource = adapter.resourceOf(value);
      } catch {
        resource = undefined;
      }
    }
    if (resource === null || (typeof resource !== 'object' && typeof resource !== 'function')) {
      registry.settle(id, 'fulfilled');
      return;
    }
    // A pool lends a resource to one holder at a time. Found held by another sampled acquisition (whose
    // release this probe missed: its value came after that release), the older one's turn is over.
    const holder = registry.idOf(resource);
    if (holder !== 0 && holder !== id && registry.typeOf(holder) === 'resource') {
      if (holder > id) {
        registry.settle(id, 'released');
        return;
      }
      registry.settle(holder, 'released');
    }
    registry.rebind(id, resource, this.#kindsOf(adapter).resource);
    registry.mark(id, 'running');
    if (!this.#held.has(resource)) {
      this.#held.add(resource);
      this.#heldCount++;
      if (pool !== undefined) {
        this.#poolOf.set(resource, pool);
        this.#heldByPool.set(pool, (this.#heldByPool.get(pool) ?? 0) + 1);
      }
    }
  }

  #wrapRelease(adapter: PoolAdapter, proto: object, method: string): void {
    const installer = this;
    // Small for the same reason as the acquire wrapper; with no sampled resource out, nothing is looked up.
    this.#ctx.patcher.wrap(proto, method, (original) =>
      function release(this: unknown) {
        /* eslint-disable prefer-rest-params */
        if (installer.#heldCount !== 0 || installer.#unresolved.length !== 0 || installer.#awaitingValue.size !== 0) released(installer, arguments[0]);
        switch (arguments.length) {
          case 1:
            return original.call(this, arguments[0]);
          case 2:
            return original.call(this, arguments[0], arguments[1]);
          case 3:
            return original.call(this, arguments[0], arguments[1], arguments[2]);
        }
        return Reflect.apply(original, this, arguments);
        /* eslint-enable prefer-rest-params */
      },
    );
  }

  /** The wrappers' rare paths, reached through `outOfLine` (see the constants after this class). */
  static acquireTracked(installer: AdapterInstaller, adapter: PoolAdapter, original: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>, skipAbove: Function): unknown {
    return installer.#acquireTracked(adapter, original, thisArg, args, skipAbove);
  }
  static resolveSome(installer: AdapterInstaller): void {
    installer.#resolvePending(false);
  }
  static released(installer: AdapterInstaller, resource: unknown): void {
    installer.#released(resource);
  }
  static runTracked(installer: AdapterInstaller, adapter: PoolAdapter, original: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>, poolId: number, skipAbove: Function): unknown {
    return installer.#runTracked(adapter, original, thisArg, args, poolId, skipAbove);
  }

  /** A resource handed back: its acquisition, if sampled, is released. Never throws. */
  #released(resource: unknown): void {
    try {
      if (resource === null || (typeof resource !== 'object' && typeof resource !== 'function')) return;
      // Numbered while any sampled acquisition's resource is not known yet, including those seen fulfilled
      // whose value has not come (#resolvePending): three acquisitions awaited together, then all three
      // released at once, left two of them held.
      if (this.#unresolved.length !== 0 || this.#awaitingValue.size !== 0) {
        this.#lastRelease.set(resource, ++this.#releaseSeq);
        if (this.#unresolved.length !== 0) this.#resolvePending(true);
      }
      if (!this.#held.delete(resource)) return;
      this.#heldCount--;
      const pool = this.#poolOf.get(resource);
      if (pool !== undefined) this.#heldByPool.set(pool, (this.#heldByPool.get(pool) ?? 1) - 1);
      const registry = this.#ctx.registry;
      const id = registry.idOf(resource);
      if (id !== 0 && registry.typeOf(id) === 'resource') registry.settle(id, 'released');
    } catch {
      // never throw into the app
    }
  }

  #wrapDestroy(adapter: PoolAdapter, proto: object, method: string): void {
    const installer = this;
    this.#ctx.patcher.wrap(proto, method, (original) =>
      function destroy(this: unknown) {
        try {
          if (this !== null && typeof this === 'object') {
            const id = installer.#ctx.registry.idOf(this);
            if (id !== 0) installer.#ctx.registry.settle(id, 'destroyed' satisfies HandleState);
          }
        } catch {
          // never throw into the app
        }
        // eslint-disable-next-line prefer-rest-params
        return Reflect.apply(original, this, arguments);
      },
    );
  }
}

// The wrappers' rare paths, out of line: a wrapper inlined into the app's hot function must stay a countdown
// and a forwarding call (`outOfLine`). Same run, 20 ABBA rounds, http-pool workload: 0.934 -> 0.949 of no agent.
//
// SAMPLED_PATH_NOTE. A wrapper hands a sampled call to its rare path with the arguments forwarded,
// `Reflect.apply(sampled, this, arguments)`, never the `arguments` object itself as a value: once a call
// had been sampled, V8's optimised wrapper then made the object on entry to every call, sampled or not.
// p-queue, a million short jobs (same run): 245-249 scavenges and 3.08-3.09 GB allocated with the agent, against
// 232 and 3.03 GB without it; 225-227 and 3.02-3.03 GB since.
const acquireTracked = outOfLine(AdapterInstaller.acquireTracked);
const resolveSome = outOfLine(AdapterInstaller.resolveSome);
const released = outOfLine(AdapterInstaller.released);
const runTracked = outOfLine(AdapterInstaller.runTracked);

export type { AnyFunction };
