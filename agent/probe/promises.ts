/**
 * The `full` level: promises are seen through a `v8.promiseHooks` init hook. This is the diagnostic level:
 * once any promise hook has been enabled, V8 keeps `await` on a slower path for the life of the process
 * (DESIGN.md), so `sample` never calls this.
 *
 * What it costs, and so what it does (measured on the async-chains bench, ≈ 50 ns of work per promise):
 * an empty init hook alone leaves 0.64 of the throughput, an empty `settled` hook as well 0.58, and a
 * WeakMap lookup in each 0.51, while a stack costs 2–10 µs, forty times a promise's own work. So the init
 * hook does almost nothing for most promises:
 *
 * - **Root promises** (no parent: `new Promise`, an async function's promise) get a stack and a record,
 *   every one of them up to about PROMISE_STACKS_PER_SECOND a second, sampled at random above that. A
 *   program that makes fewer (a test suite, a diagnosis run) has every promise tracked; pure promise churn
 *   stays above half its speed. Over the rate, a notice says how many were left untracked.
 * - **Settlement** is seen by a `settled` hook (one more call and a lookup per promise, ≈ 0.1 of the
 *   throughput on churn): a tracked promise collected without it was abandoned while pending (a
 *   `new Promise(() => {})` nothing awaits, a pool's `drain()` collected with its pool), which a lazy read
 *   cannot tell from one that settled and was then collected. So it is on while every promise gets a stack,
 *   and off while they are sampled (turned back on at most once a second): then a tracked promise's state
 *   is read lazily when a report asks, and one collected meanwhile is not counted as abandoned.
 * - **Derived promises** (a `then`/`await` child, or the throwaway `Promise.race` attaches to each input)
 *   are reactions on their parent: each holds what its callbacks capture until the parent settles, so many on
 *   one parent that never settles is a leak (nodejs/node #17469). Their parent is looked up on every one of
 *   them up to about REACTION_LOOKUPS_PER_SECOND a second, on a random sample above that, each sampled one
 *   counting for the ones skipped since (an unbiased estimate: exact at low rates).
 * @internal
 */
import { promiseHooks } from 'node:v8';
import type { HandleKind, LiveState } from './registry';
import { Sampler, type ProbeContext } from './context';
import { nativePromiseState } from './adapters/adapter';

/** Root promises given a stack each second, at most, past the first ALWAYS (≈ 2% of a core at ≈ 10 µs each). */
const PROMISE_STACKS_PER_SECOND = 2000;
/** Parent lookups each second, at most, past the first ALWAYS (≈ 1% of a core at ≈ 40 ns each with the sampling). */
const REACTION_LOOKUPS_PER_SECOND = 250_000;
/** The first promises and reactions of the process are all looked at. */
const ALWAYS = 1024;
/**
 * Where reactions to one pending promise come from is captured when their count passes a power of two
 * from this one on (32, 64, 128…), so a steady stream costs a stack only log2(n) times.
 */
const REACTION_CHECKPOINT = 32;

const PROMISE: HandleKind = {
  type: 'promise',
  library: 'promise',
  observed: true,
  observedByHook: true,
  // read when the settled hook may have missed it (it was off)
  inspect(obj: object): LiveState | undefined {
    const live = nativePromiseState(obj);
    return live?.state === 'pending' ? undefined : live;
  },
};
/**
 * A root promise made inside a library, called from user code (its site has a library frame): abandoned
 * only if something awaited it. Nothing waits for a library's bookkeeping promise (tarn settles each free
 * resource's deferred only when it is acquired again, and `destroy()` drops them pending), while an awaited
 * one that never settles (generic-pool's `drain()`) still is.
 */
const LIBRARY_PROMISE: HandleKind = { ...PROMISE, abandonedOnlyIfAwaited: true };
/** The settled hook is turned on again at most this often. */
const SETTLED_HOOK_TOGGLE_MS = 1000;

