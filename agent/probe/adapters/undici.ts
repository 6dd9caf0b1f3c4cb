/**
 * undici (6.x) `Pool`, `Agent`, `Client`, `BalancedPool`: `request()` resolves with `{ statusCode, body }`;
 * until the body is read to the end (or dumped, or destroyed) it pins its connection (nodejs/undici
 * #3895), so the body is the acquired resource. Its release is read lazily (the app's stream gets no
 * listener from the agent).
 * @internal
 */
import type { LiveState } from '../registry';
import type { PoolAdapter } from './adapter';

interface BodyLike {
  destroyed?: boolean;
  readableEnded?: boolean;
  closed?: boolean;
}

export const undici: PoolAdapter = {
  library: 'undici',
  classes: ['Pool', 'Agent', 'Client', 'BalancedPool'],
  acquire: ['request'],
  // The body must be known by a report at exit, and undici has no release call or in-use count to settle
  // a lazily read acquisition by.
  observeAcquisition: true,
  resourceOf(value: unknown): unknown {
    return value !== null && typeof value === 'object' ? (value as { body?: unknown }).body : undefined;
  },
  resourceState(resource: object): LiveState | undefined {
    const body = resource as BodyLike;
    if (body.destroyed === true || body.readableEnded === true || body.closed === true) return { state: 'released' };
    return undefined;
  },
  destroy: ['close', 'destroy'],
  taskSettlement: 'inspect',
};
