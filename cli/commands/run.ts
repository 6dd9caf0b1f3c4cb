/**
 * `leak-agent run [options] -- <command…>`: starts the command with the preload, talks to its agents over a
 * loopback WebSocket, and prints the report when the app exits, when it is still running after `--timeout`
 * (the "cannot exit" case: report what keeps it alive, then stop it), or on Ctrl-C.
 */
import { Command, Option } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Level } from '../../collector/probe-state';
import type { Finding, FindingKind, Report, ReportReason } from '../../collector/report-model';
import { mergeReports } from '../../collector/report';
import { ChannelServer } from '../channel-server';
import { InvalidArgumentError, SpawnError, ExitCode } from '../errors';
import { positiveInt, positiveSeconds } from '../options';
import { writeReport } from '../output';

export interface RunOptions {
  json: boolean;
  out?: string;
  threshold: number;
  timeout?: number;
  level: Level;
  failOn: FindingKind[];
}

export interface RunResult {
  report: Report;
  /** The app's exit code (124 when it was stopped after --timeout, 128+n when a signal ended it). */
  appExitCode: number;
  timedOut: boolean;
  /** Agents that connected (one per Node process of the command). */
  agents: number;
}

const KINDS: readonly FindingKind[] = ['unsettled', 'unreleased', 'retained', 'growth'];
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
/** How long to wait for agents to answer a report request. */
const REQUEST_TIMEOUT_MS = 10_000;
/** After the app exits, how long a late final report may still arrive. */
const FINAL_GRACE_MS = 1500;


function kinds(value: string): FindingKind[] {
  const list = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (list.length === 1 && (list[0] === 'any' || list[0] === 'all')) return [...KINDS];
  for (const k of list) {
    if (!KINDS.includes(k as FindingKind)) throw new InvalidArgumentError(`--fail-on takes a comma list of ${KINDS.join(', ')} (or any), got ${JSON.stringify(k)}`);
  }
  return list as FindingKind[];
}

/** The preload file of this installation. */
function agentEntry(): string {
  return resolve(join(__dirname, '..', '..', 'agent', 'index.js'));
}

