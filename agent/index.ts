/**
 * The preload: `node --require leak-agent app.js` (or `--import leak-agent/register`, or NODE_OPTIONS).
 *
 * Reads `LEAK_AGENT_*`, installs the probe on the main thread, starts the analysis worker (which reads the
 * probe through `inspector.Session.connectToMainThread()`, so it answers even while the main thread is
 * busy), and reports at the quiet point (`beforeExit`), at exit, on an opt-in signal, past the threshold
 * (the worker) and on request from `leak-agent run` (the worker). It never throws into the app.
 */
import { isMainThread, workerData, Worker } from 'node:worker_threads';
import { writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type AgentConfig } from './config';
import { Probe, PROBE_KEY } from './probe';
import type { Report, ReportReason } from '../collector/report-model';
import type { WorkerData, WorkerMessage } from './worker';

/** True when this thread is the agent's own analysis worker. */
function isAgentWorker(): boolean {
  return !isMainThread && !!workerData && typeof workerData === 'object' && (workerData as { leakAgent?: unknown }).leakAgent === true;
}

function start(): void {
  if (!isMainThread) return; // Worker threads of the app: merged reporting comes with the adapters issue.
  if ((globalThis as Record<symbol, unknown>)[PROBE_KEY]) return; // --require and --import both given
  const { config, problems } = parseConfig(process.env);
  for (const line of problems) writeLine(line);
  if (config.level === 'off') return;

  // The worker is made with the original Worker class, before the probe patches it.
  const flag = new Int32Array(new SharedArrayBuffer(4));
  let worker: Worker | null = null;
  try {
    const data: WorkerData = { leakAgent: true, config, flag: flag.buffer as SharedArrayBuffer, argv: process.argv.slice(1) };
    worker = new Worker(join(__dirname, 'worker.js'), { workerData: data, execArgv: [], stdout: false, stderr: false });
    worker.unref();
    worker.on('error', (err) => writeLine(`leak-agent: analysis worker failed: ${err?.message ?? err}`));
  } catch (err) {
    writeLine(`leak-agent: could not start the analysis worker (${(err as Error)?.message ?? err}); reporting at exit only`);
    worker = null;
  }

  const probe = new Probe({ level: config.level, maxHandles: config.maxHandles, maxSites: config.maxSites });
  probe.install();

  let lastReportedAt = -1;
  const finalReport = (reason: ReportReason): void => {
    try {
      const created = probe.registry.createdCount;
      if (lastReportedAt === created) return; // nothing new since the quiet-point report
      lastReportedAt = created;
      const report = buildFinalReport(probe, config, reason);
      deliver(report, config, worker, flag);
    } catch (err) {
      writeLine(`leak-agent: report failed: ${(err as Error)?.stack ?? err}`);
    }
  };
  process.on('beforeExit', () => finalReport('quiet'));
  process.on('exit', () => {
    finalReport('exit');
    // A connected inspector session makes Node print "Waiting for the debugger to disconnect..." after
    // process.exit(): the worker closes its session first (bounded wait).
    if (worker) handOff(worker, flag, { type: 'detach' }, 1000);
  });
  if (config.signal) {
    process.on(config.signal, () => {
      try {
        deliver(buildFinalReport(probe, config, 'signal'), config, null, flag);
      } catch (err) {
        writeLine(`leak-agent: report failed: ${(err as Error)?.message ?? err}`);
      }
    });
  }
}

function buildFinalReport(probe: Probe, config: AgentConfig, reason: ReportReason): Report {
  // Loaded only when a report is made: the collector costs the app nothing until then.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { buildReport } = require('../collector/report') as typeof import('../collector/report');
  const state = probe.read({ gc: true });
  return buildReport(state, { reason, thresholdMs: config.thresholdMs, argv: process.argv.slice(1), node: process.version });
}

function deliver(report: Report, config: AgentConfig, worker: Worker | null, flag: Int32Array): void {
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
  // The worker sends it to the CLI; wait (bounded) until it is on the wire: at exit there is no later.
  if (worker && config.channel) handOff(worker, flag, { type: 'final', report }, 3000);
}

/** Posts a message to the worker and blocks until it acknowledges through the shared flag (bounded). */
function handOff(worker: Worker, flag: Int32Array, message: WorkerMessage, timeoutMs: number): void {
  try {
    Atomics.store(flag, 0, 0);
    worker.postMessage(message);
    Atomics.wait(flag, 0, 0, timeoutMs);
  } catch {
    // the worker is gone: nothing to wait for
  }
}

function writeLine(line: string): void {
  try {
    writeSync(2, line + '\n');
  } catch {
    // stderr closed: nothing to do
  }
}

if (!isAgentWorker()) {
  try {
    start();
  } catch (err) {
    writeLine(`leak-agent: disabled after an internal error: ${(err as Error)?.message ?? err}`);
  }
}