export function installPromiseHooks(ctx: ProbeContext): void {
  const { registry, sites } = ctx;
  // Both are rate-capped samplers even at `full` (see above); below the caps they take every call.
  const roots = new Sampler('sample', ALWAYS, 1, PROMISE_STACKS_PER_SECOND);
  const reactions = new Sampler('sample', ALWAYS, 1, REACTION_LOOKUPS_PER_SECOND);
  let inHook = false;
  let rootsSeen = 0;
  let rootsTracked = 0;

  function onInit(promise: Promise<unknown>, parent: Promise<unknown> | undefined): void {
    if (inHook) return;
    if (parent !== undefined) {
      if (reactions.take()) onReaction(parent, reactions.weight);
      return;
    }
    rootsSeen++;
    if (roots.take()) onRoot(promise);
  }

  function onReaction(parent: Promise<unknown>, weight: number): void {
    const id = registry.idOf(parent);
    if (id === 0) return;
    const before = registry.reactionsOf(id);
    const n = registry.react(id, weight);
    // a power of two passed: where the reactions come from now
    if (n >= REACTION_CHECKPOINT && 31 - Math.clz32(n) !== 31 - Math.clz32(Math.max(before, REACTION_CHECKPOINT - 1))) {
      inHook = true;
      try {
        registry.reactedAt(id, sites.capture(onInit));
      } catch {
        // never throw into the app
      } finally {
        inHook = false;
      }
    }
  }

  function onRoot(promise: Promise<unknown>): void {
    inHook = true;
    try {
      rootsTracked++;
      if (roots.saturated !== (stopSettled === null)) toggleSettled();
      const site = sites.capture(onInit);
      const record = sites.records[site];
      // An ES module's own evaluation promise (top-level await) is created "at" 1:1 of the module with no
      // function: it is the module system's, not the user's.
      const moduleEvaluation = record.frame.line === 1 && record.frame.column === 1 && record.frame.function === null && !record.frame.file.startsWith('[eval');
      if (site !== 0 && record.user && !moduleEvaluation) registry.track(promise, record.library !== null ? LIBRARY_PROMISE : PROMISE, site);
    } catch {
      // never throw into the app
    } finally {
      inHook = false;
    }
  }

  function onSettled(promise: Promise<unknown>): void {
    if (inHook) return;
    const id = registry.idOf(promise);
    if (id === 0) return;
    const type = registry.typeOf(id);
    // A pool acquisition still on its promise: fulfilled means handed out, which the adapter learns itself.
    if (type === 'resource') return;
    if (type !== 'task') {
      registry.settle(id, 'fulfilled');
      return;
    }
    // A task's outcome (fulfilled, or rejected with which error) is readable only once the promise has
    // left the pending state, which is after this hook returns.
    queueMicrotask(() => {
      inHook = true;
      try {
        const live = nativePromiseState(promise);
        if (live && live.state !== 'pending') registry.settle(id, live.state!, live.error);
      } catch {
        // never throw into the app
      } finally {
        inHook = false;
      }
    });
  }

  let stopSettled: (() => void) | null = null;
  let toggledAt = 0;
  function toggleSettled(): void {
    if (stopSettled !== null) {
      stopSettled();
      stopSettled = null;
      registry.settledHook(false);
      toggledAt = Date.now();
    } else if (Date.now() - toggledAt >= SETTLED_HOOK_TOGGLE_MS) {
      stopSettled = promiseHooks.onSettled(onSettled) as () => void;
      registry.settledHook(true);
    }
  }

  const stopInit = promiseHooks.onInit(onInit) as () => void;
  stopSettled = promiseHooks.onSettled(onSettled) as () => void;
  ctx.undo.push(() => {
    stopInit();
    stopSettled?.();
    stopSettled = null;
  });
  registry.addNoticeSource(() => {
    const untracked = rootsSeen - rootsTracked;
    if (untracked === 0) return undefined;
    return `leak-agent: full level: ${rootsTracked} of ${rootsSeen} promises were given a stack (above about ${PROMISE_STACKS_PER_SECOND} a second they are sampled); the others are found in a heap snapshot only (leak-agent analyze)`;
  });
}
