/**
 * The net and child_process patches wait until the app loads those builtins (they cost about 2.5 ms to load
 * in every process and worker thread): a program that never loads them does not get them loaded by the
 * agent, and every way a program can load them still gets its servers and children reported at their lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, AGENT, leakAgentRun, assertFindingsMatchMarkers, assertContract, runProcess, cleanEnv } from './harness';

const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'builtins', name);
const ARGS = ['--level', 'sample', '--timeout', '3', '--threshold', '300'];
const requireLoadsEsm = (process.features as { require_module?: boolean }).require_module === true;

async function leaky(name: string, files: string[] = [name]): Promise<void> {
  const { report } = await leakAgentRun(['node', fixture(name)], ARGS);
  assertContract(report);
  assertFindingsMatchMarkers(report, files.map(fixture));
  for (const f of report.findings) assert.equal(f.keepsProcessAlive, true, `${f.resource} keeps the process alive`);
}

async function clean(name: string): Promise<void> {
  const { report, ran } = await leakAgentRun(['node', fixture(name)], ARGS);
  assertContract(report);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.resource} ${f.site.file}:${f.site.line}`), []);
  assert.equal(ran.code, 0, ran.stderr);
}

test('a program that loads neither net nor child_process: the agent loads neither', async () => {
  const ran = await runProcess(process.execPath, ['--require', AGENT, fixture('lazy.js')], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample' }) });
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stdout, /^loaded=none$/m);
});

test('an ES module entry that loads none of them: the agent loads none of net, child_process, worker_threads', async () => {
  const ran = await runProcess(process.execPath, ['--require', AGENT, fixture('lazy.mjs')], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample' }) });
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stdout, /^loaded=none$/m);
});

test('an ES module importing node:child_process: the child is reported at its spawn() line', () => leaky('child-esm.mjs'));
test('the same child waited for: empty', () => clean('child-esm-fixed.mjs'));
test('an ES module that imports node:child_process later, from a timer: the child is reported at its spawn() line', () => leaky('child-esm-late.mjs'));
test('the same late child waited for: empty', () => clean('child-esm-late-fixed.mjs'));
test(
  'CommonJS require() of an ES module that spawns: reported at the spawn() line inside it',
  { skip: requireLoadsEsm ? false : `this Node (${process.version}) cannot require() ES modules` },
  () => leaky('require-esm-child.js', ['spawns.mjs']),
);
test('a server made through node:http only: reported at its listen() line', () => leaky('http-only-server.js'));
test('the same server closed: empty', () => clean('http-only-server-fixed.js'));
