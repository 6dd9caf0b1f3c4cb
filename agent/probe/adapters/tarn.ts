/**
 * tarn (3.x): `new Pool({create, destroy, ...})`; `acquire()` returns a PendingOperation whose `.promise`
 * resolves with the resource (`acquiredPromise`), handed back
 * with `release(resource)`; `destroy()` ends the pool. The first acquire starts a reaping `setInterval`
 * that keeps the process alive until `destroy()` (knex/knex #2510): the OS-handle probe reports it at the
 * user's `acquire()` line.
 * @internal
 */
import type { PoolAdapter } from './adapter';

export const tarn: PoolAdapter = {
  library: 'tarn',
  classes: ['Pool'],
  acquire: ['acquire'],
  acquiredPromise: (operation) => (operation as { promise?: unknown }).promise,
  release: ['release'],
  destroy: ['destroy'],
  inUse: (pool) => (pool as { numUsed(): number }).numUsed(),
  isLent: (pool, resource) => (pool as { used: { resource: unknown }[] }).used.some((u) => u.resource === resource),
  taskSettlement: 'inspect',
};
