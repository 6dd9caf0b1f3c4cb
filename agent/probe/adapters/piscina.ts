/**
 * piscina (4.x, 5.x): `new Piscina(options)`; `run()` submits and returns a native promise; `destroy()` and
 * `close()` end the pool. Idle workers are unref'd, so an idle pool does not keep the process alive.
 * @internal
 */
import type { PoolAdapter } from './adapter';

export const piscina: PoolAdapter = {
  library: 'piscina',
  classes: ['', 'Piscina', 'default'],
  submit: ['run'],
  startsThreads: true,
  destroy: ['destroy', 'close'],
  taskSettlement: 'inspect',
};
