/**
 * CDP over `node:inspector`: a Session connected to this thread, or (from a worker) to the main thread.
 * @internal
 */
import { Session } from 'node:inspector';
import type { CdpClient, CdpEvent, CdpEventParams, CdpMethod, CdpParams, CdpResult } from './client';
import { CdpError } from '../../cli/errors';

export type InspectorTarget = 'self' | 'main-thread';

export class InspectorCdpClient implements CdpClient {
  readonly #session = new Session();
  #closed = false;

  constructor(target: InspectorTarget) {
    if (target === 'main-thread') this.#session.connectToMainThread();
    else this.#session.connect();
  }

  send<M extends CdpMethod>(method: M, ...params: CdpParams<M>): Promise<CdpResult<M>> {
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(new CdpError(`CDP ${method}: session closed`, { context: { method } }));
        return;
      }
      try {
        // node:inspector's typings are per-method overloads; the generic form is the same call.
        (this.#session.post as (m: string, p: unknown, cb: (e: Error | null, r: unknown) => void) => void)(
          method,
          params[0] ?? {},
          (err, result) => {
            if (err) reject(new CdpError(`CDP ${method}: ${err.message}`, { cause: err, context: { method } }));
            else resolve(result as CdpResult<M>);
          },
        );
      } catch (err) {
        reject(new CdpError(`CDP ${method}: ${(err as Error).message}`, { cause: err, context: { method } }));
      }
    });
  }

  on<E extends CdpEvent>(event: E, listener: (params: CdpEventParams<E>) => void): () => void {
    const handler = (message: { params: CdpEventParams<E> }) => process.nextTick(listener, message.params);
    this.#session.on(event, handler);
    return () => {
      this.#session.off(event, handler);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#session.disconnect();
  }
}
