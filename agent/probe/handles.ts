/**
 * OS handles: timers, servers, client sockets, child processes and worker threads, tracked by patching
 * their constructors or methods (nanoseconds, no promise or async hooks). Each records its creation site;
 * whether it keeps the process alive is read from the live object (`hasRef()`) only when a report asks.
 * @internal
 */
// Plain `require` bindings: the patches must land on the modules' own export objects, not on copies. `net`
// and `child_process` are required only when the app loads them (builtins.ts).
import type * as net from 'node:net';
import type * as childProcess from 'node:child_process';
import timers = require('node:timers');
import { syncBuiltinEsmViews } from './cjs';
import { workerThreads } from './builtins';
import { packageAt } from '../../collector/paths';
import type { HandleKind, LiveState } from './registry';
import { Sampler, type ProbeContext } from './context';
import { UnprobedThreadOptions } from './thread-options';
import { outOfLine } from './patcher';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Timeouts shorter than this cannot be what keeps a process alive for long: not tracked at `sample`. */
const SHORT_TIMEOUT_MS = 1000;

interface TimerLike {
  _destroyed?: boolean;
  _idleTimeout?: number;
  hasRef?(): boolean;
}

function timerState(obj: object): LiveState {
  const t = obj as TimerLike;
  const done = t._destroyed === true;
  const delay = typeof t._idleTimeout === 'number' && t._idleTimeout >= 0 ? t._idleTimeout : undefined;
  return {
    delayMs: delay,
    state: done ? 'closed' : 'pending',
    keepsProcessAlive: !done && typeof t.hasRef === 'function' && t.hasRef(),
    detail: delay !== undefined ? `${delay} ms` : undefined,
  };
}

/** A timer that fired (one-shot) or was cleared. */
function timerDone(obj: object): boolean {
  return (obj as TimerLike)._destroyed === true;
}

const TIMEOUT: HandleKind = { type: 'timer', library: 'timers', inspect: timerState, observed: false, unique: true, done: timerDone };
const INTERVAL: HandleKind = { type: 'interval', library: 'timers', inspect: timerState, observed: false, unique: true, done: timerDone };

interface HandleWrapHolder {
  _handle?: { hasRef?(): boolean } | null;
}

function handleRefd(obj: object): boolean {
  const h = (obj as HandleWrapHolder)._handle;
  return !!h && typeof h.hasRef === 'function' && h.hasRef();
}

const SERVER: HandleKind = {
  type: 'server',
  library: 'net',
  observed: false,
  inspect(obj) {
    const s = obj as net.Server;
    if (!s.listening) return { state: 'closed', keepsProcessAlive: false };
    const address = s.address();
    const detail = address && typeof address === 'object' ? `listening on ${address.address}:${address.port}` : address ? `listening on ${address}` : undefined;
    return { state: 'pending', keepsProcessAlive: handleRefd(s), detail };
  },
};

const SOCKET: HandleKind = {
  type: 'socket',
  library: 'net',
  observed: false,
  inspect(obj) {
    const s = obj as net.Socket;
    if (s.destroyed) return { state: 'closed', keepsProcessAlive: false };
    const detail = s.remotePort ? `connected to ${s.remoteAddress}:${s.remotePort}` : undefined;
    return { state: 'pending', keepsProcessAlive: handleRefd(s), detail };
  },
};

const CHILD: HandleKind = {
  type: 'child-process',
  library: 'child_process',
  observed: false,
  inspect(obj) {
    const c = obj as childProcess.ChildProcess & HandleWrapHolder;
    if (c.exitCode !== null || c.signalCode !== null) return { state: 'closed', keepsProcessAlive: false };
    const pipes = [c.stdin, c.stdout, c.stderr].some((s) => s !== null && !s.destroyed && handleRefd(s as object));
    return { state: 'pending', keepsProcessAlive: handleRefd(c) || pipes, detail: `pid ${c.pid ?? '?'} ${c.spawnfile ?? ''}`.trim() };
  },
};

let workerHandleKey: symbol | undefined;
const WORKER: HandleKind = {
  type: 'worker',
  library: 'worker_threads',
  observed: false,
  inspect(obj) {
    const w = obj as import('node:worker_threads').Worker & Record<symbol, { hasRef?(): boolean } | null>;
    if (w.threadId === -1) return { state: 'closed', keepsProcessAlive: false };
    if (workerHandleKey === undefined) workerHandleKey = Object.getOwnPropertySymbols(w).find((s) => s.description === 'kHandle');
    const handle = workerHandleKey ? w[workerHandleKey] : null;
    return { state: 'pending', keepsProcessAlive: !!handle && typeof handle.hasRef === 'function' && handle.hasRef(), detail: `threadId ${w.threadId}` };
  },
};

