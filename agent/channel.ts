/**
 * The agent's side of the loopback WebSocket to `leak-agent run`. The CLI listens on 127.0.0.1 with a
 * random token; the agent connects (from its worker), says hello, answers report requests, and pushes
 * threshold findings and the final report.
 * @internal
 */
import WebSocket from 'ws';
import type { Report, ReportReason } from '../collector/report-model';

/** Messages from the CLI. */
export interface ChannelRequest {
  type: 'request';
  id: number;
  reason: ReportReason;
}

/** Messages to the CLI. */
export type ChannelMessage =
  | { type: 'hello'; pid: number; argv: string[]; level: string; thresholdMs: number }
  | { type: 'report'; id: number; report: Report }
  | { type: 'error'; id: number; message: string }
  | { type: 'findings'; report: Report }
  | { type: 'final'; report: Report };

export interface ChannelHandlers {
  hello: Omit<Extract<ChannelMessage, { type: 'hello' }>, 'type'>;
  onRequest(request: ChannelRequest): Promise<Report>;
}

export class AgentChannel {
  readonly #socket: WebSocket;
  readonly #open: Promise<void>;

  constructor(url: string, token: string, handlers: ChannelHandlers) {
    this.#socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    this.#open = new Promise((resolve, reject) => {
      this.#socket.once('open', () => resolve());
      this.#socket.once('error', reject);
    });
    this.#open.then(
      () => void this.send({ type: 'hello', ...handlers.hello }),
      () => undefined,
    );
    this.#socket.on('error', () => undefined);
    this.#socket.on('message', (raw) => {
      let message: ChannelRequest;
      try {
        message = JSON.parse(String(raw)) as ChannelRequest;
      } catch {
        return;
      }
      if (message.type !== 'request') return;
      handlers.onRequest(message).then(
        (report) => this.send({ type: 'report', id: message.id, report }),
        (err: Error) => this.send({ type: 'error', id: message.id, message: err?.message ?? String(err) }),
      );
    });
  }

  /** Sends one message; resolves when it is written to the socket (or the socket is gone). */
  async send(message: ChannelMessage): Promise<void> {
    try {
      await this.#open;
    } catch {
      return;
    }
    await new Promise<void>((resolve) => {
      if (this.#socket.readyState !== WebSocket.OPEN) return resolve();
      this.#socket.send(JSON.stringify(message), () => resolve());
    });
  }
}
