/**
 * tinypool (1.x, ESM only; patched through the ESM loader hook): `new Tinypool(options)`; `run()` submits
 * and returns a native promise; `destroy()` ends the pool. Like piscina, idle workers are unref'd.
 * @internal
 */
import type { PoolAdapter } from './adapter';

export const tinypool: PoolAdapter = {
  library: 'tinypool',
  classes: ['Tinypool', 'default'],
  submit: ['run'],
  startsThreads: true,
  destroy: ['destroy'],
  taskSettlement: 'inspect',
};
