/**
 * The `full` level under promise churn: stacks are sampled above a rate cap and the settled hook is off
 * meanwhile (promises.ts). Neither may cost a finding or invent one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { leakAgentRun, assertContract, assertFindingsMatchMarkers, ROOT } from './harness';

const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'levels', name);
const FULL = ['--level', 'full', '--timeout', '20'];

test('full under churn: a pending promise made before it is still reported at its line; the notice says stacks were sampled', async () => {
  const file = fixture('promise-churn.js');
  const { report, ran } = await leakAgentRun(['node', file], FULL);
  assertContract(report);
  assert.equal(ran.code, 0, ran.stderr);
  assertFindingsMatchMarkers(report, [file]);
  const notice = report.notices.find((n) => /promises were given a stack/.test(n));
  assert.ok(notice, `notices: ${report.notices.join(' | ')}`);
  const [given, seen] = /(\d+) of (\d+) promises/.exec(notice)!.slice(1).map(Number);
  assert.ok(seen >= 400_000 && given < seen / 4, `${given} of ${seen}`);
});

test('full under churn, fixed: empty (promises settled while the settled hook was off are not taken for abandoned)', async () => {
  const { report, ran } = await leakAgentRun(['node', fixture('promise-churn-fixed.js')], FULL);
  assertContract(report);
  assert.equal(ran.code, 0, ran.stderr);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line}`), []);
});

const adapterFixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'adapters', name);
const SAMPLE = ['--level', 'sample', '--timeout', '60'];

test('sample: a busy pool leaking one acquisition in a thousand is reported at the leaking line (the rising in-use floor lifts the sampling)', async () => {
  const file = adapterFixture('generic-pool-steady-leak.js');
  const { report, ran } = await leakAgentRun(['node', file], SAMPLE);
  assertContract(report);
  assert.equal(ran.code, 0, ran.stderr);
  assertFindingsMatchMarkers(report, [file]);
});

test('sample: the same pool releasing everything: empty', async () => {
  const { report, ran } = await leakAgentRun(['node', adapterFixture('generic-pool-steady-leak-fixed.js')], SAMPLE);
  assertContract(report);
  assert.equal(ran.code, 0, ran.stderr);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line}`), []);
});

// A sampled generic-pool acquisition is resolved lazily (one microtask after it is seen fulfilled), and
// process.exit() right after a release leaves no microtask to run: the exit report must still not name the
// released resource (the pool lends no more than the resources known held).
test('sample: acquire, release, process.exit() at once: only the resource still held is reported', async () => {
  const file = adapterFixture('generic-pool-release-exit.js');
  const { report } = await leakAgentRun(['node', file], ['--level', 'sample', '--timeout', '10', '--threshold', '300']);
  assertContract(report);
  assert.equal(report.reason, 'exit');
  assertFindingsMatchMarkers(report, [file]);
});

test('sample: both released before process.exit(): empty', async () => {
  const { report, ran } = await leakAgentRun(['node', adapterFixture('generic-pool-release-exit-fixed.js')], ['--level', 'sample', '--timeout', '10', '--threshold', '300']);
  assertContract(report);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line}`), []);
  assert.equal(ran.code, 0);
});
