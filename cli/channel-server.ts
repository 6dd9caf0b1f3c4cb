/**
 * The CLI's side of the agent channel: a WebSocket server on 127.0.0.1 (random port) that accepts only
 * clients presenting the random token. Every Node process of the command (a process tree inherits
 * NODE_OPTIONS) connects as its own agent.
 * @internal
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import type { Report, ReportReason } from '../collector/report-model';
import type { ChannelMessage } from '../agent/channel';
import { AgentUnreachableError } from './errors';

/** One connected agent (one process). */
export interface AgentConnection {
  pid: number;
  argv: string[];
  /** The report it sent at its quiet point or exit, if any. */
  final: Report | null;
  /** Findings it pushed when they passed the threshold. */
  threshold: Report[];
  socket: WebSocket;
  closed: boolean;
}

export class ChannelServer {
  readonly token = randomBytes(24).toString('hex');
  readonly agents: AgentConnection[] = [];
  readonly #server: WebSocketServer;
  readonly #listening: Promise<void>;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve(r: Report): void; reject(e: Error): void }>();
  /** Called for each threshold push, to show progress while the app runs. */
  onFindings: ((report: Report) => void) | null = null;

  constructor() {
    const expected = Buffer.from(`Bearer ${this.token}`);
    this.#server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      perMessageDeflate: false,
      maxPayload: 256 * 1024 * 1024,
      verifyClient: ({ req }, done) => {
        const given = Buffer.from(String(req.headers.authorization ?? ''));
        done(given.length === expected.length && timingSafeEqual(given, expected), 401);
      },
    });
    this.#listening = new Promise((resolve, reject) => {
      this.#server.once('listening', resolve);
      this.#server.once('error', reject);
    });
    this.#server.on('connection', (socket) => this.#accept(socket));
  }

  /** The ws:// URL agents connect to. */
  async url(): Promise<string> {
    await this.#listening;
    const { port } = this.#server.address() as AddressInfo;
    return `ws://127.0.0.1:${port}`;
  }

  #accept(socket: WebSocket): void {
    const agent: AgentConnection = { pid: 0, argv: [], final: null, threshold: [], socket, closed: false };
    this.agents.push(agent);
    socket.on('close', () => {
      agent.closed = true;
    });
    socket.on('error', () => undefined);
    socket.on('message', (raw) => {
      let message: ChannelMessage;
      try {
        message = JSON.parse(String(raw)) as ChannelMessage;
      } catch {
        return;
      }
      switch (message.type) {
        case 'hello':
          agent.pid = message.pid;
          agent.argv = message.argv;
          break;
        case 'final':
          agent.final = message.report;
          break;
        case 'findings':
          agent.threshold.push(message.report);
          this.onFindings?.(message.report);
          break;
        case 'report':
          this.#pending.get(message.id)?.resolve(message.report);
          this.#pending.delete(message.id);
          break;
        case 'error':
          this.#pending.get(message.id)?.reject(new AgentUnreachableError(`agent in pid ${agent.pid}: ${message.message}`));
          this.#pending.delete(message.id);
          break;
      }
    });
  }

  /** Asks every connected agent for a report now; agents that do not answer within `timeoutMs` are skipped. */
  async requestAll(reason: ReportReason, timeoutMs: number): Promise<Report[]> {
    const open = this.agents.filter((a) => !a.closed && a.socket.readyState === WebSocket.OPEN);
    const answers = await Promise.all(open.map((agent) => this.#request(agent, reason, timeoutMs).catch(() => null)));
    return answers.filter((r): r is Report => r !== null);
  }

  #request(agent: AgentConnection, reason: ReportReason, timeoutMs: number): Promise<Report> {
    const id = this.#nextId++;
    return new Promise<Report>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new AgentUnreachableError(`agent in pid ${agent.pid} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      agent.socket.send(JSON.stringify({ type: 'request', id, reason }));
    });
  }

  async close(): Promise<void> {
    for (const agent of this.agents) agent.socket.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
