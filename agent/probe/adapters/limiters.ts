/**
 * Limiters: a task is `queued` until the limiter calls its function (then `running`) and settles with it.
 *
 * p-limit (3.x, CJS): `pLimit(n)` returns `limit(fn, ...args)`; `clearQueue()` drops queued jobs whose
 * promises then never settle (sindresorhus/p-limit #25). The factory is the module's export itself, and
 * `limit` a plain function: both are handed out behind transparent Proxies.
 *
 * p-queue (8.x, ESM only; patched through the ESM loader hook): `queue.add(fn)` (and `addAll`, which calls
 * `add`); `clear()` drops queued jobs the same way.
 * @internal
 */
import type { PoolAdapter } from './adapter';

export const pLimit: PoolAdapter = {
  library: 'p-limit',
  factories: [''],
  factoryReturns: 'submit-function',
  taskFunctionArg: 0,
  taskSettlement: 'observe',
};

export const pQueue: PoolAdapter = {
  library: 'p-queue',
  classes: ['default', ''],
  submit: ['add'],
  taskFunctionArg: 0,
  taskSettlement: 'observe',
};
