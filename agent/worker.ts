/**
 * The agent's analysis thread. It reads the probe on the main thread through
 * `inspector.Session.connectToMainThread()` (Runtime domain only: never `Debugger`, which would slow every
 * `await` of the app), builds reports with the collector, watches the threshold, and talks to
 * `leak-agent run` over a loopback WebSocket. Being a worker, it answers even while the main thread is
 * stuck in a synchronous loop.
 * @internal
 */
import { workerData, parentPort } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import type { AgentConfig } from './config';
import type { ProbeState } from '../collector/probe-state';
import type { Report, ReportReason } from '../collector/report-model';
import { buildReport } from '../collector/report';
import { renderText } from '../cli/render/text';
import { InspectorCdpClient } from './cdp/inspector-transport';
import type { CdpClient } from './cdp/client';
import { AgentChannel, type ChannelRequest } from './channel';

/** What the preload hands the worker. */
export interface WorkerData {
  leakAgent: true;
  config: AgentConfig;
  /** Set to 1 (and notified) when a final report is on the wire. */
  flag: SharedArrayBuffer;
  argv: string[];
}

const data = workerData as WorkerData;
const config = data.config;
const flag = new Int32Array(data.flag);
const cdp: CdpClient = new InspectorCdpClient('main-thread');
const PROBE = `globalThis[Symbol.for('leak-agent')]`;

async function evaluate<T>(expression: string): Promise<T> {
  const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', { expression, returnByValue: true, silent: true });
  if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
  return result.value as T;
}

async function report(reason: ReportReason, gc: boolean): Promise<Report> {
  const state = await evaluate<ProbeState>(`${PROBE}.read({ gc: ${gc} })`);
  return buildReport(state, { reason, thresholdMs: config.thresholdMs, argv: data.argv, node: process.version });
}

let channel: AgentChannel | null = null;
if (config.channel && config.token) {
  channel = new AgentChannel(config.channel, config.token, {
    hello: { pid: process.pid, argv: data.argv, level: config.level, thresholdMs: config.thresholdMs },
    async onRequest(request: ChannelRequest) {
      return report(request.reason, true);
    },
  });
}

/** Messages from the main thread; each is acknowledged through the shared flag. */
export type WorkerMessage = { type: 'final'; report: Report } | { type: 'detach' };

parentPort?.on('message', (message: WorkerMessage) => {
  const done = (): void => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  if (message.type === 'detach') {
    clearInterval(timer);
    cdp.close().then(done, done);
    return;
  }
  if (!channel) return done();
  channel.send({ type: 'final', report: message.report }).then(done, done);
});

// Threshold watch: a cheap count first; a full read only when the count changed. A full GC (to tell
// "retained" from "not collected yet") pauses the app, so at most one per GC_INTERVAL_MS.
const GC_INTERVAL_MS = Math.max(500, config.thresholdMs);
/** Last count sent per finding key: a finding is sent again only when its count grew. */
const reported = new Map<string, number>();
const pollMs = Math.max(250, Math.min(5000, Math.floor(config.thresholdMs / 2)));
let polling = false;
let lastOverdue = 0;
let lastGcAt = 0;
let lastReadHadGc = true;
const timer = setInterval(async () => {
  if (polling) return;
  polling = true;
  try {
    const overdue = await evaluate<number>(`${PROBE} ? ${PROBE}.overdue(${config.thresholdMs}) : 0`);
    const gcAllowed = Date.now() - lastGcAt >= GC_INTERVAL_MS;
    if (overdue > 0 && (overdue !== lastOverdue || (!lastReadHadGc && gcAllowed))) {
      if (gcAllowed) lastGcAt = Date.now();
      lastReadHadGc = gcAllowed;
      const full = await report('threshold', gcAllowed);
      full.findings = full.findings.filter((f) => {
        const key = `${f.kind}|${f.site.file}:${f.site.line}:${f.site.column}|${f.resource}`;
        if ((reported.get(key) ?? 0) >= f.count) return false;
        reported.set(key, f.count);
        return true;
      });
      if (full.findings.length > 0) {
        if (channel) await channel.send({ type: 'findings', report: full });
        if (config.stderr) writeSync(2, renderText(full, { cwd: process.cwd(), color: false }));
      }
    }
    lastOverdue = overdue;
  } catch {
    // The main thread may be exiting; the next tick (if any) tries again.
  } finally {
    polling = false;
  }
}, pollMs);
timer.unref();
