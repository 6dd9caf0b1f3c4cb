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
import type { ProbeContext } from '../context';
import type { HandleKind, LiveState } from '../registry';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
type Exports = Record<string, unknown>;

/** The declarative shape of a pool library. */
export interface PoolAdapter {
  /** npm package name; also the `library` of its handles. */
  library: string;
  /** Paths in the module's exports of pool classes (`''` is the exports value itself). */
  classes?: string[];
  /** Paths in the module's exports of factory functions that return a pool. */
  factories?: string[];
  /** Pool methods that submit a task and return its promise. */
  submit?: string[];
  /** Pool methods that end the pool. */
  destroy?: string[];
  /**
   * How a task's settlement is learnt. `then`: the library's own thenable, which has no unhandled-rejection
   * semantics to disturb, so a reaction can be attached. `inspect` (native promises): read lazily when a
   * report asks, because attaching a reaction would mark a rejection handled and change the app.
   */
  taskSettlement: 'then' | 'inspect';
  /** Optional reader of the pool's live state (destroyed flags, thread counts). */
  poolState?(pool: object): LiveState | undefined;
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

/** Applies adapters to loaded modules. One instance per probe. */
export class AdapterInstaller {
  readonly #ctx: ProbeContext;
  readonly #patchedProtos = new WeakSet<object>();
  readonly #proxies = new WeakMap<object, object>();
  readonly #kinds = new Map<string, { pool: HandleKind; task: HandleKind }>();

  constructor(ctx: ProbeContext) {
    this.#ctx = ctx;
  }

  /**
   * Applies `adapter` to a module's exports. Returns the value `require` should hand out (the exports, or a
   * construct-observing proxy when the exports value itself is the pool class).
   */
  apply(adapter: PoolAdapter, exports: unknown): unknown {
    let result = exports;
    let matched = false;
    for (const path of adapter.factories ?? []) {
      const factory = getPath(exports, path);
      if (typeof factory !== 'function') continue;
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
    if (!matched) this.#ctx.registry.notice(`leak-agent: ${adapter.library} has an unknown shape (no ${[...(adapter.classes ?? []), ...(adapter.factories ?? [])].join('/')} export); not tracked`);
    return result;
  }

  #kindsOf(adapter: PoolAdapter): { pool: HandleKind; task: HandleKind } {
    let kinds = this.#kinds.get(adapter.library);
    if (!kinds) {
      kinds = {
        pool: { type: 'pool', library: adapter.library, inspect: adapter.poolState, observed: true },
        task: {
          type: 'task',
          library: adapter.library,
          inspect: adapter.taskSettlement === 'inspect' ? nativePromiseState : undefined,
          // Native promises are observed only through the promise hooks of the `full` level.
          observed: adapter.taskSettlement === 'then' || this.#ctx.level === 'full',
        },
      };
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
        const ctx = installer.#ctx;
        const outer = ctx.constructing;
        const started: number[] = [];
        ctx.constructing = started;
        let pool: unknown;
        try {
          // eslint-disable-next-line prefer-rest-params
          pool = Reflect.apply(original, this, arguments);
        } finally {
          ctx.constructing = outer;
        }
        installer.#adoptPool(adapter, pool, started, poolFactory);
        return pool;
      },
    );
  }

  #constructProxy(adapter: PoolAdapter, cls: new (...args: unknown[]) => object): object {
    const known = this.#proxies.get(cls);
    if (known) return known;
    const installer = this;
    const proxy = new Proxy(cls, {
      construct(target, args, newTarget) {
        const ctx = installer.#ctx;
        const outer = ctx.constructing;
        const started: number[] = [];
        ctx.constructing = started;
        let pool: object;
        try {
          pool = Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
        } finally {
          ctx.constructing = outer;
        }
        installer.#adoptPool(adapter, pool, started, installer.#constructTrapMarker);
        return pool;
      },
    });
    this.#proxies.set(cls, proxy);
    return proxy;
  }

  /** Stack frames above the proxy trap: the trap function itself is what we skip above. */
  #constructTrapMarker = function construct(): void {};

  #adoptPool(adapter: PoolAdapter, pool: unknown, started: number[], skipAbove: Function): void {
    try {
      if (pool === null || typeof pool !== 'object') return;
      const proto = Object.getPrototypeOf(pool) as object | null;
      if (proto) this.#patchPrototype(adapter, proto);
      // Captured from inside the trap, the stack's first user frame is the `new Pool()` / factory line.
      const id = this.#registerPool(adapter, pool, skipAbove === this.#constructTrapMarker ? this.#adoptPool : skipAbove);
      for (const worker of started) this.#ctx.registry.adopt(worker, id);
    } catch {
      // never throw into the app
    }
  }

  #patchPrototype(adapter: PoolAdapter, proto: object): void {
    if (this.#patchedProtos.has(proto)) return;
    this.#patchedProtos.add(proto);
    for (const method of adapter.submit ?? []) this.#wrapSubmit(adapter, proto, method);
    for (const method of adapter.destroy ?? []) this.#wrapDestroy(adapter, proto, method);
  }

  #wrapSubmit(adapter: PoolAdapter, proto: object, method: string): void {
    const installer = this;
    this.#ctx.patcher.wrap(proto, method, (original) =>
      function submit(this: unknown) {
        const ctx = installer.#ctx;
        let poolId = 0;
        if (this !== null && typeof this === 'object') {
          try {
            poolId = installer.#registerPool(adapter, this, submit);
          } catch {
            poolId = 0;
          }
        }
        const outer = ctx.activePool;
        ctx.activePool = poolId;
        let task: unknown;
        try {
          // eslint-disable-next-line prefer-rest-params
          task = Reflect.apply(original, this, arguments);
        } finally {
          ctx.activePool = outer;
        }
        installer.#trackTask(adapter, task, poolId, submit);
        return task;
      },
    );
  }

  #trackTask(adapter: PoolAdapter, task: unknown, poolId: number, skipAbove: Function): void {
    try {
      if (task === null || typeof task !== 'object') return;
      const { registry, sites } = this.#ctx;
      const id = registry.track(task, this.#kindsOf(adapter).task, sites.capture(skipAbove), poolId);
      if (id === 0 || adapter.taskSettlement !== 'then') return;
      const then = (task as { then?: unknown }).then;
      if (typeof then !== 'function') return;
      // The callbacks hold the id only, never the task or its result.
      Reflect.apply(then, task, [
        () => registry.settle(id, 'fulfilled'),
        (reason: unknown) => registry.settle(id, 'rejected', errorName(reason)),
      ]);
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

export type { AnyFunction };
