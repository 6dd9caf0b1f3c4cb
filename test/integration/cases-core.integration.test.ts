/**
 * CASES.md cases 1, 9 and 10 (Node core: promises, timers, servers, workers, child processes) through the
 * real CLI: every `// leak:` line reported with its kind and nothing else; each clean control empty.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, leakAgentRun, assertFindingsMatchMarkers, assertContract } from './harness';
import type { Report } from '../../collector/report-model';

const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'cases', name);
/** "Cannot exit" cases: reported after --timeout 3 (a safety net for the others, which exit by themselves). */
const SAMPLE = ['--level', 'sample', '--timeout', '3'];
/** Plain promises are tracked at `full` only (promise hooks). */
const FULL = ['--level', 'full', '--timeout', '5'];

async function leaky(name: string, args: string[]): Promise<Report> {
  const file = fixture(name);
  const { report } = await leakAgentRun(['node', file], args);
  assertContract(report);
  assertFindingsMatchMarkers(report, [file]);
  return report;
}

async function clean(name: string, args: string[]): Promise<void> {
  const { report, ran } = await leakAgentRun(['node', fixture(name)], args);
  assertContract(report);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line}`), []);
  assert.equal(ran.code, 0, ran.stderr);
}

test('case 1 Promise.race against a never-settling promise: growth at the race line, held by the never-settling promise', async () => {
  const file = fixture('promise-race-never.js');
  const report = await leaky('promise-race-never.js', FULL);
  assert.equal(report.reason, 'quiet');
  const growth = report.findings.find((f) => f.kind === 'growth');
  assert.ok(growth);
  // One reaction per race: counted exactly, unless they came faster than the lookup cap (promises.ts), where
  // the count is a sampled estimate and says so.
  const estimated = /^about /.test(growth.summary);
  if (estimated) assert.ok(Math.abs(growth.count - 2000) <= 400, `estimate ${growth.count} for 2000 reactions`);
  else assert.equal(growth.count, 2000, 'one reaction per race');
  assert.deepEqual(growth.related.map((r) => [r.role, r.site.file, r.site.line, r.count]), [['held-by', file, 4, 1]]);
  const never = report.findings.find((f) => f.kind === 'unsettled');
  assert.match(never?.summary ?? '', new RegExp(`, ${estimated ? 'about ' : ''}${growth.count} reactions attached`));
});
test('case 1 fixed (the raced promise settles): empty', () => clean('promise-race-never-fixed.js', FULL));

test('case 9 jest detect-open-handles: server listen, 30 s timeout, timer started in done-callback style keep the process alive', async () => {
  const report = await leaky('jest-open-handles.js', SAMPLE);
  assert.equal(report.reason, 'timeout');
  for (const f of report.findings) assert.equal(f.keepsProcessAlive, true, `${f.resource} keeps the process alive`);
  assert.deepEqual(report.findings.map((f) => f.resource).sort(), ['interval', 'server', 'timer']);
});
test('case 9 fixed (closed, cleared): empty', () => clean('jest-open-handles-fixed.js', SAMPLE));

test('case 9: a never-settling promise is unsettled, not blocking; unref\'d timers and worker, detached child, closed server are not reported', async () => {
  const { report, ran } = await leakAgentRun(['node', fixture('jest-not-open-handles.js')], FULL);
  assertContract(report);
  assertFindingsMatchMarkers(report, [fixture('jest-not-open-handles.js')]);
  assert.equal(report.reason, 'quiet', 'the process exits by itself');
  assert.equal(ran.code, 0);
  assert.deepEqual(report.findings.filter((f) => f.keepsProcessAlive), []);
  assert.deepEqual(report.notices.filter((n) => /did not answer/.test(n)), [], 'the unref\'d worker answered');
});

test('case 10 why-is-node-running example: 2 intervals and 2 TCP servers at their lines, nothing of the tool', async () => {
  const report = await leaky('why-is-node-running-example.mjs', SAMPLE);
  assert.deepEqual(report.findings.map((f) => [f.resource, f.count, f.keepsProcessAlive]).sort(), [['interval', 2, true], ['server', 2, true]]);
});
test('case 10 fixed (closed after logging): empty', () => clean('why-is-node-running-example-fixed.mjs', SAMPLE));

test('case 2 workerpool never terminated: the pool keeps the process alive, at its creation line', async () => {
  const report = await leaky('workerpool-never-terminated.js', SAMPLE);
  const pool = report.findings[0];
  assert.equal(pool.resource, 'pool');
  assert.equal(pool.library, 'workerpool');
  assert.equal(pool.keepsProcessAlive, true);
  assert.equal(report.reason, 'timeout');
});

test('case 2 clean control: the same on piscina (idle workers unref\'d) exits by itself, empty', () => clean('workerpool-never-terminated-piscina.js', SAMPLE));
