/**
 * ES module programs and the ESM-only pools: where Node can require() ES modules, the agent scans the
 * program's imports, loads and patches the known packages it finds in the preload, and starts no
 * loader-hooks thread (about 40 ms of CPU per thread); what the scan cannot follow falls back to the hooks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, AGENT, leakAgentRun, assertFindingsMatchMarkers, assertContract, runProcess, cleanEnv } from './harness';

const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'esm', name);
const ARGS = ['--level', 'sample', '--timeout', '3', '--threshold', '300'];
const requireLoadsEsm = (process.features as { require_module?: boolean }).require_module === true;
const noThreadCount = !existsSync('/proc/self/status')
  ? 'no /proc/self/status to count threads with'
  : !requireLoadsEsm
    ? `this Node (${process.version}) cannot require() ES modules: the agent uses its loader hooks thread`
    : false;

/** The `threads=N` line a fixture prints, run with the preload at `level`. */
async function threadsAt(name: string, level: string): Promise<number> {
  const ran = await runProcess(process.execPath, ['--require', AGENT, fixture(name)], { env: cleanEnv({ LEAK_AGENT_LEVEL: level }) });
  const m = /threads=(\d+)/.exec(ran.stdout);
  assert.ok(m, `no thread count in: ${ran.stdout}\n${ran.stderr}`);
  return Number(m[1]);
}

async function leaky(name: string, files: string[]): Promise<void> {
  const { report } = await leakAgentRun(['node', fixture(name)], ARGS);
  assertContract(report);
  assertFindingsMatchMarkers(report, files.map(fixture));
}

async function clean(name: string): Promise<void> {
  const { report, ran } = await leakAgentRun(['node', fixture(name)], ARGS);
  assertContract(report);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line}`), []);
  assert.equal(ran.code, 0, ran.stderr);
}

test('p-queue behind a relative import of an ES module: reported at the add() line', () => leaky('threads.mjs', ['threads.mjs', 'uses-queue.mjs']));
test('the same with a job that settles: empty', () => clean('threads-fixed.mjs'));
test('p-queue through a computed import() (hooks fallback): reported at the add() line', () => leaky('computed-import.mjs', ['computed-import.mjs']));
test('the same with a job that settles: empty', () => clean('computed-import-fixed.mjs'));

test('an ES module program using p-queue gets it patched without a loader-hooks thread', { skip: noThreadCount }, async () => {
  assert.equal(await threadsAt('threads.mjs', 'sample'), await threadsAt('threads.mjs', 'off'));
});

test('an ES module program importing no pool library: no loader-hooks thread', { skip: existsSync('/proc/self/status') ? false : 'no /proc/self/status' }, async () => {
  assert.equal(await threadsAt('no-pool.mjs', 'sample'), await threadsAt('no-pool.mjs', 'off'));
});

test('p-queue in an ES module worker thread (its file known only after the preload): both jobs, at their lines', async () => {
  const { report } = await leakAgentRun(['node', fixture('main-worker-queue.js')], ARGS);
  assertContract(report);
  assertFindingsMatchMarkers(report, [fixture('worker-queue.mjs')]);
  for (const f of report.findings) assert.ok(f.threadId > 0, `${f.resource} is the worker's`);
});

test('the same worker with jobs that settle: empty', async () => {
  const { report, ran } = await leakAgentRun(['node', fixture('main-worker-queue.js'), 'worker-queue-fixed.mjs'], ARGS);
  assertContract(report);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line}`), []);
  assert.equal(ran.code, 0, ran.stderr);
});
