/**
 * Patches of Node builtins that many programs never load: `net` and `child_process` (with `dgram`, which it
 * loads) cost about 2.5 ms of CPU to load at start-up, in every process and every worker thread the preload
 * runs in. A patch waits until something in the thread loads one of its trigger builtins, and is made before
 * that load returns to its caller, so no socket, server or child can be made unpatched:
 *
 * - a `require()` of a trigger (`http` loads `net` inside Node, so it is a trigger of the `net` patch) is
 *   seen by the CommonJS load hook (modules.ts), which calls `loaded()`;
 * - what that hook cannot see makes every patch at once (`all()`): an ES module entry, a dynamic `import()`
 *   about to be compiled, a `require()` that returns an ES module namespace (Node >= 20.19), since their
 *   `import` of a builtin goes through no hook;
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

export class LazyBuiltins {
  #waiting: Waiter[] = [];
  #eager = false;

  /** True while some patch still waits for its builtin (the load hook checks this first). */
  get waiting(): boolean {
    return this.#waiting.length > 0;
  }

  /** Runs `install` now when `name` is loaded already (or everything is eager), else on a trigger's load. */
  when(name: string, triggers: readonly string[], install: Install): void {
    if (this.#eager || isLoaded(name)) run(install);
    else this.#waiting.push({ name, triggers: new Set(triggers), install });
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
    if (this.#waiting.length > 0 && isNamespace(result)) this.all();
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
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) run(w.install);
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
