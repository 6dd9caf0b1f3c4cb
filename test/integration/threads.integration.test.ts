/**
 * Worker threads (issue 3 item 4): the preload's probe inside the app's worker threads, merged into the
 * main thread's report with each finding's `threadId`: live threads answer when the report is made, a
 * thread that ended on its own left its final state. At the production default level (`sample`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ROOT, AGENT, leakAgentRun, assertFindingsMatchMarkers, assertContract, runProcess, cleanEnv } from './harness';
import type { Report } from '../../collector/report-model';

const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'threads', name);
const ARGS = ['--level', 'sample', '--timeout', '3', '--threshold', '300'];

/** The worker's threadId as the fixture printed it (with --json the app's stdout goes to stderr). */
function printedThreadId(output: string): number {
  const m = /worker threadId (\d+)/.exec(output);
  assert.ok(m, `the fixture printed its worker's threadId:\n${output}`);
  return Number(m[1]);
}

function inFile(report: Report, file: string): Report['findings'] {
  return report.findings.filter((f) => f.site.file === file);
}

test('leaks inside a live worker thread: exact lines in the worker file, with its threadId', async () => {
  const main = fixture('main-leaky.js');
  const worker = fixture('worker-leaky.js');
  const { report, ran } = await leakAgentRun(['node', main], ARGS);
  assertContract(report);
  assert.equal(report.reason, 'timeout');
  assertFindingsMatchMarkers(report, [main, worker], { onlyFiles: true });
  const threadId = printedThreadId(ran.stderr);
  assert.ok(threadId > 0);
  for (const f of inFile(report, worker)) assert.equal(f.threadId, threadId, `${f.kind} ${f.resource} is the worker's`);
  for (const f of inFile(report, main)) assert.equal(f.threadId, 0);
  const interval = inFile(report, worker).find((f) => f.resource === 'interval');
  assert.equal(interval?.keepsProcessAlive, true);
  const task = inFile(report, worker).find((f) => f.resource === 'task');
  assert.equal(task?.library, 'piscina');
});

test('a worker that ends on its own: its final state is in the report at the main thread\'s quiet point', async () => {
  const worker = fixture('worker-ended.js');
  const { report, ran } = await leakAgentRun(['node', fixture('main-ended.js')], ARGS);
  assertContract(report);
  assert.equal(report.reason, 'quiet');
  assertFindingsMatchMarkers(report, [worker]);
  assert.equal(report.findings[0].threadId, printedThreadId(ran.stderr));
  assert.equal(ran.code, 0);
});

