/**
 * The probe: everything that runs on the app's thread. It patches (pools, OS handles), optionally hooks
 * promises (`full`), and answers `read()`. It is reachable as `globalThis[Symbol.for('leak-agent')]` so
 * that the agent worker (through `connectToMainThread`) and a remote `attach` read it the same way.
 * @internal
 */
import { TAG_PREFIX } from '../../collector/tags';
import type { Level, ProbeState } from '../../collector/probe-state';
import { Patcher } from './patcher';
import { LazyBuiltins, loadedWorkerThreads, workerThreads } from './builtins';
import { Registry } from './registry';
import { SiteTable, captureDeepFrames } from './sites';
import { ThreadSampler, type ProbeContext } from './context';
import { installHandles } from './handles';
import { AdapterInstaller } from './adapters/adapter';
import { ADAPTERS } from './adapters';
import { installModuleHook } from './modules';
import { installEsmHooks } from './esm-hooks';
import { installListeners } from './listeners';

/** An app worker thread's side of the merged reports (../threads.ts), in the probe's one-file build. */
export { serveThread } from './thread-serve';

/**
 * A new EarlyStates (./early-states) for the main thread, loaded from the probe's own build (with its code
 * cache) only when first needed: it loads `worker_threads`, which a main thread starting no thread never does.
 */
export function earlyStates(): import('./early-states').EarlyStates {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return new (require('./early-states') as typeof import('./early-states')).EarlyStates();
}

export const PROBE_KEY = Symbol.for('leak-agent');

export interface ProbeOptions {
  level: Level;
  maxHandles: number;
  maxSites: number;
  /**
   * Register the ESM loader hooks (default true). `leak-agent attach` passes false: loader hooks cannot be
   * unregistered, and an attach must leave the process as it was.
   */
  loaderHooks?: boolean;
}

export interface ReadOptions {
  /** Run a full GC first, so that `alive` means "still reachable". */
  gc?: boolean;
}

let gcFunction: (() => void) | undefined;
/** A full GC without `--expose-gc` on the command line: the flag is set, and `gc` read from a new context. */
function fullGc(): void {
  if (!gcFunction) {
    // Loaded when first needed (a report), not at start-up: `node:v8` and `node:vm` cost ≈ 3 ms to load.
    /* eslint-disable @typescript-eslint/no-var-requires */
    const { setFlagsFromString } = require('node:v8') as typeof import('node:v8');
    const { runInNewContext } = require('node:vm') as typeof import('node:vm');
    /* eslint-enable @typescript-eslint/no-var-requires */
    setFlagsFromString('--expose-gc');
    try {
      gcFunction = runInNewContext('gc') as () => void;
    } finally {
      // Only this context got it: new contexts and workers of the app must not find a global `gc`.
      setFlagsFromString('--no-expose-gc');
    }
  }
  gcFunction();
}

export class Probe {
  readonly #ctx: ProbeContext;
  readonly #loaderHooks: boolean;
  #installed = false;

