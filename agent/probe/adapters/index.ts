/**
 * The adapters the probe knows, by npm package name.
 * @internal
 */
import type { PoolAdapter } from './adapter';
import { piscina } from './piscina';
import { workerpool } from './workerpool';
import { tinypool } from './tinypool';
import { genericPool } from './generic-pool';
import { tarn } from './tarn';
import { pgPool } from './pg-pool';
import { undici } from './undici';
import { pLimit, pQueue } from './limiters';

export const ADAPTERS: readonly PoolAdapter[] = [piscina, workerpool, tinypool, genericPool, tarn, pgPool, undici, pLimit, pQueue];
