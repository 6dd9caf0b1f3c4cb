/**
 * Listener growth: `EventEmitter` listeners and `EventTarget` listeners (an `AbortSignal` shared by many
 * calls: p-timeout 6.1.2 adds one per call and never removes it, sindresorhus/p-timeout #42).
 *
 * Cheap on the hot path: `addListener`/`on`/`prependListener` and `addEventListener` are wrapped; an
 * emitter's count is `listenerCount(type)` (O(1)), an EventTarget's adds are counted per target and type in
 * a WeakMap. Only when a count crosses a checkpoint (32, 64, 128, …: rising again and again) is a stack
 * captured, so a site costs a handful of stacks however many listeners it adds. The record is kept with a
 * token object that lives as long as the target (WeakMap), holds the target only through a WeakRef, and
 * reads the live count when a report asks: a count that fell back below the first checkpoint ends it.
 * @internal
 */
import events = require('node:events');
import type { HandleKind, LiveState } from './registry';
import type { ProbeContext } from './context';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Listener counts at which a stack is taken: FIRST, then every doubling. */
const FIRST = 32;

function isCheckpoint(n: number): boolean {
  return n >= FIRST && (n & (n - 1)) === 0;
}

/** One (target, event) whose listeners kept rising. */
class Growth {
  constructor(
    readonly target: WeakRef<object>,
    readonly type: string,
    readonly what: string,
    public peak: number,
  ) {}
  /** The adds happen in no user code (a library's own emitter): not reported, and not captured again. */
  untracked = false;
}

function liveCount(target: object, type: string): number {
  const emitter = target as { listenerCount?: (t: string) => number };
  if (typeof emitter.listenerCount === 'function' && target instanceof events.EventEmitter) return emitter.listenerCount(type);
  return events.getEventListeners(target as EventTarget, type).length;
}

const LISTENER: HandleKind = {
  type: 'listener',
  library: 'events',
  observed: false,
  inspect(obj: object): LiveState | undefined {
    const g = obj as Growth;
    const target = g.target.deref();
    if (target === undefined) return { state: 'closed' };
    const n = liveCount(target, g.type);
    if (n < FIRST) return { state: 'closed' };
    return { state: 'pending', detail: `${n} '${g.type}' listeners on one ${g.what} (peak ${Math.max(n, g.peak)}), still rising at this line` };
  },
};

const SIGNAL_KIND: HandleKind = { ...LISTENER, library: 'AbortSignal' };

export function installListeners(ctx: ProbeContext): void {
  const { registry, sites, patcher } = ctx;
  /** target -> event type -> its record's token (kept as long as the target lives). */
  const tokens = new WeakMap<object, Map<string, Growth>>();
  /** EventTarget adds per target and type (monotonic: removals are read lazily). */
  const adds = new WeakMap<object, Map<string, number>>();

  function grew(target: object, type: unknown, count: number, skipAbove: Function): void {
    try {
      const key = String(type);
      let byType = tokens.get(target);
      if (!byType) tokens.set(target, (byType = new Map()));
      const known = byType.get(key);
      if (known && (known.untracked || registry.idOf(known) !== 0)) {
        known.peak = Math.max(known.peak, count);
        return;
      }
      const isSignal = typeof AbortSignal === 'function' && target instanceof AbortSignal;
      const what = isSignal ? 'AbortSignal' : (target.constructor?.name ?? 'emitter');
      const token = new Growth(new WeakRef(target), key, what, count);
      byType.set(key, token);
      const site = sites.capture(skipAbove);
      if (site === 0 || !sites.records[site].user) {
        token.untracked = true;
        return;
      }
      registry.track(token, isSignal ? SIGNAL_KIND : LISTENER, site, 0, 'pending', `${count} '${key}' listeners on one ${what}`);
    } catch {
      // never throw into the app
    }
  }

  const proto = events.EventEmitter.prototype as unknown as Record<string, AnyFunction>;
  // `once` and `prependOnceListener` add through `on` and `prependListener`: wrapping them too would count twice.
  for (const method of ['addListener', 'on', 'prependListener']) {
    patcher.wrap(proto, method, (original) =>
      function addListener(this: unknown) {
        // eslint-disable-next-line prefer-rest-params
        const result = Reflect.apply(original, this, arguments);
        try {
          const emitter = this as { listenerCount?: (t: unknown) => number };
          // eslint-disable-next-line prefer-rest-params
          const type = arguments[0];
          if (typeof emitter?.listenerCount === 'function') {
            const n = emitter.listenerCount(type);
            if (isCheckpoint(n)) grew(this as object, type, n, addListener);
          }
        } catch {
          // never throw into the app
        }
        return result;
      },
    );
  }

  if (typeof EventTarget === 'function') {
    patcher.wrap(EventTarget.prototype, 'addEventListener', (original) =>
      function addEventListener(this: unknown) {
        // eslint-disable-next-line prefer-rest-params
        const result = Reflect.apply(original, this, arguments);
        try {
          if (this !== null && typeof this === 'object') {
            // eslint-disable-next-line prefer-rest-params
            const type = String(arguments[0]);
            let byType = adds.get(this);
            if (!byType) adds.set(this, (byType = new Map()));
            const n = (byType.get(type) ?? 0) + 1;
            byType.set(type, n);
            // Adds are a cheap upper bound; the real count (removals, `once`) is read only at checkpoints.
            if (isCheckpoint(n)) {
              const live = events.getEventListeners(this as EventTarget, type).length;
              if (live >= FIRST) grew(this, type, live, addEventListener);
            }
          }
        } catch {
          // never throw into the app
        }
        return result;
      },
    );
  }
}
