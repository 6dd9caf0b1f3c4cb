/**
 * generic-pool (3.x): `createPool(factory, opts)` (or `new Pool(...)`); `acquire()` returns a native promise
 * of a resource, handed back with `release(resource)` or `destroy(resource)`; `use(fn)` does both.
 * `drain()` and `clear()` return promises that must settle: `drain()` waits for every borrowed resource,
 * so one never released makes it pend forever (coopernurse/node-pool #172, #178).
 * @internal
 */
import type { PoolAdapter } from './adapter';

export const genericPool: PoolAdapter = {
  library: 'generic-pool',
  classes: ['Pool'],
  factories: ['createPool'],
  acquire: ['acquire'],
  release: ['release', 'destroy'],
  submit: ['drain', 'clear'],
  taskSettlement: 'inspect',
  inUse: (pool) => (pool as { borrowed: number }).borrowed,
  isLent: (pool, resource) => (pool as { isBorrowedResource(r: object): boolean }).isBorrowedResource(resource),
};
