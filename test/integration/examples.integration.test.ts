/**
 * The seed examples through the real CLI: every `// leak:` line is reported with its kind and nothing else
 * is; the fixed twins give an empty report; `--json` and `--out` carry the same contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, leakAgentRun, assertFindingsMatchMarkers, assertContract } from './harness';

const example = (name: string): string => join(ROOT, 'examples', name);
const ARGS = ['--timeout', '8', '--threshold', '1000'];
/** For programs that end by themselves the timeout is only a safety net (the machine may be loaded). */
const SAFE = ['--timeout', '60', '--threshold', '1000'];
/**
 * as-completed-map's Map is garbage once its main() returns (nothing refers to the module's scope then), so
 * its settled tasks are found retained only while it runs, by a threshold read: that needs a task settled
 * for longer than the threshold well before the program's 1.5-2 s end. With 1000 ms the margin was about
 * half a second, and a loaded CI run once got no read in time (empty report). 300 ms leaves over a second.
 */
const RETAIN = ['--timeout', '60', '--threshold', '300'];

test('nested-pool-exit: the pool creation line, keeping the process alive, with its failed tasks', async () => {
  const file = example('nested-pool-exit.js');
  const { report, ran, out } = await leakAgentRun(['node', file], ARGS);
  assertContract(report);
  assert.deepEqual(out, report, '--out writes the report printed by --json');
  assertFindingsMatchMarkers(report, [file]);
  const pool = report.findings[0];
  assert.equal(pool.kind, 'unreleased');
  assert.equal(pool.resource, 'pool');
  assert.equal(pool.library, 'workerpool');
  assert.equal(pool.keepsProcessAlive, true);
  assert.equal(pool.site.function, 'new Foo');
  assert.match(pool.summary, /the pool object is unreachable/);
  assert.equal(report.reason, 'timeout');
  assert.equal(ran.code, 124, 'an app stopped after --timeout exits 124');
  // The tasks submitted to it: three, all rejected, at the exec line of Foo.call.
  const tasks = pool.related.find((r) => r.role === 'tasks');
  assert.ok(tasks, 'the pool finding lists its tasks');
  assert.equal(tasks.site.line, 15);
  assert.equal(tasks.site.function, 'Foo.call');
  assert.equal(tasks.count, 3);
  assert.equal(tasks.states.rejected, 3);
  // The app's own stdout went to stderr, so stdout held only the report.
  assert.match(ran.stderr, /done \[ null, null, null \]/);
});

test('nested-pool-exit-fixed: terminated pool, empty report, app exit code', async () => {
  const { report, ran } = await leakAgentRun(['node', example('nested-pool-exit-fixed.js')], SAFE);
  assertContract(report);
  assert.deepEqual(report.findings, []);
  assert.equal(ran.code, 0);
  assert.equal(report.reason, 'quiet');
});

test('as-completed-map: settled tasks retained by the Map, reported at the submit line', async () => {
  const file = example('as-completed-map.js');
  const { report, ran } = await leakAgentRun(['node', file], RETAIN);
  assertContract(report);
  assertFindingsMatchMarkers(report, [file]);
  const retained = report.findings[0];
  assert.equal(retained.kind, 'retained');
  assert.equal(retained.library, 'piscina');
  assert.equal(retained.site.function, 'extractBatch');
  assert.ok(retained.count >= 10, `many settled tasks retained, got ${retained.count}`);
  // What holds them: the Map `inFlight` declared at line 10, each task being a key of it.
  assert.ok(retained.retainers, 'retainers named from a heap snapshot');
  const holder = retained.retainers.find((s) => s.name.startsWith('variable inFlight'));
  assert.ok(holder, `held by the variable inFlight: ${retained.retainers.map((s) => s.name).join(' <- ')}`);
  assert.equal(holder.site?.file, file);
  assert.equal(holder.site?.line, 10);
  assert.match(retained.retainers[retained.retainers.length - 2].name, /^Map entry/);
  assert.ok((retained.retainedBytes ?? 0) > 64 * 1024 * 10, 'the result buffers are counted as retained');
  assert.equal(ran.code, 0);
});

test('as-completed-map-fixed: entries deleted, empty report', async () => {
  const { report, ran } = await leakAgentRun(['node', example('as-completed-map-fixed.js')], RETAIN);
  assertContract(report);
  assert.deepEqual(report.findings, []);
  assert.equal(ran.code, 0);
});

test('pending-reply-map: promises never settled, held by the pending Map of the client, at their lines', async () => {
  const file = example('pending-reply-map.js');
  const { report } = await leakAgentRun(['node', file], SAFE);
  assertContract(report);
  assertFindingsMatchMarkers(report, [file]);
  const call = report.findings.find((f) => f.site.line === 23);
  assert.ok(call?.retainers, 'retainers of the never-settled promise');
  const names = call.retainers.map((s) => s.name);
  assert.ok(names.some((n) => n.startsWith('variable client (module scope')), names.join(' <- '));
  assert.ok(names.some((n) => n.startsWith('property pending of RpcClient')), names.join(' <- '));
  assert.ok(names.some((n) => n.startsWith('Map entry')), names.join(' <- '));
  assert.equal(call.count, 10);
});

test('pending-reply-map-fixed: timed-out calls remove their entry, empty report', async () => {
  const { report } = await leakAgentRun(['node', example('pending-reply-map-fixed.js')], SAFE);
  assert.deepEqual(report.findings, []);
});

test('a live target names the exact await line of a suspended async function ([[GeneratorLocation]])', async () => {
  const file = join(ROOT, 'test', 'fixtures', 'await-line', 'stuck-service.js');
  const { report } = await leakAgentRun(['node', file], ['--timeout', '3', '--threshold', '500']);
  const stuck = report.findings.find((f) => f.kind === 'unsettled' && f.site.line === 6);
  assert.ok(stuck, `the never-settled promise of ask() at line 6: ${report.findings.map((f) => `${f.kind}:${f.site.line}`).join(', ')}`);
  const steps = report.findings.flatMap((f) => f.retainers ?? []);
  const suspended = steps.find((s) => s.name.includes('suspended at await'));
  assert.ok(suspended, `a step names the await: ${steps.map((s) => s.name).join(' | ')}`);
  assert.equal(suspended.site?.file, file);
  assert.equal(suspended.site?.line, 11, 'the line of `await ask(id)`, not the declaration (9)');
});
