/**
 * Limiters and listener growth, CJS and ESM, at the production default level (`sample`): leaky programs
 * reported at their exact lines and kinds, correct programs with an empty report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, leakAgentRun, assertFindingsMatchMarkers, assertContract } from './harness';

const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'adapters', name);
const ARGS = ['--level', 'sample', '--timeout', '3', '--threshold', '300'];

async function leaky(name: string): Promise<void> {
  const file = fixture(name);
  const { report } = await leakAgentRun(['node', file], ARGS);
  assertContract(report);
  assertFindingsMatchMarkers(report, [file]);
}

async function clean(name: string): Promise<void> {
  const { report, ran } = await leakAgentRun(['node', fixture(name)], ARGS);
  assertContract(report);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line}`), []);
  assert.equal(ran.code, 0, ran.stderr);
}

test('p-limit (CJS) imported from an ES module: unsettled at the queued limit(fn) lines', () => leaky('p-limit-clear-queue.mjs'));
test('p-limit imported from an ES module, used correctly: empty', () => clean('p-limit-ok.mjs'));
test('p-queue (ESM only, through the loader hook): the stuck job and the cleared job', () => leaky('p-queue-clear.mjs'));
test('p-queue used correctly: empty', () => clean('p-queue-ok.mjs'));
test('p-queue through a dynamic import() from CommonJS (loader hooks started as that file compiles): both jobs', () => leaky('p-queue-dynamic-import.cjs'));
test('p-limit: a started task that never settles is reported; rejected, thrown and plain ones are not', () => leaky('p-limit-outcomes.js'));
test('p-limit tasks that all settle: empty', () => clean('p-limit-outcomes-fixed.js'));
test('EventEmitter: listener growth at the on() line', () => leaky('emitter-growth.js'));
test('EventEmitter with listeners removed: empty', () => clean('emitter-ok.js'));