/**
 * The pool that owns a handle a library opened with no user frame on the stack (tarn's reaping
 * `setInterval`, started from a timer; undici's sockets, opened from its own event loop turns): the pool
 * whose method is running, else the newest live pool of the library the stack lies in. Then the report
 * leads with the user's pool creation line instead of a node_modules line. A handle opened from user code
 * keeps its own site and no owner. Runs only for library-only stacks (rare; sampled like the rest).
 */
function ownerOf(ctx: ProbeContext, site: number): number {
  try {
    const record = ctx.sites.records[site];
    if (site === 0 || !record || record.user) return 0;
    if (ctx.activePool !== 0) return ctx.activePool;
    const seen = new Set<string>();
    for (const frame of record.stack.length > 0 ? record.stack : [record.frame]) {
      const library = packageAt(frame.file)?.name ?? null;
      if (library === null || seen.has(library)) continue;
      seen.add(library);
      const pool = ctx.registry.newestLivePool(library);
      if (pool !== 0) return pool;
    }
  } catch {
    // never throw into the app
  }
  return 0;
}

/** Records `obj` at the caller's site (frames above `skipAbove`); never throws into the app. */
function trackAt(ctx: ProbeContext, obj: object, kind: HandleKind, skipAbove: Function): void {
  try {
    const site = ctx.sites.capture(skipAbove);
    ctx.registry.track(obj, kind, site, ownerOf(ctx, site));
  } catch {
    // never throw into the app
  }
}

/** For the timer and socket wrappers, which run often and track rarely (see `outOfLine`). */
const trackAtOutOfLine = outOfLine(trackAt);

/** The builtins whose loading loads `net` (their servers and sockets are net's) or is `child_process`. */
const NET_TRIGGERS = ['net', 'tls', 'http', 'https', 'http2', 'cluster', 'child_process', 'repl', '_http_agent', '_http_client', '_http_server', '_tls_wrap'];
const CHILD_TRIGGERS = ['child_process', 'cluster'];

/** Installs every OS-handle patch (net and child_process once they are loaded). */
export function installHandles(ctx: ProbeContext): void {
  installTimers(ctx);
  /* eslint-disable @typescript-eslint/no-var-requires */
  ctx.builtins.when('net', NET_TRIGGERS, () => installNet(ctx, require('node:net') as typeof net));
  ctx.builtins.when('child_process', CHILD_TRIGGERS, () => installChildProcess(ctx, require('node:child_process') as typeof childProcess));
  // On a main thread, once the app loads worker_threads (builtins.ts `loadedWorkerThreads`); in a worker, now.
  ctx.builtins.when('worker_threads', ['worker_threads'], () => installWorker(ctx, workerThreads()));
  /* eslint-enable @typescript-eslint/no-var-requires */
}

/**
 * Timer sampling at `sample`: the first 256 of a kind get a stack, then one in TIMEOUT_EVERY (1024) timeouts (of
 * at least SHORT_TIMEOUT_MS) and one in INTERVAL_EVERY intervals. A timeout cleared at once is the common
 * case (request and idle timeouts): at one in 16 with a stack each, an app setting 8 of them per request
 * ran at 0.74 of its speed (bench `timers`). A leak is many pending timers from one line: one in 1024 of
 * them still shows it (a tracked timer costs ≈ 20 µs: stack, site, record), and a lone timer keeping a short script alive is within the first 256.
 */
const TIMEOUT_EVERY = 1024;
const INTERVAL_EVERY = 64;

function installTimers(ctx: ProbeContext): void {
  const { patcher } = ctx;
  const full = ctx.level === 'full';
  const timeouts = new Sampler(ctx.level, 256, TIMEOUT_EVERY);
  const intervals = new Sampler(ctx.level, 256, INTERVAL_EVERY);
  // The slow paths are functions of their own, so the wrappers stay small (no closure, no `arguments`
  // indexing: the delay is a named parameter and `arguments` is only forwarded).
  function trackTimeout(timer: unknown): void {
    if (timeouts.take() && typeof timer === 'object' && timer !== null) trackAtOutOfLine(ctx, timer, TIMEOUT, trackTimeout);
  }
  function trackInterval(timer: unknown): void {
    if (intervals.take() && typeof timer === 'object' && timer !== null) trackAtOutOfLine(ctx, timer, INTERVAL, trackInterval);
  }
  const wrapTimeout = (original: AnyFunction): AnyFunction =>
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    function setTimeout(this: unknown, callback: unknown, delay: unknown) {
      // eslint-disable-next-line prefer-rest-params
      const timer = Reflect.apply(original, this, arguments);
      // Only a number is read: coercing an object delay again would call its valueOf a second time.
      if (full || (typeof delay === 'number' && delay >= SHORT_TIMEOUT_MS)) trackTimeout(timer);
      return timer;
    } as AnyFunction;
  const wrapInterval = (original: AnyFunction): AnyFunction =>
    function setInterval(this: unknown) {
      // eslint-disable-next-line prefer-rest-params
      const timer = Reflect.apply(original, this, arguments);
      trackInterval(timer);
      return timer;
    };
  // globalThis.setTimeout and timers.setTimeout are the same function; patch both places.
  const sameTimeout = globalThis.setTimeout === timers.setTimeout;
  patcher.wrap(globalThis, 'setTimeout', wrapTimeout);
  patcher.wrap(globalThis, 'setInterval', wrapInterval);
  if (sameTimeout) {
    patcher.replace(timers, 'setTimeout', globalThis.setTimeout);
    patcher.replace(timers, 'setInterval', globalThis.setInterval);
  } else {
    patcher.wrap(timers, 'setTimeout', wrapTimeout);
    patcher.wrap(timers, 'setInterval', wrapInterval);
  }
}

