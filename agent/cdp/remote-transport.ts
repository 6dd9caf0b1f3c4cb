/**
 * CDP over `chrome-remote-interface`: a WebSocket to another process's inspector (`leak-agent attach`).
 * Same {@link CdpClient} interface as the `node:inspector` transport, so everything above it is
 * transport-agnostic.
 *
 * chrome-remote-interface is used for its WebSocket plumbing only: it is given an empty protocol
 * description, so it neither fetches `/json/protocol` nor generates an API at run time; calls go through
 * `send()` with types from devtools-protocol's ProtocolMapping. Pending calls are also kept here, by id,
 * so that every one of them rejects with a `CdpError` naming its method when the connection closes
 * (chrome-remote-interface registers a call's callback only after the socket accepted the frame: a close in
 * between would otherwise leave that call pending for ever).
 * @internal
 */
import type { CdpClient, CdpEvent, CdpEventParams, CdpMethod, CdpParams, CdpResult } from './client';
import { CdpError } from '../../cli/errors';

/** The part of chrome-remote-interface's client used here (it ships no types). */
interface CriClient {
  send(method: string, params: object): Promise<unknown>;
  on(event: string, listener: (params: unknown) => void): unknown;
  removeListener(event: string, listener: (params: unknown) => void): unknown;
  close(): Promise<void>;
  /** The underlying `ws` socket (private in chrome-remote-interface; used only to cut a close that hangs). */
  _ws?: { terminate?(): void };
}
type CriConnect = (options: { target: string; protocol: { domains: never[] } }) => Promise<CriClient>;

/** How long a polite close may take before the socket is cut. */
const CLOSE_WAIT_MS = 1000;

interface Pending {
  method: string;
  params: unknown;
  reject: (err: CdpError) => void;
}

export interface RemoteConnectOptions {
  /** Give up connecting after this long (a port that accepts and never answers). Default 5000. */
  timeoutMs?: number;
}

export class RemoteCdpClient implements CdpClient {
  readonly #client: CriClient;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  /** Why the connection is gone, once it is. */
  #gone: string | null = null;
  readonly #disconnectListeners = new Set<(reason: string) => void>();

  /** Connects to an inspector WebSocket URL (`ws://127.0.0.1:9229/<uuid>`). Rejects with a `CdpError`. */
  static async connect(url: string, options: RemoteConnectOptions = {}): Promise<RemoteCdpClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const connect = require('chrome-remote-interface') as CriConnect;
    const connecting = connect({ target: url, protocol: { domains: [] } });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new CdpError(`no answer from ${url} within ${timeoutMs} ms`, { context: { url } })), timeoutMs);
    });
    try {
      return new RemoteCdpClient(await Promise.race([connecting, timeout]));
    } catch (err) {
      // A connection that completes after the timeout is closed at once.
      connecting.then((late) => late.close(), () => undefined);
      if (err instanceof CdpError) throw err;
      throw new CdpError(`cannot connect to ${url}: ${(err as Error)?.message ?? err}`, { cause: err, context: { url } });
    } finally {
      clearTimeout(timer);
    }
  }

  private constructor(client: CriClient) {
    this.#client = client;
    client.on('disconnect', () => this.#fail('the inspector closed the connection (the process exited?)'));
  }

  /** True once the connection is gone (closed here or by the other side). */
  get closed(): boolean {
    return this.#gone !== null;
  }

  send<M extends CdpMethod>(method: M, ...params: CdpParams<M>): Promise<CdpResult<M>> {
    return new Promise((resolve, reject) => {
      if (this.#gone !== null) {
        reject(new CdpError(`CDP ${method}: ${this.#gone}`, { context: { method } }));
        return;
      }
      const id = this.#nextId++;
      this.#pending.set(id, { method, params: params[0], reject });
      let sent: Promise<unknown>;
      try {
        sent = this.#client.send(method, params[0] ?? {});
      } catch (err) {
        sent = Promise.reject(err);
      }
      sent.then(
        (result) => {
          if (this.#pending.delete(id)) resolve(result as CdpResult<M>);
        },
        (err: unknown) => {
          if (!this.#pending.delete(id)) return;
          reject(new CdpError(`CDP ${method}: ${(err as Error)?.message ?? err}`, { cause: err, context: { method, params: params[0] } }));
        },
      );
    });
  }

  on<E extends CdpEvent>(event: E, listener: (params: CdpEventParams<E>) => void): () => void {
    const handler = (params: unknown): void => {
      process.nextTick(listener, params as CdpEventParams<E>);
    };
    this.#client.on(event, handler);
    return () => {
      this.#client.removeListener(event, handler);
    };
  }

  /** Called (on nextTick) when the other side closes the connection; not after `close()`. Returns unsubscribe. */
  onDisconnect(listener: (reason: string) => void): () => void {
    this.#disconnectListeners.add(listener);
    return () => {
      this.#disconnectListeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#rejectPending('session closed');
    if (this.#gone === null) this.#gone = 'session closed';
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          this.#client._ws?.terminate?.();
        } catch {
          // already gone
        }
        resolve();
      }, CLOSE_WAIT_MS);
    });
    try {
      await Promise.race([this.#client.close().catch(() => undefined), cut]);
    } finally {
      clearTimeout(timer);
    }
  }

  #fail(reason: string): void {
    if (this.#gone !== null) return;
    this.#gone = reason;
    this.#rejectPending(reason);
    for (const listener of this.#disconnectListeners) process.nextTick(listener, reason);
  }

  #rejectPending(reason: string): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(new CdpError(`CDP ${p.method}: ${reason}`, { context: { method: p.method, params: p.params } }));
  }
}
