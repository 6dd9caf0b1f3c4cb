/**
 * The `full` level: every promise created by user code gets a site, and its settlement is seen through
 * `v8.promiseHooks`. This is the diagnostic level: once any promise hook has been enabled, V8 keeps
 * `await` on a slower path for the life of the process (DESIGN.md), so `sample` never calls this.
 *
 * Derived promises (`then`/`await` children, which have a parent) are not tracked: they are pending only
 * because what they wait on is, and that is the one to report.
 * @internal
 */
import { promiseHooks } from 'node:v8';
import type { HandleKind } from './registry';
import type { ProbeContext } from './context';
import { nativePromiseState } from './adapters/adapter';

const PROMISE: HandleKind = { type: 'promise', library: 'promise', observed: true };
/**
 * Reactions attached to one pending promise are counted; where they come from is captured at doubling
 * checkpoints from this count (32, 64, 128…), so a steady stream costs a stack only log2(n) times.
 */
const REACTION_CHECKPOINT = 32;

export function installPromiseHooks(ctx: ProbeContext): void {
  const { registry, sites } = ctx;
  let inHook = false;
  function onInit(promise: Promise<unknown>, parent: Promise<unknown> | undefined): void {
    if (inHook) return;
    if (parent !== undefined) {
      // A child promise is a reaction on its parent (`then`, `await`, the throwaway that `Promise.race`
      // attaches to each input while hooks are on): each holds what its callbacks capture until the parent
      // settles, so many on one parent that never settles is a leak (nodejs/node #17469).
      const id = registry.idOf(parent);
      if (id === 0) return;
      const n = registry.react(id);
      if (n >= REACTION_CHECKPOINT && (n & (n - 1)) === 0) {
        inHook = true;
        try {
          registry.reactedAt(id, sites.capture(onInit));
        } catch {
          // never throw into the app
        } finally {
          inHook = false;
        }
      }
      return;
    }
    inHook = true;
    try {
      const site = sites.capture(onInit);
      const record = sites.records[site];
      // An ES module's own evaluation promise (top-level await) is created "at" 1:1 of the module with no
      // function: it is the module system's, not the user's.
      const moduleEvaluation = record.frame.line === 1 && record.frame.column === 1 && record.frame.function === null && !record.frame.file.startsWith('[eval');
      if (site !== 0 && record.user && !moduleEvaluation) registry.track(promise, PROMISE, site);
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
    if (registry.typeOf(id) !== 'task') {
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
  const stop = promiseHooks.createHook({ init: onInit, settled: onSettled });
  ctx.undo.push(() => stop());
}