function installNet(ctx: ProbeContext, net: typeof import('node:net')): void {
  const { registry, patcher } = ctx;
  patcher.wrap(net.Server.prototype, 'listen', (original) =>
    function listen(this: unknown) {
      if (this !== null && typeof this === 'object' && registry.idOf(this) === 0) trackAt(ctx, this, SERVER, listen);
      // eslint-disable-next-line prefer-rest-params
      return Reflect.apply(original, this, arguments);
    },
  );
  const sockets = new Sampler(ctx.level, 256, 16);
  patcher.wrap(net.Socket.prototype, 'connect', (original) =>
    function connect(this: unknown) {
      if (this !== null && typeof this === 'object' && registry.idOf(this) === 0 && sockets.take()) trackAtOutOfLine(ctx, this, SOCKET, connect);
      // eslint-disable-next-line prefer-rest-params
      return Reflect.apply(original, this, arguments);
    },
  );
}

/**
 * Child processes at `sample`: the first 64 get a stack, then one in CHILD_EVERY (and no more than the
 * sampler's rate cap). A tracked spawn costs 50-70 µs (a cold stack capture and a record), about a tenth
 * of what `execFile` of a small program costs this process: bench `child-spawn` ran at 0.90-0.92 of its
 * speed with every spawn tracked. Children leaking from one line are many pending ones, which one in eight
 * still shows; the lone child that keeps a script alive is among the first 64.
 */
const CHILD_EVERY = 8;

function installChildProcess(ctx: ProbeContext, childProcess: typeof import('node:child_process')): void {
  const { patcher } = ctx;
  const children = new Sampler(ctx.level, 64, CHILD_EVERY);
  patcher.wrap(childProcess.ChildProcess.prototype, 'spawn', (original) =>
    function spawn(this: unknown) {
      // eslint-disable-next-line prefer-rest-params
      const result = Reflect.apply(original, this, arguments);
      if (this !== null && typeof this === 'object' && children.take()) trackAtOutOfLine(ctx, this, CHILD, spawn);
      return result;
    },
  );
}

function installWorker(ctx: ProbeContext, threadsModule: typeof import('node:worker_threads')): void {
  const { registry, sites, threads } = ctx;
  const Original = threadsModule.Worker;
  ctx.nativeWorker = Original;
  let unprobedOptions: UnprobedThreadOptions | null = null;
  registry.addNoticeSource(() => threads.notice());
  // A subclass keeps `instanceof`, statics and the prototype chain; only construction is observed.
  const Patched = class Worker extends Original {
    constructor(...args: ConstructorParameters<typeof Original>) {
      let site = 0;
      let probed = true;
      try {
        site = sites.capture(Patched);
        // A pool's threads (piscina, workerpool, tinypool) are always probed: few, long-lived, and where its tasks run.
        const pooled = ctx.activePool !== 0 || ctx.constructing !== null;
        const options = pooled || threads.probes(site) ? null : (unprobedOptions ??= new UnprobedThreadOptions()).for(args[1]);
        if (options !== null) {
          args[1] = options;
          probed = false;
        }
      } catch {
        // never throw into the app
      }
      super(...args);
      try {
        const owner = ctx.activePool;
        const id = registry.track(this, WORKER, site, owner);
        if (owner === 0 && ctx.constructing !== null && id !== 0) ctx.constructing.push(id);
        threads.started(this, probed);
        if (probed) ctx.onThreadStart?.();
      } catch {
        // never throw into the app
      }
    }
  };
  Object.defineProperty(Patched, 'length', { value: Original.length, configurable: true });
  if (ctx.patcher.replace(threadsModule, 'Worker', Patched)) {
    syncBuiltinEsmViews();
    ctx.undo.push(() => syncBuiltinEsmViews());
  }
}