  constructor(options: ProbeOptions) {
    const sites = new SiteTable(options.maxSites);
    this.#loaderHooks = options.loaderHooks !== false;
    this.#ctx = {
      level: options.level,
      sites,
      registry: new Registry(sites, { maxHandles: options.maxHandles, level: options.level, threadId: loadedWorkerThreads()?.threadId ?? 0 }),
      patcher: new Patcher(),
      builtins: new LazyBuiltins(),
      activePool: 0,
      active: false,
      constructing: null,
      onThreadStart: null,
      threads: new ThreadSampler(options.level),
      nativeWorker: null,
      beforeRead: [],
      undo: [],
    };
    const builtins = this.#ctx.builtins;
    this.#ctx.beforeRead.push(() => builtins.catchUp());
  }

  /** Calls `fn` (never throwing into the app) when the app starts a worker thread. */
  onThreadStart(fn: () => void): void {
    this.#ctx.onThreadStart = fn;
  }

  /**
   * Node's own Worker class, for the agent's analysis worker (not one of the app's threads). Loads
   * worker_threads, which makes the Worker patch if the probe waited for it.
   */
  nativeWorker(): typeof import('node:worker_threads').Worker {
    const { Worker } = workerThreads();
    return this.#ctx.nativeWorker ?? Worker;
  }

  get registry(): Registry {
    return this.#ctx.registry;
  }

  install(): void {
    if (this.#installed || this.#ctx.level === 'off') return;
    this.#installed = true;
    this.#ctx.active = true;
    try {
      installHandles(this.#ctx);
      installListeners(this.#ctx);
      const adapters = new AdapterInstaller(this.#ctx);
      installModuleHook(this.#ctx, adapters, ADAPTERS);
      if (this.#loaderHooks) installEsmHooks(this.#ctx, adapters, ADAPTERS);
      // attach: the app runs already, and how it loads builtins from now on is not known (ESM or not).
      else this.#ctx.builtins.all();
      if (this.#ctx.level === 'full') {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        (require('./promises') as typeof import('./promises')).installPromiseHooks(this.#ctx);
      }
      Object.defineProperty(globalThis, PROBE_KEY, { value: this, configurable: true, enumerable: false, writable: false });
    } catch (err) {
      // Half installed is worse than not at all: take back what was done, then let the caller say why.
      this.detach();
      throw err;
    }
  }

  /** Plain-data state; with `gc`, after a full GC. Never throws. */
  read(options: ReadOptions = {}): ProbeState {
    this.#beforeRead();
    let afterGc = false;
    if (options.gc) {
      try {
        fullGc();
        afterGc = true;
      } catch {
        afterGc = false;
      }
    }
    return this.#ctx.registry.read(afterGc);
  }

  #beforeRead(): void {
    for (const hook of this.#ctx.beforeRead) {
      try {
        hook();
      } catch {
        // a hook is never worth a failed read
      }
    }
  }

  /**
   * The app's functions on the stack now, its synchronous frames and the async functions awaiting them
   * (V8's async frames), as file and function name; called from an `exit` listener, these are what
   * `process.exit()` was called from. Never throws.
   */
  runningFunctions(): { file: string; function: string }[] {
    try {
      const running: { file: string; function: string }[] = [];
      for (const frame of captureDeepFrames(this.runningFunctions)) if (frame.function !== null) running.push({ file: frame.file, function: frame.function });
      return running;
    } catch {
      return [];
    }
  }

  /** How many pending tasks, promises and resources are older than `thresholdMs` (cheap; for polling). */
  overdue(thresholdMs: number): number {
    try {
      this.#beforeRead();
      return this.#ctx.registry.overdue(thresholdMs);
    } catch {
      return 0;
    }
  }

  /** False when a quiet-point or exit report of this thread can hold no finding (Registry.mayFind); true on doubt. */
  mayFind(): boolean {
    try {
      return this.#ctx.registry.mayFind();
    } catch {
      return true;
    }
  }

  /** threadIds of the worker threads this thread started that still run (a finished Worker reads -1). */
  liveThreads(): number[] {
    const ids: number[] = [];
    try {
      for (const worker of this.#ctx.registry.liveObjectsOf('worker')) {
        const id = (worker as { threadId?: unknown }).threadId;
        if (typeof id === 'number' && id > 0 && this.#ctx.threads.isProbed(worker)) ids.push(id);
      }
    } catch {
      // never throw into the app
    }
    return ids;
  }

  /**
   * Writes a heap snapshot of this thread to `file` with the records of `ids` tagged so the collector can
   * find their objects. Synchronous: it pauses the app while V8 writes it. Returns false on failure.
   */
  writeSnapshot(file: string, ids: number[]): boolean {
    try {
      this.#ctx.registry.tag(ids, TAG_PREFIX);
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      (require('node:v8') as typeof import('node:v8')).writeHeapSnapshot(file);
      return true;
    } catch {
      return false;
    } finally {
      this.#ctx.registry.untag();
    }
  }

  /** Tags records for a snapshot taken by someone else (the worker, over CDP); `untag()` after. */
  tag(ids: number[]): void {
    this.#ctx.registry.tag(ids, TAG_PREFIX);
  }

  untag(): void {
    this.#ctx.registry.untag();
  }

  /** Undoes every patch and hook; the process is left as it was. */
  detach(): void {
    if (!this.#installed) return;
    this.#installed = false;
    this.#ctx.active = false;
    this.#ctx.patcher.restore();
    this.#ctx.builtins.stop();
    for (const undo of this.#ctx.undo.splice(0).reverse()) {
      try {
        undo();
      } catch {
        // keep undoing the rest
      }
    }
    if ((globalThis as Record<symbol, unknown>)[PROBE_KEY] === this) delete (globalThis as Record<symbol, unknown>)[PROBE_KEY];
  }
}
