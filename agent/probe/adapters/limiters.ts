/**
 * Limiters: a task is `queued` until the limiter calls its function (then `running`) and settles with it.
 *
 * p-limit (3.x, CJS): `pLimit(n)` returns `limit(fn, ...args)`; `clearQueue()` drops queued jobs whose
 * promises then never settle (sindresorhus/p-limit #25). The factory is the module's export itself,
 * handed out behind a transparent Proxy, and `limit` a plain function with the same own properties.
 *
 * p-queue (8.x, ESM only; patched through the ESM loader hook): `queue.add(fn)` (and `addAll`, which calls
 * `add`); `clear()` drops queued jobs the same way. A job given a `timeout` settles when it times out,
 * while its function may still be running: the task is shown settled only when the function's result is.
 * @internal
 */
import type { PoolAdapter } from './adapter';

export const pLimit: PoolAdapter = {
  library: 'p-limit',
  factories: [''],
  factoryReturns: 'submit-function',
  taskFunctionArg: 0,
  // p-limit's promise settles as the function's result does (it resolves it with that result). Learnt
  // from the function, not from a window on the global Promise: swapping that global for tracked calls
  // cost p-limit 4-7 % of its throughput (its `new Promise` site saw a Proxy).
  taskSettlement: 'result',
};

export const pQueue: PoolAdapter = {
  library: 'p-queue',
  classes: ['default', ''],
  submit: ['add'],
  taskFunctionArg: 0,
  // p-queue's `add` promise settles as the function's result does (`await operation`, then `resolve`):
  // learnt from the function, as for p-limit. Observing it instead swapped the global Promise during sampled
  // calls, after which V8 treats `Promise` as a mutable global: the `new Promise` in every later `add` ran
  // unoptimised, and a queue of short jobs ran 8-10 % slower for the rest of the process.
  taskSettlement: 'result',
};