function withPreload(nodeOptions: string | undefined, entry: string): string {
  const quoted = /[\s"\\]/.test(entry) ? `"${entry.replace(/(["\\])/g, '\\$1')}"` : entry;
  return `${nodeOptions ? nodeOptions + ' ' : ''}--require ${quoted}`;
}

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the whole process group: the command may have started others
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Runs the command and returns the report; prints nothing. */
export async function collect(argv: string[], options: RunOptions): Promise<RunResult> {
  if (argv.length === 0) throw new InvalidArgumentError('run needs a command after --, for example: leak-agent run -- node app.js');
  const server = new ChannelServer();
  const url = await server.url();
  const env = {
    ...process.env,
    NODE_OPTIONS: withPreload(process.env.NODE_OPTIONS, agentEntry()),
    LEAK_AGENT_CHANNEL: url,
    LEAK_AGENT_TOKEN: server.token,
    LEAK_AGENT_LEVEL: options.level,
    LEAK_AGENT_THRESHOLD_MS: String(options.threshold),
    LEAK_AGENT_STDERR: 'off',
  };
  // Its own process group, so Ctrl-C reaches the CLI first and the report can still be asked for.
  // With --json the app's stdout goes to stderr so that only the report is on stdout.
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['inherit', options.json ? 2 : 'inherit', 'inherit'], detached: true });
  const exited = new Promise<number>((resolveExit, rejectExit) => {
    child.once('error', (err) => rejectExit(new SpawnError(`could not start ${argv[0]}: ${err.message}`, { cause: err, context: { command: argv } })));
    child.once('exit', (code, signal) => resolveExit(code ?? 128 + (signal ? SIGNAL_NUMBERS[signal] ?? 1 : 1)));
  });

  let stopReason: ReportReason | null = null;
  let wake: (reason: ReportReason) => void = () => undefined;
  const stopped = new Promise<ReportReason>((r) => (wake = r));
  const timer = options.timeout ? setTimeout(() => wake('timeout'), options.timeout * 1000) : null;
  const onSigint = (): void => wake('signal');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  try {
    const first = await Promise.race([exited.then(() => null), stopped]);
    let appExitCode: number;
    let reports: Report[];
    if (first === null) {
      appExitCode = await exited;
      reports = await finalReports(server);
    } else {
      stopReason = first;
      // Still running: ask every agent what it holds, then stop the app.
      reports = await server.requestAll(first, REQUEST_TIMEOUT_MS);
      killTree(child, 'SIGTERM');
      const killer = setTimeout(() => killTree(child, 'SIGKILL'), 2000);
      appExitCode = await exited.catch(() => 1);
      clearTimeout(killer);
      if (first === 'timeout') appExitCode = 124;
    }
    const report = mergeReports(reports, stopReason ?? reports[0]?.reason ?? 'exit');
    addThresholdFindings(report, server);
    return { report, appExitCode, timedOut: stopReason === 'timeout', agents: server.agents.length };
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await server.close();
  }
}

/**
 * Findings pushed while the app ran (past the threshold) that the last report no longer shows, for example
 * settled results that were retained for a while: they happened, so they are reported, marked as such.
 */
function addThresholdFindings(report: Report, server: ChannelServer): void {
  const key = (f: Finding): string => `${f.pid ?? 0}|${f.threadId ?? 0}|${f.kind}|${f.site.file}:${f.site.line}:${f.site.column}|${f.resource}`;
  const final = new Set(report.findings.map(key));
  // Pushed again whenever the count grew: keep the latest (largest) of each.
  const latest = new Map<string, Finding>();
  for (const agent of server.agents) {
    for (const pushed of agent.threshold) {
      for (const f of pushed.findings) {
        const tagged: Finding = { ...f, pid: agent.pid, seen: 'while running' };
        const k = key(tagged);
        if (final.has(k)) continue;
        const before = latest.get(k);
        // The same finding pushed again: keep it if it grew, or if it now says what holds it.
        if (before && (before.count > f.count || (before.count === f.count && (before.retainers || !tagged.retainers)))) continue;
        // Retainers come from a snapshot, taken at most once a period: keep the last known path.
        if (before && !tagged.retainers && before.retainers) {
          tagged.retainers = before.retainers;
          tagged.retainedBytes = before.retainedBytes;
          tagged.retainedBytesOf = before.retainedBytesOf ?? before.count;
        }
        latest.set(k, tagged);
      }
    }
  }
  report.findings.push(...latest.values());
}

/** After the app exited: every agent's final report (waiting briefly for stragglers). */
async function finalReports(server: ChannelServer): Promise<Report[]> {
  const deadline = Date.now() + FINAL_GRACE_MS;
  while (Date.now() < deadline && server.agents.some((a) => a.final === null && !a.closed)) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return server.agents.map((a) => a.final).filter((r): r is Report => r !== null);
}

export function runCommand(): Command {
  return new Command('run')
    .description('run a command with the agent preloaded and report its leaks when it exits, hangs past --timeout, or on Ctrl-C')
    .usage('[options] -- <command...>')
    .argument('<command...>', 'the command to run, after --')
    .option('--json', 'print the report as JSON on stdout (the app\'s stdout goes to stderr)', false)
    .option('--out <file>', 'also write the JSON report to this file')
    .option('--threshold <ms>', 'pending work older than this is a finding while the app runs', positiveInt('--threshold'), 30000)
    .option('--timeout <seconds>', 'if the app is still running after this, report what keeps it alive and stop it', positiveSeconds('--timeout'))
    .addOption(new Option('--level <level>', 'detection level').choices(['off', 'sample', 'full']).default('full'))
    .option('--fail-on <kinds>', 'exit with code 3 when findings of these kinds exist (comma list, or any)', kinds, [] as FindingKind[])
    .passThroughOptions()
    .action(async (command: string[], opts: RunOptions) => {
      const result = await collect(command, opts);
      writeReport(result.report, opts);
      if (!opts.json) {
        if (result.agents === 0) process.stdout.write('note: no agent connected: is the command a Node.js program (>= 20)?\n');
        if (result.timedOut) process.stdout.write(`note: still running after --timeout ${opts.timeout} s: stopped it (exit code 124)\n`);
      }
      const failed = opts.failOn.length > 0 && result.report.findings.some((f) => opts.failOn.includes(f.kind));
      process.exitCode = failed ? ExitCode.findings : result.appExitCode;
    });
}
