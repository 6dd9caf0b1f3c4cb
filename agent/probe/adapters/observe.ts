/**
 * Learning what a library's promise resolves with, without touching the promise.
 *
 * Attaching a reaction to a native promise the app owns would mark its rejection handled (and an `await`
 * inside the agent would change timing), and V8 offers no way to read a promise's value from outside. But
 * a library that returns a promise built it with `new Promise(executor)` during the call, and the executor's
 * `resolve`/`reject` are what the library calls later. So, for the duration of one synchronous call made
 * through an adapter (a sampled `request()` of undici, the one adapter that asks for it with
 * `observeAcquisition`), the global Promise constructor is swapped for a Proxy whose construct trap hands
 * the executor wrapped `resolve`/`reject` functions:
 *
 *   app ── pool.acquire() ──▶ [window: Promise = observing proxy] ──▶ library: new Promise(executor)
 *                                                                         │ executor(resolve', reject')
 *   library later: resolve'(resource) ──▶ observer.resolved(resource) ──▶ original resolve(resource)
 *
 * The promise itself is a genuine native promise of the original constructor (same prototype, same
 * timing: the wrapped functions call the originals synchronously). Statics read through the proxy during
 * the window are the originals bound to the original constructor, so `Promise.resolve(p)` still returns
 * `p` itself and adds no tick. Windows nest; the swap is undone in `finally`.
 *
 * Whatever stores `global.Promise` during the window keeps the proxy (it stays transparent, but each of its
 * promises then goes through the trap), which is why the other pools' promise-style acquisitions are read
 * lazily instead (adapter.ts #acquireLazily). A callback-style call (last argument a function, as pg-pool's
 * own `query` calls `connect(cb)`) opens no window: wrapping that callback is enough (`wrapCallback`).
 * @internal
 */
import { types } from 'node:util';

/** Told what happened to one observed call's outcome. Must not throw (it is guarded anyway). */
export interface CallObserver {
  resolved(value: unknown): void;
  rejected(reason: unknown): void;
}

type Settle = (value?: unknown) => void;
const RESOLVED = 0;
const REJECTED = 1;

/** One promise constructed during a window. Events before the call's observer is known are kept briefly. */
class Slot {
  promise: object | null = null;
  observer: CallObserver | null = null;
  fired = false;
  /** Only while the window is open: an event that happened before `bind`. */
  early: [number, unknown] | null = null;
  disabled = false;

  fire(which: number, value: unknown): void {
    if (this.fired || this.disabled) return;
    this.fired = true;
    if (this.observer === null) {
      this.early = [which, value];
      return;
    }
    deliver(this.observer, which, value);
  }
}

function deliver(observer: CallObserver, which: number, value: unknown): void {
  try {
    if (which === RESOLVED) observer.resolved(value);
    else observer.rejected(value);
  } catch {
    // never throw into the library's resolve path
  }
}

function wrapSettle(original: Settle, slot: Slot, which: number): Settle {
  return function settle(this: unknown) {
    // eslint-disable-next-line prefer-rest-params
    slot.fire(which, arguments[0]);
    // eslint-disable-next-line prefer-rest-params
    return Reflect.apply(original, this, arguments);
  };
}

/** The promises constructed during one call. */
export class Window {
  readonly slots: Slot[] = [];
}

const OriginalPromise = Promise;
let current: Window | null = null;
const boundStatics = new Map<PropertyKey, unknown>();

const observingPromise: PromiseConstructor = new Proxy(OriginalPromise, {
  construct(target, args, newTarget) {
    const window = current;
    const executor = args[0] as unknown;
    const ctor = newTarget === observingPromise ? target : newTarget;
    if (window === null || typeof executor !== 'function') return Reflect.construct(target, args, ctor) as object;
    const slot = new Slot();
    const watched = function executorWatched(this: unknown, resolve: Settle, reject: Settle): unknown {
      return Reflect.apply(executor as Settle, this, [wrapSettle(resolve, slot, RESOLVED), wrapSettle(reject, slot, REJECTED)]);
    };
    const promise = Reflect.construct(target, [watched, ...args.slice(1)], ctor) as object;
    slot.promise = promise;
    window.slots.push(slot);
    return promise;
  },
  get(target, key) {
    const value = Reflect.get(target, key, target) as unknown;
    if (typeof value !== 'function' || key === 'constructor') return value;
    let bound = boundStatics.get(key);
    if (bound === undefined) {
      const fn = value as (...a: unknown[]) => unknown;
      bound = function (this: unknown) {
        // eslint-disable-next-line prefer-rest-params
        return Reflect.apply(fn, target, arguments);
      };
      Object.defineProperty(bound, 'name', { value: fn.name, configurable: true });
      boundStatics.set(key, bound);
    }
    return bound;
  },
});

/**
 * Runs `call` with the global Promise constructor swapped for the observing one. Returns the call's result
 * and its window. Exceptions of `call` propagate unchanged, after the swap is undone.
 */
export function observeCall<T>(call: () => T): { result: T; window: Window } {
  const window = new Window();
  const outer = current;
  const g = globalThis as { Promise: PromiseConstructor };
  const globalWas = g.Promise;
  let swapGlobal = false;
  try {
    if (globalWas === OriginalPromise) {
      g.Promise = observingPromise;
      swapGlobal = true;
    }
  } catch {
    // a frozen global: nothing observed, nothing changed
  }
  current = window;
  try {
    return { result: call(), window };
  } finally {
    current = outer;
    try {
      if (swapGlobal && g.Promise === observingPromise) g.Promise = globalWas;
    } catch {
      // cannot happen for a property we just wrote; never throw into the app
    }
  }
}

/**
 * Attaches `observer` to the promise of the window that stands for `result`: the returned promise itself
 * when the library built it, else the first one built (an `async` method's inner promise, tarn's deferred).
 * Returns false when the window saw no promise. Other slots are dropped.
 */
export function bindWindow(window: Window, result: unknown, observer: CallObserver): boolean {
  const slots = window.slots;
  if (slots.length === 0) return false;
  let chosen = slots.find((s) => s.promise === result) ?? slots[0];
  for (const slot of slots) {
    slot.promise = null;
    if (slot !== chosen) {
      slot.disabled = true;
      slot.early = null;
    }
  }
  slots.length = 0;
  chosen.observer = observer;
  const early = chosen.early;
  chosen.early = null;
  if (early !== null) deliver(observer, early[0], early[1]);
  chosen = null as unknown as Slot;
  return true;
}

/** Wraps a node-style callback `(err, value)` so that `observer` hears its outcome first. */
export function wrapCallback(cb: (...args: unknown[]) => unknown, observer: CallObserver): (...args: unknown[]) => unknown {
  let fired = false;
  return function callback(this: unknown) {
    if (!fired) {
      fired = true;
      // eslint-disable-next-line prefer-rest-params
      const err = arguments[0];
      // eslint-disable-next-line prefer-rest-params
      deliver(observer, err ? REJECTED : RESOLVED, err ? err : arguments[1]);
    }
    // eslint-disable-next-line prefer-rest-params
    return Reflect.apply(cb, this, arguments);
  };
}

/** True for a native promise (never reads `then` of an app object: that could run a getter). */
export function isNativePromise(value: unknown): boolean {
  return types.isPromise(value);
}
