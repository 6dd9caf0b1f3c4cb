/**
 * Listener growth: `EventEmitter` listeners and `EventTarget` listeners (an `AbortSignal` shared by many
 * calls: p-timeout 6.1.2 adds one per call and never removes it, sindresorhus/p-timeout #42).
 *
 * Cheap on the hot path: `addListener`/`on`/`prependListener` and `addEventListener` are wrapped, and only
 * about one add in CHECK_EVERY (a random gap, so no pattern of adds hides a target) reads the live count of
 * its target and type. Every add is cheap that way: Node's own http, streams and child processes add
 * listeners on every request, and an AbortSignal made per call would otherwise need an entry of its own
 * (counting adds per EventTarget in a WeakMap cost 15% of an emitter-heavy workload, mostly in the GC).
 * A target whose listeners keep rising is looked at again and again: the first look past FIRST takes the
 * stack of the add that got it there (one stack per target and event), later looks only raise its peak.
 * The record is kept with a token object that lives as long as the target (WeakMap), holds the target only
 * through a WeakRef, and reads the live count when a report asks: a count that fell back below FIRST ends it.
 * @internal
 */
import events = require('node:events');
import type { HandleKind, LiveState } from './registry';
import type { ProbeContext } from './context';
import { outOfLine } from './patcher';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Listener counts at which a stack is taken: past FIRST, then past every doubling. */
const FIRST = 32;
/** About one add in this many looks at its target's count. */
const CHECK_EVERY = 8;


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

  // One countdown for all adds; `check` looks at the target of the add that reaches 0.
  let countdown = CHECK_EVERY;
  function nextGap(): number {
    return 1 + Math.floor(Math.random() * (2 * CHECK_EVERY - 1));
  }
  function checkEmitter(emitter: object, type: unknown, skipAbove: Function): void {
    countdown = nextGap();
    try {
      const count = (emitter as { listenerCount?: (t: unknown) => number }).listenerCount;
      if (typeof count !== 'function') return;
      const n = Reflect.apply(count, emitter, [type]) as number;
      if (n >= FIRST) grew(emitter, type, n, skipAbove);
    } catch {
      // never throw into the app
    }
  }
  function checkTarget(target: unknown, type: unknown, skipAbove: Function): void {
    countdown = nextGap();
    try {
      if (target === null || typeof target !== 'object') return;
      const n = events.getEventListeners(target as EventTarget, String(type)).length;
      if (n >= FIRST) grew(target, type, n, skipAbove);
    } catch {
      // never throw into the app
    }
  }

  // Not inlined into the wrappers (see `outOfLine`): Node's http calls `on` several times per request.
  const checkEmitterOutOfLine = outOfLine(checkEmitter);
  const checkTargetOutOfLine = outOfLine(checkTarget);
  const proto = events.EventEmitter.prototype as unknown as Record<string, AnyFunction>;
  // `once` and `prependOnceListener` add through `on` and `prependListener`: wrapping them too would count twice.
  // The wrappers stay this small (one decrement, and the add forwarded with `apply(this, arguments)`, which
  // V8 compiles to a plain call): Node's own http, net and streams call `on` several times per request,
  // many of them inside constructors (net's Socket) whose inlining budget the wrapper shares. Same run,
  // bench workload net-churn: 0.937 of no agent with the add forwarded by argument count and the count read
  // after it, 0.982 like this, 0.992 without these wrappers at all. The count is read before the add: the
  // one being added is not in it, which changes nothing at FIRST.
  for (const method of ['addListener', 'on', 'prependListener']) {
    patcher.wrap(proto, method, (original) =>
      function addListener(this: unknown, type: unknown) {
        if (--countdown === 0) checkEmitterOutOfLine(this as object, type, addListener);
        // eslint-disable-next-line prefer-rest-params
        return original.apply(this, arguments as unknown as unknown[]);
      },
    );
  }

  if (typeof EventTarget === 'function') {
    patcher.wrap(EventTarget.prototype, 'addEventListener', (original) =>
      function addEventListener(this: unknown, type: unknown) {
        if (--countdown === 0) checkTargetOutOfLine(this, type, addEventListener);
        // eslint-disable-next-line prefer-rest-params
        return original.apply(this, arguments as unknown as unknown[]);
      },
    );
  }
}
