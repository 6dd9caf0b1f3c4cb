/**
 * The adapters the probe knows, by npm package name.
 * @internal
 */
import type { PoolAdapter } from './adapter';
import { piscina } from './piscina';
import { workerpool } from './workerpool';

export const ADAPTERS: readonly PoolAdapter[] = [piscina, workerpool];
