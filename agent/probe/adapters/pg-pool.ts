/**
 * pg-pool (3.x), and `pg.Pool` (a subclass bound to `pg.Client`): `connect()` hands out a client (promise
 * or callback), which goes back with `client.release()`; that per-checkout function calls the pool's
 * `_release(client, …)`, which is what is watched (the client object is the app's, not patched).
 * `query()` checks a client out and back in (through `connect(cb)`); `end()` ends the pool.
 * @internal
 */
import type { PoolAdapter } from './adapter';

export const pgPool: PoolAdapter = {
  library: 'pg-pool',
  classes: ['', 'default'],
  acquire: ['connect'],
  release: ['_release'],
  submit: ['query'],
  destroy: ['end'],
  taskSettlement: 'inspect',
  inUse: (pool) => (pool as { totalCount: number; idleCount: number }).totalCount - (pool as { idleCount: number }).idleCount,
  // A client of the pool's that is not among its idle ones (`_clients`, `_idle`: pg-pool 3's own books).
  isLent(pool, client) {
    const p = pool as { _clients: unknown[]; _idle: { client: unknown }[] };
    return p._clients.includes(client) && !p._idle.some((item) => item.client === client);
  },
};
