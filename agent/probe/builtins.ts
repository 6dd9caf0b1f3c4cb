/**
 * Patches of Node builtins that many programs never load: `net` and `child_process` (with `dgram`, which it
 * loads) cost about 2.5 ms of CPU to load at start-up, in every process and every worker thread the preload
 * runs in. A patch waits until something in the thread loads one of its trigger builtins, and is made before
 * that load returns to its caller, so no socket, server or child can be made unpatched:
 *
 * - a `require()` of a trigger (`http` loads `net` inside Node, so it is a trigger of the `net` patch) is
 *   seen by the CommonJS load hook (modules.ts), which calls `loaded()`;
 * - what that hook cannot see (an ES module entry, a dynamic `import()` about to be compiled, a `require()`
 *   that returns an ES module namespace, Node >= 20.19: their `import` of a builtin goes through no hook)
 *   starts `watchLoads()`: Node records each builtin it loads in `process.moduleLoadList`, with a push made
 *   after the module's body ran and before its exports are returned (to an `import` too, whose view of
 *   them is made from them then); a Proxy put as the list's prototype sees that push, and the patch is
 *   made there. Loading `net`, `child_process` and `worker_threads` at once instead cost an ES module entry
 *   2.3 ms of CPU. Where the list cannot be watched, every patch is made at once (`all()`);
 * - a builtin already loaded when the probe installs (other preloads, `attach`) is patched at once.
 *
 * Late: a builtin loaded only from inside Node without any trigger (the built-in `fetch` opens its sockets
 * through an internal copy of undici) is found loaded at the next read or poll (`catchUp`, from the probe's
 * beforeRead hooks), and patched then: sockets opened before that are not tracked.
 * @internal
 */

import { types } from 'node:util';

type Install = () => void;

interface Waiter {
  /** The builtin the patch is for. */
  name: string;
  triggers: ReadonlySet<string>;
  install: Install;
}

/** True when Node has loaded builtin `name` in this thread (or when that cannot be told). */
export function isLoaded(name: string): boolean {
  const list = (process as { moduleLoadList?: unknown }).moduleLoadList;
  return !Array.isArray(list) || list.includes(`NativeModule ${name}`);
}

/**
 * `node:worker_threads` where this thread has loaded it, else null, which means a main thread: Node loads it
 * in every worker thread before any preload runs, while on a main thread loading it costs 1.5 ms of
 * start-up (it brings the streams) that an app starting no thread need not pay.
 */
export function loadedWorkerThreads(): typeof import('node:worker_threads') | null {
  return isLoaded('worker_threads') ? workerThreads() : null;
}

/**
 * `node:worker_threads`, required where it is used (never at the probe's load, see `loadedWorkerThreads`).
 * Requiring it makes the Worker patch if it waited for it (the load hook sees this `require`).
 */
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const workerThreads = (): typeof import('node:worker_threads') => require('node:worker_threads') as typeof import('node:worker_threads');

/** `process.moduleLoadList`, where Node keeps it as an array. */
function moduleLoadList(): unknown[] | null {
  const list = (process as { moduleLoadList?: unknown }).moduleLoadList;
  return Array.isArray(list) ? list : null;
}

const NATIVE_MODULE = 'NativeModule ';

export class LazyBuiltins {
  #waiting: Waiter[] = [];
  #eager = false;
  /** True from `watchLoads()` on, until `stop()`: each waiting patch is made when Node loads its builtin. */
  #watching = false;
  /** The Proxy put between `process.moduleLoadList` and Array.prototype while watching (#arm). */
  #proto: object | null = null;

  /** True while some patch still waits for its builtin (the load hook checks this first). */
  get waiting(): boolean {
    return this.#waiting.length > 0;
  }

