/**
 * One typed CDP client interface for both transports: `node:inspector` sessions (in-process, or the agent
 * worker's `connectToMainThread()`) and `chrome-remote-interface` (remote attach). Method and event
 * signatures come from `devtools-protocol`'s ProtocolMapping; nothing is generated at run time.
 */
import type { ProtocolMapping } from 'devtools-protocol/types/protocol-mapping';

export type CdpMethod = keyof ProtocolMapping.Commands;
export type CdpParams<M extends CdpMethod> = ProtocolMapping.Commands[M]['paramsType'];
export type CdpResult<M extends CdpMethod> = ProtocolMapping.Commands[M]['returnType'];
export type CdpEvent = keyof ProtocolMapping.Events;
export type CdpEventParams<E extends CdpEvent> = ProtocolMapping.Events[E][0];

/** A connected CDP session. Calls reject (never throw synchronously) with a `CdpError` carrying the method. */
export interface CdpClient {
  send<M extends CdpMethod>(method: M, ...params: CdpParams<M>): Promise<CdpResult<M>>;
  /** Subscribe; returns the unsubscribe function. Listeners are called on `nextTick`. */
  on<E extends CdpEvent>(event: E, listener: (params: CdpEventParams<E>) => void): () => void;
  /** Close the session; pending calls reject. Idempotent. */
  close(): Promise<void>;
}