test('a clean worker (settled task, cleared interval, pool destroyed): empty report', async () => {
  const { report, ran } = await leakAgentRun(['node', fixture('main-clean.js')], ARGS);
  assertContract(report);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line} thread ${f.threadId}`), []);
  assert.equal(ran.code, 0);
  assert.match(ran.stderr, /worker said 42/);
});

test('standalone preload: a worker that ends at once is in the quiet-point report although the main thread has no finding', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'leak-agent-threads-'));
  try {
    const out = join(dir, 'r.json');
    const ran = await runProcess(process.execPath, ['--require', AGENT, fixture('main-ended-fast.js')], {
      env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample', LEAK_AGENT_OUT: out, LEAK_AGENT_STDERR: 'off' }),
    });
    assert.equal(ran.code, 0, ran.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    assertContract(report);
    assert.equal(report.reason, 'quiet');
    assertFindingsMatchMarkers(report, [fixture('worker-ended-fast.js')]);
    for (const f of report.findings) assert.equal(f.threadId, printedThreadId(ran.stdout));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('standalone preload, no report file: a worker that ended leaving work behind is printed at exit, its lines named', async () => {
  // No LEAK_AGENT_OUT and no channel: the analysis worker starts only at the report, for the final state
  // the main thread kept (EarlyStates), and the report goes to stderr.
  const ran = await runProcess(process.execPath, ['--require', AGENT, fixture('main-ended-fast.js')], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample' }) });
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stderr, /worker-ended-fast\.js:7\b/);
  assert.match(ran.stderr, /worker-ended-fast\.js:8\b/);
});

test('standalone preload: a worker that ended leaving work behind is printed at the next threshold poll, while the app still runs', async () => {
  // Threshold 400 ms (a poll every 250 ms); the main thread stays 2.5 s after the worker ended, with no
  // finding of its own.
  const ran = await runProcess(process.execPath, ['--require', AGENT, fixture('main-ended-fast.js'), '2500'], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample', LEAK_AGENT_THRESHOLD_MS: '400' }) });
  assert.equal(ran.code, 0, ran.stderr);
  const [beforeEnd, afterEnd] = ran.stderr.split('main ends');
  assert.ok(afterEnd !== undefined, ran.stderr);
  assert.match(beforeEnd, /worker-ended-fast\.js:7\b/, 'printed by a threshold poll, before the app ended');
  assert.match(beforeEnd, /worker-ended-fast\.js:8\b/);
});

/** The two threadIds main-sequence.js printed. */
function sequence(stdout: string): [number, number] {
  const m = /threads (\d+) (\d+)/.exec(stdout);
  assert.ok(m, `the fixture printed its threadIds:\n${stdout}`);
  return [Number(m[1]), Number(m[2])];
}

test('standalone preload: a clean thread shorter than a poll period starts no analysis worker (no threadId taken), and nothing is printed', async () => {
  const ran = await runProcess(process.execPath, ['--require', AGENT, fixture('main-sequence.js'), '0'], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample' }) });
  assert.equal(ran.code, 0, ran.stderr);
  const [first, second] = sequence(ran.stdout);
  assert.equal(second, first + 1, 'no thread started between the two');
  assert.equal(ran.stderr.trim(), '');
});

test('standalone preload: a probed thread still running at a poll starts the analysis worker (it watches threads for overdue work)', async () => {
  // Threshold 400 ms: a poll every 250 ms, so the first thread (1.5 s) is seen running at least once.
  const ran = await runProcess(process.execPath, ['--require', AGENT, fixture('main-sequence.js'), '1500'], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample', LEAK_AGENT_THRESHOLD_MS: '400' }) });
  assert.equal(ran.code, 0, ran.stderr);
  const [first, second] = sequence(ran.stdout);
  assert.equal(second, first + 2, 'the analysis worker took the threadId between the two');
  assert.equal(ran.stderr.trim(), '');
});

/** For the 40-thread runs: they end on their own in 1-2 s; the cap is only there so a hang cannot last. */
const MANY = ['--level', 'sample', '--timeout', '30', '--threshold', '300'];

/** What main-many.js's threads saw (its last line), or null. */
function threadsSaw(output: string): { ended: number; sawVariable: number; wrongData: number; ranAgent: number; flagWithoutAgent: number } | null {
  const m = /(\d+) threads ended; (\d+) saw LEAK_AGENT_UNPROBED_THREAD; (\d+) got wrong workerData; (\d+) ran the agent; (\d+) saw its flag without it/.exec(output);
  return m ? { ended: Number(m[1]), sawVariable: Number(m[2]), wrongData: Number(m[3]), ranAgent: Number(m[4]), flagWithoutAgent: Number(m[5]) } : null;
}

/** The threads the notice says ran without a probe, and of how many. */
function unprobed(report: Report): { unprobed: number; of: number } | null {
  const m = report.notices.map((n) => /(\d+) of (\d+) worker threads ran without a probe/.exec(n)).find(Boolean);
  return m ? { unprobed: Number(m[1]), of: Number(m[2]) } : null;
}

test('a thread per job at level sample: every thread is either probed (its leak at its line) or counted as unprobed', async () => {
  const worker = fixture('worker-many-leaky.js');
  const { report, ran } = await leakAgentRun(['node', fixture('main-many.js'), worker], MANY);
  assertContract(report);
  assert.equal(report.reason, 'quiet', 'all 40 threads ran and the app ended on its own');
  assertFindingsMatchMarkers(report, [worker]);
  const probed = new Set(report.findings.map((f) => f.threadId));
  assert.equal(probed.size, report.findings.length, 'one finding per probed thread');
  assert.ok(probed.size >= 8, `the first 8 threads of the site are probed (${probed.size})`);
  const counted = unprobed(report);
  assert.ok(counted, `a notice counts the threads without a probe: ${report.notices.join(' | ')}`);
  assert.equal(counted.of, 40);
  assert.ok(counted.unprobed > 0, 'past the first 8, threads are sampled');
  assert.equal(probed.size + counted.unprobed, 40, 'each thread is probed or counted');
  // A thread left without a probe is started without the preload's flag (it came in NODE_OPTIONS here), so the
  // agent never runs there and the app's options (workerData) reach every thread.
  const seen = threadsSaw(ran.stderr);
  assert.deepEqual(seen, { ended: 40, sawVariable: 0, wrongData: 0, ranAgent: probed.size, flagWithoutAgent: 0 });
});

test('a thread per job, fixed twin: empty report, same sampling notice', async () => {
  const { report, ran } = await leakAgentRun(['node', fixture('main-many.js'), fixture('worker-many-clean.js')], MANY);
  assertContract(report);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line} thread ${f.threadId}`), []);
  const counted = unprobed(report);
  assert.equal(counted?.of, 40);
  assert.deepEqual(threadsSaw(ran.stderr), { ended: 40, sawVariable: 0, wrongData: 0, ranAgent: 40 - counted.unprobed, flagWithoutAgent: 0 });
});

test('a thread per job with the preload on the command line: unprobed threads start without its flag, and the agent runs in the sampled ones only', async () => {
  const ran = await runProcess(process.execPath, ['--require', AGENT, fixture('main-many.js'), fixture('worker-many-clean.js')], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample' }) });
  assert.equal(ran.code, 0, ran.stderr);
  const seen = threadsSaw(ran.stdout);
  assert.ok(seen, ran.stdout);
  assert.ok(seen.ranAgent >= 8 && seen.ranAgent < 40, `the first 8 and about 1 in 16 after: ${seen.ranAgent}`);
  assert.deepEqual({ ...seen, ranAgent: 0 }, { ended: 40, sawVariable: 0, wrongData: 0, ranAgent: 0, flagWithoutAgent: 0 });
  assert.equal(ran.stderr.trim(), '', 'a clean app: nothing printed');
});

test('a thread per job at level full: every thread probed, no sampling notice', async () => {
  const worker = fixture('worker-many-leaky.js');
  const { report } = await leakAgentRun(['node', fixture('main-many.js'), worker], ['--level', 'full', ...MANY.slice(2)]);
  assertContract(report);
  assert.equal(new Set(report.findings.filter((f) => f.site.file === worker).map((f) => f.threadId)).size, 40);
  assert.equal(unprobed(report), null);
});

test('a thread per job from an ES module (import { Worker }): the same sampling, so the Worker patch reached the import', async () => {
  const worker = fixture('worker-many-leaky.js');
  const { report } = await leakAgentRun(['node', fixture('main-many.mjs'), worker], MANY);
  assertContract(report);
  assertFindingsMatchMarkers(report, [worker]);
  const counted = unprobed(report);
  assert.equal(counted?.of, 40, `a notice counts the threads: ${report.notices.join(' | ')}`);
  assert.equal(new Set(report.findings.map((f) => f.threadId)).size + counted.unprobed, 40);
});
