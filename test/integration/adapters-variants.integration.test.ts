/**
 * The same mechanism in other situations: CJS pool libraries imported from ESM, and libraries loaded
 * before the agent (found in require.cache). Leaky programs at their exact lines; the correct twin empty.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, AGENT, leakAgentRun, assertFindingsMatchMarkers, assertContract, runProcess, cleanEnv, assertRunFindsMarkers, assertRunIsClean } from './harness';
import type { Report } from '../../collector/report-model';

const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'adapters', name);
const ARGS = ['--level', 'sample', '--timeout', '4', '--threshold', '300'];

test('workerpool and generic-pool imported from an ES module: reported at the user lines', async () => {
  const file = fixture('esm-pools.mjs');
  const { report } = await leakAgentRun(['node', file], ARGS);
  assertContract(report);
  assertFindingsMatchMarkers(report, [file]);
  assert.ok(report.findings.some((f) => f.resource === 'pool' && f.keepsProcessAlive));
});

test('the same used correctly from an ES module: empty', async () => {
  const { report, ran } = await leakAgentRun(['node', fixture('esm-pools-ok.mjs')], ARGS);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.site.file}:${f.site.line}`), []);
  assert.equal(ran.code, 0, ran.stderr);
});

test('libraries loaded before the agent (require.cache) are still adapted', async () => {
  const file = fixture('loaded-before.js');
  const out = join(mkdtempSync(join(tmpdir(), 'leak-agent-')), 'r.json');
  const ran = await runProcess(process.execPath, ['--require', fixture('load-libraries.js'), '--require', AGENT, file], {
    env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample', LEAK_AGENT_OUT: out, LEAK_AGENT_STDERR: 'off' }),
  });
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal(ran.stdout, 'done\n');
  const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
  assertFindingsMatchMarkers(report, [file]);
});

test('a pool resource made inside an observed acquisition keeps the real global Promise (pg-pool connect(cb))', async () => {
  // At `full` every acquisition is observed; pool.query() calls connect(cb), inside which pg-pool makes
  // its clients, and a client keeps the Promise constructor it finds.
  const ran = await runProcess(process.execPath, ['--require', AGENT, fixture('pg-pool-client-promise.js')], {
    env: cleanEnv({ LEAK_AGENT_LEVEL: 'full', LEAK_AGENT_STDERR: 'off' }),
  });
  assert.equal(ran.code, 0, ran.stderr);
  const m = /^(\d+) of (\d+) clients hold the real Promise\n$/.exec(ran.stdout);
  assert.ok(m, ran.stdout);
  assert.ok(Number(m[2]) >= 3, ran.stdout);
  assert.equal(m[1], m[2], ran.stdout);
});

test('a tarn resource made inside a sampled acquire() keeps the real global Promise', async () => {
  const ran = await runProcess(process.execPath, ['--require', AGENT, fixture('tarn-create-promise.js')], {
    env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample', LEAK_AGENT_STDERR: 'off' }),
  });
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal(ran.stdout, '3 of 3 resources saw the real Promise\n');
});

test('generic-pool: acquisitions awaited together, all but one released at once: the one kept is reported at its line', async () => {
  const report = await assertRunFindsMarkers(fixture('generic-pool-batch.js'), ARGS);
  assert.equal(report.findings[0].count, 1);
});

test('generic-pool: the same batch all released: empty', async () => {
  await assertRunIsClean(fixture('generic-pool-batch-fixed.js'), ARGS);
});

test('generic-pool: one acquisition kept among fifty pool.use() calls: reported at its line, the uses not', async () => {
  const report = await assertRunFindsMarkers(fixture('generic-pool-use.js'), ARGS);
  assert.equal(report.findings[0].count, 1);
});

test('generic-pool: fifty pool.use() calls on four resources: empty', async () => {
  await assertRunIsClean(fixture('generic-pool-use-fixed.js'), ARGS);
});

test('p-limit: thirty tasks awaited together, results dropped: empty (one held by the queue\'s tail is no leak)', async () => {
  await assertRunIsClean(fixture('p-limit-batch-fixed.mjs'), ARGS);
});
