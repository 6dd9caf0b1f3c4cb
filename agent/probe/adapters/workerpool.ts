/**
 * workerpool (9.x): `workerpool.pool(script, options)` makes a Pool; `pool.exec()` submits and returns the
 * library's own Promise (with `.timeout()`/`.cancel()`), which has no unhandled-rejection semantics, so a
 * reaction can be attached to learn settlement. Workers start lazily inside `exec` and are never unref'd:
 * a pool that is not terminated keeps the process alive.
 * @internal
 */
import type { PoolAdapter } from './adapter';

export const workerpool: PoolAdapter = {
  library: 'workerpool',
  factories: ['pool'],
  submit: ['exec'],
  startsThreads: true,
  destroy: ['terminate'],
  taskSettlement: 'then',
};
