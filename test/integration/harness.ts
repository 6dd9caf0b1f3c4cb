/**
 * Shared helpers for integration tests: run the real CLI (and so the real preload) on a program, read the
 * `// leak: <kind>` markers of a program, and compare a report with them.
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import type { Finding, Report } from '../../collector/report-model';

/** The repository root (dist/test/integration -> ../../..). */
export const ROOT = resolve(__dirname, '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'index.js');
export const AGENT = join(ROOT, 'dist', 'agent', 'index.js');

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a process to completion (killing it after `killAfterMs`, a safety net, not an assertion). */
export function runProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; killAfterMs?: number } = {}): Promise<Ran> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

/** Environment without any LEAK_AGENT_* or NODE_OPTIONS inherited from the test runner. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('LEAK_AGENT_') || k === 'NODE_OPTIONS' || k.startsWith('NODE_TEST')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** `leak-agent run --json --out <tmp> [args] -- <command>`; returns the parsed report and the run. */
export async function leakAgentRun(command: string[], args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ report: Report; ran: Ran; out: Report }> {
  const dir = mkdtempSync(join(tmpdir(), 'leak-agent-test-'));
  const outFile = join(dir, 'r.json');
  try {
    const ran = await runProcess(process.execPath, [CLI, 'run', '--json', '--out', outFile, ...args, '--', ...command], { env: cleanEnv(env) });
    let report: Report;
    try {
      report = JSON.parse(ran.stdout) as Report;
    } catch {
      throw new Error(`run --json printed no JSON report (exit ${ran.code}):\nstdout: ${ran.stdout}\nstderr: ${ran.stderr}`);
    }
    const out = JSON.parse(readFileSync(outFile, 'utf8')) as Report;
    return { report, ran, out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A `// leak: <kind>` marker: the line the report must name, and the kind. */
export interface LeakMarker {
  file: string;
  line: number;
  kind: string;
}

/** Reads the `// leak: <kind>` markers of a source file (1-based lines). */
export function leakMarkers(file: string): LeakMarker[] {
  const markers: LeakMarker[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const m = /\/\/ leak: ([a-z]+)/.exec(text);
      if (m) markers.push({ file, line: i + 1, kind: m[1] });
    });
  return markers;
}

function describe(f: Finding): string {
  return `${f.kind} ${f.resource} at ${f.site.file}:${f.site.line}`;
}

/**
 * Every marker is reported with its kind at its exact line, and nothing else is reported (with
 * `onlyFiles`, findings outside `files` are ignored: a library's own leak, say).
 */
export function assertFindingsMatchMarkers(report: Report, files: string[], options: { onlyFiles?: boolean } = {}): void {
  const markers = files.flatMap((f) => leakMarkers(f));
  assert.ok(markers.length > 0, `no // leak: markers in ${files.join(', ')}`);
  for (const m of markers) {
    const hit = report.findings.find((f) => f.kind === m.kind && f.site.file === m.file && f.site.line === m.line);
    assert.ok(hit, `expected ${m.kind} at ${m.file}:${m.line}; report has:\n${report.findings.map(describe).join('\n') || '(no findings)'}`);
  }
  const scope = options.onlyFiles ? report.findings.filter((f) => files.includes(f.site.file)) : report.findings;
  const unexpected = scope.filter((f) => !markers.some((m) => m.kind === f.kind && m.file === f.site.file && m.line === f.site.line));
  assert.deepEqual(unexpected.map(describe), [], 'findings that no // leak: marker names');
}

/** Asserts the contract fields of the JSON report. */
export function assertContract(report: Report): void {
  assert.equal(report.version, 1);
  assert.ok(Array.isArray(report.findings));
  for (const f of report.findings) {
    assert.ok(['unsettled', 'unreleased', 'retained', 'growth'].includes(f.kind), `kind ${f.kind}`);
    assert.equal(typeof f.site.file, 'string');
    assert.ok(f.site.file.startsWith('/'), `site.file is absolute: ${f.site.file}`);
    assert.ok(Number.isInteger(f.site.line) && f.site.line >= 1, `line is 1-based: ${f.site.line}`);
    assert.ok(Number.isInteger(f.site.column) && f.site.column >= 1, `column is 1-based: ${f.site.column}`);
    assert.ok(f.site.function === null || typeof f.site.function === 'string');
    assert.ok(Number.isInteger(f.count) && f.count >= 1);
    assert.equal(typeof f.keepsProcessAlive, 'boolean');
    assert.ok(Array.isArray(f.stack));
  }
}

/**
 * `leak-agent run` on `node <file>` with `args`: the program exits 0, the report keeps its contract, and
 * its findings are exactly the file's `// leak:` markers. Returns the report for further checks.
 */
export async function assertRunFindsMarkers(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Report> {
  const { report, ran } = await leakAgentRun(['node', file], args, env);
  assertContract(report);
  assert.equal(ran.code, 0, ran.stderr);
  assertFindingsMatchMarkers(report, [file]);
  return report;
}

/** `leak-agent run` on `node <file>` with `args`: the program exits 0 and the report is empty. */
export async function assertRunIsClean(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Report> {
  const { report, ran } = await leakAgentRun(['node', file], args, env);
  assertContract(report);
  assert.equal(ran.code, 0, ran.stderr);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line}`), []);
  return report;
}
