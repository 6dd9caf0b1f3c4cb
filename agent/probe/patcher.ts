/**
 * Reversible method patching. Every replacement is recorded so that `restore()` puts back exactly what was
 * there (detach leaves nothing behind). Wrappers keep the original's `name` and `length`, call it with the
 * same `this` and arguments, and return its result untouched.
 * @internal
 */

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Marks wrappers so that a second install never wraps twice. */
export const WRAPPED = Symbol.for('leak-agent.wrapped');

interface Patch {
  target: object;
  key: PropertyKey;
  descriptor: PropertyDescriptor | undefined;
  /** What the patch put there: restored only while it is still what is there. */
  installed: unknown;
}

export class Patcher {
  readonly #patches: Patch[] = [];

  /**
   * Replaces `target[key]` (a function) with `make(original)`. Returns false (and changes nothing) when the
   * property is not a function, is already wrapped, or cannot be written.
   */
  wrap(target: object, key: PropertyKey, make: (original: AnyFunction) => AnyFunction): boolean {
    const descriptor = findDescriptor(target, key);
    const original = descriptor?.value as AnyFunction | undefined;
    if (typeof original !== 'function' || (original as unknown as Record<symbol, unknown>)[WRAPPED]) return false;
    const own = Object.getOwnPropertyDescriptor(target, key);
    if (own && !own.writable && !own.configurable) return false;
    const wrapper = make(original);
    copyShape(wrapper, original);
    try {
      Object.defineProperty(target, key, {
        value: wrapper,
        writable: own?.writable ?? true,
        enumerable: own?.enumerable ?? false,
        configurable: true,
      });
    } catch {
      return false;
    }
    this.#patches.push({ target, key, descriptor: own, installed: wrapper });
    return true;
  }

  /** Replaces a value property (for example a module's exported class) and records it for restore. */
  replace(target: object, key: PropertyKey, value: unknown): boolean {
    const own = Object.getOwnPropertyDescriptor(target, key);
    if (own && !own.configurable && !own.writable) return false;
    try {
      if (own && !own.configurable) (target as Record<PropertyKey, unknown>)[key] = value;
      else Object.defineProperty(target, key, { value, writable: own?.writable ?? true, enumerable: own?.enumerable ?? true, configurable: true });
    } catch {
      return false;
    }
    this.#patches.push({ target, key, descriptor: own, installed: value });
    return true;
  }

  /**
   * Puts back everything, newest first. A property someone else replaced after us (fake timers, another
   * agent) is left as it is: their value may wrap ours, which only forwards.
   */
  restore(): void {
    for (let i = this.#patches.length - 1; i >= 0; i--) {
      const { target, key, descriptor, installed } = this.#patches[i];
      try {
        if ((target as Record<PropertyKey, unknown>)[key] !== installed) continue;
        if (descriptor === undefined) delete (target as Record<PropertyKey, unknown>)[key];
        else if (descriptor.configurable === false) (target as Record<PropertyKey, unknown>)[key] = descriptor.value;
        else Object.defineProperty(target, key, descriptor);
      } catch {
        // Nothing sensible to do: leave the wrapper, which only forwards.
      }
    }
    this.#patches.length = 0;
  }
}

function findDescriptor(target: object, key: PropertyKey): PropertyDescriptor | undefined {
  for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return d;
  }
  return undefined;
}

/** Own properties a function always has, which the wrapper keeps its own of. */
const FUNCTION_OWN = new Set<PropertyKey>(['name', 'length', 'prototype', 'arguments', 'caller']);

/**
 * The wrapper looks like the original: `name`, `length`, and every other own property, symbols included
 * (`setTimeout[util.promisify.custom]`: without it `util.promisify(setTimeout)` breaks).
 */
export function copyShape(wrapper: AnyFunction, original: AnyFunction): void {
  try {
    Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
    Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
    for (const key of Reflect.ownKeys(original)) {
      if (FUNCTION_OWN.has(key) || key === WRAPPED) continue;
      const d = Object.getOwnPropertyDescriptor(original, key);
      if (d) Object.defineProperty(wrapper, key, d);
    }
    Object.defineProperty(wrapper, WRAPPED, { value: original, configurable: true });
  } catch {
    // Cosmetic only.
  }
}

/**
 * `fn` behind a Proxy, which V8 never inlines: for the rare paths a wrapper calls (a sampled call's
 * tracking, a look at pending acquisitions). The wrappers are inlined into the app's own hot functions, and
 * whatever the wrappers inline with them uses up those functions' inlining budget: the app's and its
 * libraries' own calls are then no longer inlined, a cost paid on every call, not only the rare ones.
 * Measured on Sampler's `#next` (p-limit 0.86 → 0.97–1.17 of no agent, same run) and on the pool wrappers
 * (http-pool 0.934 → 0.949, same run, 20 rounds).
 */
export function outOfLine<F extends (...args: never[]) => unknown>(fn: F): F {
  return new Proxy(fn, {});
}