  /** Runs `install` now when `name` is loaded already (or everything is eager), else on a trigger's load. */
  when(name: string, triggers: readonly string[], install: Install): void {
    if (this.#eager || isLoaded(name)) run(install);
    else {
      this.#waiting.push({ name, triggers: new Set(triggers), install });
      if (this.#watching) this.#arm();
    }
  }

  /** `require(request)` has just returned `result`: runs the patches it triggers. */
  loaded(request: unknown, result: unknown): void {
    if (this.#waiting.length === 0 || typeof request !== 'string') return;
    const id = request.startsWith('node:') ? request.slice(5) : request;
    // Runs on every require until the patches are made: no array made unless one is triggered.
    if (this.#waiting.some((w) => w.triggers.has(id))) {
      const ready = this.#waiting.filter((w) => w.triggers.has(id));
      this.#waiting = this.#waiting.filter((w) => !ready.includes(w));
      for (const w of ready) run(w.install);
    }
    if (this.#waiting.length > 0 && isNamespace(result)) this.watchLoads();
  }

  /** Patches whose builtin got loaded where no hook saw it (inside Node): made now. */
  catchUp(): void {
    if (this.#waiting.length === 0) return;
    const names = new Set(this.#waiting.map((w) => w.name).filter(isLoaded));
    if (names.size === 0) return;
    const ready = this.#waiting.filter((w) => names.has(w.name));
    this.#waiting = this.#waiting.filter((w) => !names.has(w.name));
    for (const w of ready) run(w.install);
  }

  /** Every waiting patch now, and any later one at once: builtins may be loaded where no hook sees it. */
  all(): void {
    this.#eager = true;
    this.stop();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) run(w.install);
  }

  /**
   * From now on builtins may be loaded where no hook sees it (an `import`): each waiting patch is made as
   * Node loads its builtin, seen in `process.moduleLoadList` (those it loaded already: now). A patch made
   * there should load no builtin not loaded yet: the push being made would then cut that entry off the list
   * (it is pushed again after; the patches of handles.ts require only the builtin just loaded, and reach
   * `syncBuiltinESMExports` through ./cjs). Falls back to `all()` where the list cannot be watched.
   */
  watchLoads(): void {
    if (this.#eager || this.#watching) return;
    if (moduleLoadList() === null) return this.all();
    this.#watching = true;
    // What an ES module loaded already (a require() that returned one) is patched now.
    this.catchUp();
    if (this.#waiting.length > 0 && !this.#arm()) this.all();
  }

  /** Takes the watch off the list; waiting patches are made only through `loaded()` and `catchUp()` again. */
  stop(): void {
    this.#watching = false;
    this.#unwatch();
  }

  /** The list as Node made it, Array.prototype its prototype again. Watching resumes at a later `when()`. */
  #unwatch(): void {
    const list = moduleLoadList();
    const proto = this.#proto;
    this.#proto = null;
    if (list !== null && proto !== null && Object.getPrototypeOf(list) === proto) Object.setPrototypeOf(list, Array.prototype);
  }

  /**
   * Puts a Proxy of Array.prototype between the list and Array.prototype. Node pushes with
   * `Array.prototype.push`, which sets the list's next index: the list has no such element, so the set goes
   * to its prototype, the Proxy, whose trap sets it on the list as it would have been and sees the entry
   * (≈ 0.7 µs a push; an accessor moved from index to index cost 1.6-2.5 µs). False when it cannot be put
   * there (the list's prototype changed by someone else).
   */
  #arm(): boolean {
    if (this.#proto !== null) return true;
    const list = moduleLoadList();
    if (list === null || Object.getPrototypeOf(list) !== Array.prototype) return false;
    try {
      const proto = new Proxy(Array.prototype, {
        set: (target, key, value, receiver) => {
          const done = Reflect.set(target, key, value, receiver);
          if (receiver === list && typeof value === 'string' && value.startsWith(NATIVE_MODULE)) this.#pushed(list, key, value);
          return done;
        },
      });
      Object.setPrototypeOf(list, proto);
      this.#proto = proto;
      return true;
    } catch {
      return false;
    }
  }

  /** Node has pushed `entry` at `key`: a patch waiting for that builtin is made now. */
  #pushed(list: unknown[], key: string | symbol, entry: string): void {
    try {
      const name = entry.slice(NATIVE_MODULE.length);
      if (!this.#waiting.some((w) => w.name === name)) return;
      const ready = this.#waiting.filter((w) => w.name === name);
      this.#waiting = this.#waiting.filter((w) => w.name !== name);
      for (const w of ready) run(w.install);
      const index = Number(key);
      if (list.length > index + 1) {
        // A builtin loaded from inside a patch (none should): the push now returning sets the length back
        // to index + 1, which drops those entries. They are pushed again once this load is over.
        const dropped = list.slice(index + 1);
        queueMicrotask(() => {
          for (const e of dropped) list.push(e);
        });
      }
      if (this.#waiting.length === 0) this.#unwatch();
    } catch {
      // never throw into Node's module loader
    }
  }
}

/** An ES module namespace, as `require()` of an ES module returns it (a check that runs no Proxy trap). */
function isNamespace(value: unknown): boolean {
  return value !== null && typeof value === 'object' && types.isModuleNamespaceObject(value);
}

function run(install: Install): void {
  try {
    install();
  } catch {
    // a patch that cannot be made is not made; never throw into the app's require
  }
}
