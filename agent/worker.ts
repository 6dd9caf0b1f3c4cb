/**
 * The agent's analysis thread. It reads the probe on the main thread through
 * `inspector.Session.connectToMainThread()` (Runtime domain only: never `Debugger`, which would slow every
 * `await` of the app), builds reports with the collector, watches the threshold, and talks to
 * `leak-agent run` over a loopback WebSocket. Being a worker, it answers even while the main thread is
 * stuck in a synchronous loop.
 * @internal
 */
import { workerData, parentPort, type MessagePort } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import { thresholdPollMs, type AgentConfig } from './config';
import type { ProbeState } from '../collector/probe-state';
import type { Report, ReportReason } from '../collector/report-model';
import { buildReport, mergeThreadFindings } from '../collector/report';
import { ThreadStates, type ThreadSays } from './threads';
import { renderText } from '../cli/render/text';
import { InspectorCdpClient } from './cdp/inspector-transport';
import type { CdpClient } from './cdp/client';
import { AgentChannel, type ChannelRequest } from './channel';
import { snapshotOverCdp } from './snapshot-stream';
import { awaitLines } from './await-lines';
import { correlate } from '../collector/correlate';
import { loadSnapshot } from '../collector/snapshot';

/** What the preload hands the worker. */
export interface WorkerData {
  leakAgent: true;
  config: AgentConfig;
  /** Set to 1 (and notified) when a final report is on the wire. */
  flag: SharedArrayBuffer;
  argv: string[];
  /** Where replies to `final` go (the main thread reads them synchronously). */
  replies: MessagePort;
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

let lastSnapshotAt = 0;
/** The app's worker threads (threads.ts). */
const threads = new ThreadStates();
/** How long a report waits for worker threads to answer: at exit (the main thread waits too), otherwise. */
const THREADS_FINAL_WAIT_MS = 500;
const THREADS_WAIT_MS = 2000;

/**
 * Adds the findings of the app's worker threads: those that answer now (judged by `reason`) and the final
 * states of those that ended on their own (judged as at exit). Threads the main thread knows as running
 * that do not answer in time get a notice.
 */
async function addThreads(report: Report, reason: ReportReason, gc: boolean, running: number[], waitMs: number): Promise<void> {
  try {
    const read = await threads.read(gc, waitMs, running);
    mergeThreadFindings(report, read.live, { reason, thresholdMs: config.thresholdMs, argv: data.argv, node: process.version });
    addEnded(report, read.ended, read.droppedFinals);
    for (const t of read.silent) report.notices.push(`leak-agent: worker thread ${t} did not answer within ${waitMs} ms (busy?): its findings are missing`);
  } catch (err) {
    report.notices.push(`leak-agent: worker threads not read (${(err as Error)?.message ?? err})`);
  }
}

/** The final states of threads that ended on their own, judged as at exit: what they left can never finish. */
function addEnded(report: Report, states: ProbeState[], dropped: number): void {
  mergeThreadFindings(report, states, { reason: 'exit', thresholdMs: config.thresholdMs, argv: data.argv, node: process.version });
  if (dropped > 0) report.notices.push(`leak-agent: findings of ${dropped} ended worker threads were not kept (the first 100 are)`);
}

/**
 * Reads the probe (after a full GC when `gc`) and builds the report, worker threads included unless
 * `withThreads` is false (the threshold watch asks them only when one of them has overdue work: a busy
 * pool thread answers late, and the main thread's findings must not wait for it). The final states of
 * threads that ended are in every report: they are kept here, nothing is asked.
 */
async function build(reason: ReportReason, gc: boolean, withThreads = true): Promise<Report> {
  const state = await evaluate<ProbeState>(`${PROBE}.read({ gc: ${gc} })`);
  const report = buildReport(state, { reason, thresholdMs: config.thresholdMs, argv: data.argv, node: process.version });
  if (withThreads) {
    const running = await evaluate<number[]>(`${PROBE}.liveThreads()`).catch(() => [] as number[]);
    await addThreads(report, reason, gc, running, THREADS_WAIT_MS);
  } else {
    const { states, dropped } = threads.ended();
    addEnded(report, states, dropped);
  }
  return report;
}

/**
 * Names what holds the leaked objects of `built`'s findings from a heap snapshot streamed over CDP (when
 * snapshots are on). The snapshot pauses the app: callers bound how often.
 */
let snapshotting: Promise<void> = Promise.resolve();
/** One snapshot at a time on the one CDP session (a `run` request and a threshold poll can overlap). */
function enrich(built: Report): Promise<void> {
  const run = snapshotting.then(() => enrichNow(built));
  snapshotting = run.catch(() => undefined);
  return run;
}

async function enrichNow(built: Report): Promise<void> {
  const ids = built.findings.flatMap((f) => f.samples ?? []);
  if (!config.snapshots || ids.length === 0) return;
  lastSnapshotAt = Date.now();
  try {
    await evaluate(`${PROBE}.tag(${JSON.stringify(ids)})`);
    const graph = await snapshotOverCdp(cdp).finally(() => evaluate(`${PROBE}.untag()`).catch(() => undefined));
    correlate(built, graph);
    await awaitLines(cdp, built);
  } catch (err) {
    built.notices.push(`leak-agent: no retainers: heap snapshot failed (${(err as Error)?.message ?? err})`);
  } finally {
    await cdp.send('HeapProfiler.disable').catch(() => undefined);
  }
}

/** Names retainers from a snapshot file the main thread wrote at exit. */
async function correlateFile(built: Report, file: string): Promise<void> {
  try {
    correlate(built, await loadSnapshot(file, { progress: false }));
  } catch (err) {
    built.notices.push(`leak-agent: no retainers: heap snapshot unreadable (${(err as Error)?.message ?? err})`);
  }
}

let channel: AgentChannel | null = null;
if (config.channel && config.token) {
  channel = new AgentChannel(config.channel, config.token, {
    hello: { pid: process.pid, argv: data.argv, level: config.level, thresholdMs: config.thresholdMs },
    async onRequest(request: ChannelRequest) {
      const built = await build(request.reason, true);
      await enrich(built);
      return built;
    },
  });
}

/** Messages from the main thread; each is acknowledged through the shared flag. */
export type WorkerMessage = (
  | { type: 'final'; report: Report; snapshot: string | null; send: boolean; threads: number[]; early: ThreadSays[] }
  | { type: 'detach' }
) & {
  /** The hand-off's number: the flag is set to it when done, and a reply carries it. */
  seq: number;
};

/** A reply to a `final` hand-off. */
export interface WorkerReply {
  seq: number;
  report: Report;
}

parentPort?.on('message', (message: WorkerMessage) => {
  const done = (): void => {
    Atomics.store(flag, 0, message.seq);
    Atomics.notify(flag, 0);
  };
  if (message.type === 'detach') {
    clearInterval(timer);
    threads.close();
    cdp.close().then(done, done);
    return;
  }
  void (async () => {
    const built = message.report;
    threads.accept(message.early);
    if (message.snapshot) await correlateFile(built, message.snapshot);
    // After correlation: the snapshot is of the main thread's heap only.
    await addThreads(built, built.reason, true, message.threads ?? [], THREADS_FINAL_WAIT_MS);
    if (channel && message.send) await channel.send({ type: 'final', report: built });
    data.replies.postMessage({ seq: message.seq, report: built } satisfies WorkerReply);
  })().finally(done);
});

// Threshold watch: a cheap count first; a full read only when the count changed. A full GC (to tell
// "retained" from "not collected yet") pauses the app, so at most one per GC_INTERVAL_MS.
const GC_INTERVAL_MS = Math.max(500, config.thresholdMs);
/** Last count sent per finding key: a finding is sent again only when its count grew. */
const reported = new Map<string, number>();
const pollMs = thresholdPollMs(config);
let polling = false;
let lastOverdue = 0;
let lastGcAt = 0;
let lastReadHadGc = true;
const timer = setInterval(async () => {
  if (polling) return;
  polling = true;
  try {
    const threadsOverdue = threads.overdue(config.thresholdMs);
    // A thread that ended leaving work behind counts at once: that work can never finish.
    const overdue = (await evaluate<number>(`${PROBE} ? ${PROBE}.overdue(${config.thresholdMs}) : 0`)) + threadsOverdue + threads.endedLeavingSomething();
    const gcAllowed = Date.now() - lastGcAt >= GC_INTERVAL_MS;
    if (overdue > 0 && (overdue !== lastOverdue || (!lastReadHadGc && gcAllowed))) {
      if (gcAllowed) lastGcAt = Date.now();
      lastReadHadGc = gcAllowed;
      const full = await build('threshold', gcAllowed, threadsOverdue > 0);
      full.findings = full.findings.filter((f) => {
        const key = `${f.threadId}|${f.kind}|${f.site.file}:${f.site.line}:${f.site.column}|${f.resource}`;
        if ((reported.get(key) ?? 0) >= f.count) return false;
        reported.set(key, f.count);
        return true;
      });
      if (full.findings.length > 0) {
        // Sent at once, and again with retainers: the snapshot takes long enough (seconds on a big heap)
        // that the app may be gone before it is done.
        if (channel) await channel.send({ type: 'findings', report: full });
        if (config.snapshotIntervalMs > 0 && Date.now() - lastSnapshotAt >= config.snapshotIntervalMs) {
          await enrich(full);
          if (channel && full.findings.some((f) => f.retainers)) await channel.send({ type: 'findings', report: full });
        }
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
