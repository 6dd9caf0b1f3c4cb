/**
 * The preload proper, loaded by ./index (the entry of `node --require leak-agent app.js`, `--import
 * leak-agent/register`, or NODE_OPTIONS) in every process and every worker thread that gets a probe.
 *
 * Reads `LEAK_AGENT_*`, installs the probe on the main thread, starts the analysis worker (which reads the
 * probe through `inspector.Session.connectToMainThread()`, so it answers even while the main thread is
 * busy), and reports at the quiet point (`beforeExit`), at exit, on an opt-in signal, past the threshold
 * (the worker) and on request from `leak-agent run` (the worker). It never throws into the app.
 *
 * Final reports are made synchronously on the main thread (nothing later is guaranteed at exit): read
 * after a full GC, build, optionally write a heap snapshot, then hand the report to the worker, which names
 * the retainers from the snapshot, sends it to the CLI, and hands it back through a MessagePort that the
 * main thread reads with `receiveMessageOnPort` while it waits on a shared flag.
 */
import type { Worker, MessagePort } from 'node:worker_threads';
import { writeFileSync, writeSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { AgentConfig } from './config';
import type { Probe } from './probe';
import type { Report, ReportReason } from '../collector/report-model';
import type { WorkerData, WorkerMessage, WorkerReply } from './worker';

/**
 * `node:worker_threads`, loaded once there is something to do with it: in a main thread it costs 1.5–2.5 ms
 * of CPU to load (it brings the streams), which a preload at level `off`, or an app that starts no thread,
 * must not pay.
 */
let workerThreads: typeof import('node:worker_threads') | null = null;
// eslint-disable-next-line @typescript-eslint/no-var-requires
const threadsModule = (): typeof import('node:worker_threads') => (workerThreads ??= require('node:worker_threads') as typeof import('node:worker_threads'));

/** True when this worker thread is the agent's own analysis worker. */
function isAgentWorker(): boolean {
  const { workerData } = threadsModule();
  return !!workerData && typeof workerData === 'object' && (workerData as { leakAgent?: unknown }).leakAgent === true;
}

/** The analysis worker as the main thread sees it. */
interface WorkerLink {
  worker: Worker;
  flag: Int32Array;
  replies: MessagePort;
  /** The number of the latest hand-off. */
  seq: number;
  /** What app threads said before the worker listened (./probe/early-states EarlyStates). */
  early: import('./probe/early-states').EarlyStates | null;
}

/** How long the main thread waits for the worker at exit: sending only, or naming retainers from a snapshot. */
const SEND_WAIT_MS = 3000;
const CORRELATE_WAIT_MS = 60_000;
/** `PROBE_KEY` of ./probe, repeated here so that a preload at level `off` loads nothing else. */
const PROBE_KEY = Symbol.for('leak-agent');

/**
 * Loads the probe (and through it the patches) only once the level says it is needed: from the one-file
 * copy the build writes (cli/probe-bundle.ts; a third of the CPU of loading its ≈ 25 files one by one, in
 * every process and worker thread) with its V8 code cache (./probe-cache), or from the files when that copy
 * is missing or older (a `tsc`-only build).
 */
function loadProbe(): typeof import('./probe') {
  /* eslint-disable @typescript-eslint/no-var-requires */
  try {
    const local = join(__dirname, 'probe-local.js');
    if (statSync(local).mtimeMs >= statSync(join(__dirname, 'probe', 'index.js')).mtimeMs) {
      const { loadCached, CACHE_FILE_NAME } = require('./probe-cache') as typeof import('./probe-cache');
      const bundle = loadCached(local, join(__dirname, CACHE_FILE_NAME), require, __dirname).exports as (require: NodeRequire, root: string) => typeof import('./probe');
      return bundle(require, join(__dirname, '..') + sep);
    }
  } catch {
    // no usable copy: the files below
  }
  return require('./probe') as typeof import('./probe');
  /* eslint-enable @typescript-eslint/no-var-requires */
}

/**
 * True in the internal worker thread `module.register()` starts for loader hooks (it runs the preload too,
 * but runs no app code): a worker without a parent port.
 */
function isHooksThread(): boolean {
  return threadsModule().parentPort === null;
}

/** Called by the entry (./index), which tells whether this is a worker thread. Never throws. */
export function start(inWorker: boolean): void {
  try {
    startIn(inWorker);
  } catch (err) {
    writeLine(`leak-agent: disabled after an internal error: ${(err as Error)?.message ?? err}`);
  }
}

function startIn(inWorker: boolean): void {
  if ((globalThis as Record<symbol, unknown>)[PROBE_KEY]) return; // --require and --import both given
  // Required here: level `off` needs the settings only.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { parseConfig, thresholdPollMs } = require('./config') as typeof import('./config');
  const { config, problems } = parseConfig(process.env);
  // Level off with nothing to say: nothing to do in any thread, nothing more loaded.
  if (config.level === 'off' && problems.length === 0) return;
  if (inWorker) {
    if (!isAgentWorker() && !isHooksThread()) startInThread(config);
    return;
  }
  for (const line of problems) writeLine(line);
  if (config.level === 'off') return;

  // The worker is made with Node's own Worker class (`probe.nativeWorker()`), whenever it starts. With
  // `leak-agent run` the worker is the channel: at once. Standalone, a thread costs ≈ 40 ms of CPU and ≈ 10 MB, so it starts
  // only when there is something for it to do, as polled here: work overdue past the threshold (a cheap
  // count), an app worker thread with a probe still running at a poll (the worker asks such threads for
  // their overdue work), or one that ended leaving work behind (reported at the worker's first poll); or at a final report, for findings to name retainers for, threads still running, or
  // threads that ended leaving something behind. From the app's first thread on, the main thread keeps what
  // threads say (EarlyStates) until the worker listens: a script that runs a thread for less than a poll
  // period starts no analysis worker (it cost such a script ≈ 60 ms of CPU, 0.60 of its speed).
  const probeModule = loadProbe();
  const ProbeClass = probeModule.Probe;
  const probe = new ProbeClass({ level: config.level, maxHandles: config.maxHandles, maxSites: config.maxSites });
  let link: WorkerLink | null = null;
  let early: import('./probe/early-states').EarlyStates | null = null;
  const ensureWorker = (): WorkerLink | null => (link ??= startWorker(config, () => probe.nativeWorker(), early ?? listenEarly(probeModule)));
  if (config.channel) ensureWorker();
  else {
    probe.onThreadStart(() => {
      if (link === null) early ??= listenEarly(probeModule);
    });
    // Made before the probe patches setInterval, so it is not tracked.
    const watch = setInterval(() => {
      if (link !== null) clearInterval(watch);
      else if (probe.overdue(config.thresholdMs) > 0 || (early !== null && (probe.liveThreads().length > 0 || early.holdsFinal()))) ensureWorker();
    }, thresholdPollMs(config));
    watch.unref();
  }
  probe.install();

  // Nothing tracked yet (0) means nothing to report: no GC, no collector load at exit. Nor when the report
  // would be empty and goes nowhere: no file or channel to write it to (an empty report prints nothing),
  // no analysis worker or app thread with states of its own, and no record that could make a finding.
  let lastReportedAt = 0;
  // App threads' states to merge: the worker holds them, or the main thread kept a final that left something.
  const threadStates = (): boolean => link !== null || (early?.holdsFinal() ?? false);
  const finalReport = (reason: ReportReason): void => {
    try {
      const created = probe.registry.createdCount;
      if (lastReportedAt === created) return; // nothing new since the quiet-point report
      lastReportedAt = created;
      const threads = threadStates();
      if (!config.out && !config.channel && !threads && probe.liveThreads().length === 0 && !probe.mayFind()) return;
      deliver(makeReport(probe, config, reason, ensureWorker, threads), config);
    } catch (err) {
      writeLine(`leak-agent: report failed: ${(err as Error)?.stack ?? err}`);
    }
  };
  process.on('beforeExit', () => finalReport('quiet'));
  process.on('exit', () => {
    finalReport('exit');
    // A connected inspector session makes Node print "Waiting for the debugger to disconnect..." after
    // process.exit(): the worker closes its session first (bounded wait).
    if (link) handOff(link, { type: 'detach' }, 1000);
  });
  if (config.signal) {
    process.on(config.signal, () => {
      try {
        deliver(makeReport(probe, config, 'signal', ensureWorker, threadStates()), config);
      } catch (err) {
        writeLine(`leak-agent: report failed: ${(err as Error)?.message ?? err}`);
      }
    });
  }
}

/**
 * An app worker thread: its own probe, read by the analysis worker over a BroadcastChannel (threads.ts) and
 * merged into the main thread's reports with this thread's `threadId`. No analysis worker, no report of its
 * own (the main thread's agent reports for the whole process); malformed settings were named by the main thread.
 */
function startInThread(config: AgentConfig): void {
  if (config.level === 'off') return;
  const { Probe, serveThread } = loadProbe();
  const probe = new Probe({ level: config.level, maxHandles: config.maxHandles, maxSites: config.maxSites });
  probe.install();
  serveThread(probe);
}

/**
 * Keeps what app threads say until the analysis worker listens (./probe/early-states EarlyStates); null without
 * BroadcastChannel, where threads that end before the worker listens are not reported.
 */
function listenEarly(probeModule: typeof import('./probe')): import('./probe/early-states').EarlyStates | null {
  try {
    return probeModule.earlyStates();
  } catch {
    return null;
  }
}

/** `early`: made before the worker exists, since an app thread may end before the worker listens (./threads). */
function startWorker(config: AgentConfig, nativeWorker: () => typeof Worker, early: import('./probe/early-states').EarlyStates | null): WorkerLink | null {
  try {
    const NativeWorker = nativeWorker();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new (threadsModule().MessageChannel)();
    const data: WorkerData = { leakAgent: true, config, flag: flag.buffer as SharedArrayBuffer, argv: process.argv.slice(1), replies: port2 };
    const worker = new NativeWorker(join(__dirname, 'worker.js'), { workerData: data, transferList: [port2], execArgv: [], stdout: false, stderr: false });
    worker.unref();
    port1.unref();
    worker.on('error', (err) => writeLine(`leak-agent: analysis worker failed: ${err?.message ?? err}`));
    return { worker, flag, replies: port1, seq: 0, early };
  } catch (err) {
    writeLine(`leak-agent: could not start the analysis worker (${(err as Error)?.message ?? err}); reporting at exit only`);
    return null;
  }
}

/**
 * `linkFor` gives the analysis worker, started if need be: it is asked when the report has findings (the
 * worker names their retainers), when app threads run, and whenever it runs already or app threads that
 * ended left something behind (`threadStates`: the worker merges their final states), so a clean run of a
 * short-lived thread never starts one.
 */
function makeReport(probe: Probe, config: AgentConfig, reason: ReportReason, linkFor: () => WorkerLink | null, threadStates: boolean): Report {
  // Loaded only when a report is made: the collector costs the app nothing until then.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { buildReport } = require('../collector/report') as typeof import('../collector/report');
  const state = probe.read({ gc: true });
  const runningAtExit = reason === 'exit' ? probe.runningFunctions() : undefined;
  const report = buildReport(state, { reason, thresholdMs: config.thresholdMs, argv: process.argv.slice(1), node: process.version, runningAtExit });
  const link = report.findings.length > 0 || config.channel || threadStates || probe.liveThreads().length > 0 ? linkFor() : null;
  if (!link) return report;
  const ids = report.findings.flatMap((f) => f.samples ?? []);
  let dir: string | null = null;
  let snapshot: string | null = null;
  if (config.snapshots && ids.length > 0) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    dir = mkdtempSync(join((require('node:os') as typeof import('node:os')).tmpdir(), 'leak-agent-'));
    snapshot = join(dir, `${process.pid}.heapsnapshot`);
    if (!probe.writeSnapshot(snapshot, ids)) snapshot = null;
  }
  try {
    const early = link.early?.take() ?? [];
    const reply = handOff(link, { type: 'final', report, snapshot, send: config.channel !== null, threads: probe.liveThreads(), early }, snapshot ? CORRELATE_WAIT_MS : SEND_WAIT_MS);
    return reply ?? report;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function deliver(report: Report, config: AgentConfig): void {
  if (config.out) {
    try {
      writeFileSync(config.out, JSON.stringify(report, null, 2) + '\n');
    } catch (err) {
      writeLine(`leak-agent: could not write LEAK_AGENT_OUT ${config.out}: ${(err as Error)?.message ?? err}`);
    }
  }
  if (config.stderr && report.findings.length > 0) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { renderText } = require('../cli/render/text') as typeof import('../cli/render/text');
    writeLine(renderText(report, { cwd: process.cwd(), color: false }).trimEnd());
  }
}

/**
 * Posts a message to the worker and blocks (bounded) until it acknowledges through the shared flag; returns
 * what it replied on the port, if anything. At exit there is no later, so this is synchronous.
 */
function handOff(link: WorkerLink, message: DistributiveOmit<WorkerMessage, 'seq'>, timeoutMs: number): Report | undefined {
  try {
    // Numbered, so that a late answer to an earlier hand-off that timed out is not taken for this one's.
    const seq = (link.seq = (link.seq % 0x7fffffff) + 1);
    Atomics.store(link.flag, 0, 0);
    link.worker.postMessage({ ...message, seq });
    const deadline = Date.now() + timeoutMs;
    for (let left = timeoutMs; Atomics.load(link.flag, 0) !== seq && left > 0; left = deadline - Date.now()) {
      Atomics.wait(link.flag, 0, Atomics.load(link.flag, 0), left);
    }
    let reply: Report | undefined;
    const { receiveMessageOnPort } = threadsModule();
    for (let m = receiveMessageOnPort(link.replies); m; m = receiveMessageOnPort(link.replies)) {
      const r = m.message as WorkerReply;
      if (r.seq === seq) reply = r.report;
    }
    return reply;
  } catch {
    return undefined; // the worker is gone: nothing to wait for
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function writeLine(line: string): void {
  try {
    writeSync(2, line + '\n');
  } catch {
    // stderr closed: nothing to do
  }
}

