/** The CLI's errors: stable codes and exit codes, nothing thrown raw. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runProcess, cleanEnv, leakAgentRun, ROOT } from './harness';

const cli = (args: string[]) => runProcess(process.execPath, [CLI, ...args], { env: cleanEnv() });

test('run without a command: usage error 64 with a code', async () => {
  const r = await cli(['run', '--json']);
  assert.equal(r.code, 64);
});

test('run with a bad --threshold names the option', async () => {
  const r = await cli(['run', '--threshold', 'soon', '--', 'node', '-e', '0']);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /--threshold must be a positive integer, got "soon" \[LEAK_AGENT_INVALID_ARGUMENT\]/);
});

test('run with a bad --fail-on names the kinds', async () => {
  const r = await cli(['run', '--fail-on', 'leaks', '--', 'node', '-e', '0']);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /--fail-on takes a comma list of unsettled, unreleased, retained, growth/);
});

test('run of a command that does not exist: 69 LEAK_AGENT_SPAWN_FAILED', async () => {
  const r = await cli(['run', '--', 'no-such-command-leak-agent']);
  assert.equal(r.code, 69);
  assert.match(r.stderr, /LEAK_AGENT_SPAWN_FAILED/);
});

test('run passes the app exit code through; --fail-on turns findings into exit 3', async () => {
  const code = await cli(['run', '--', 'node', '-e', 'process.exitCode = 7']);
  assert.equal(code.code, 7);
  assert.match(code.stdout, /leak-agent: no findings/);
  const leaky = await runProcess(process.execPath, [CLI, 'run', '--fail-on', 'unsettled', '--', 'node', '-e', 'new Promise(() => {})'], { env: cleanEnv() });
  assert.equal(leaky.code, 3);
  assert.match(leaky.stdout, /UNSETTLED +1 promise collected while pending/);
  assert.match(leaky.stdout, /\[eval\]:1/);
});

test('report: missing file 66, not a report 66, a saved report renders', async () => {
  const missing = await cli(['report', '/nonexistent/r.json']);
  assert.equal(missing.code, 66);
  assert.match(missing.stderr, /LEAK_AGENT_FILE_NOT_FOUND/);
  const dir = mkdtempSync(join(tmpdir(), 'leak-agent-'));
  writeFileSync(join(dir, 'bad.json'), '{"hello": 1}');
  const bad = await cli(['report', join(dir, 'bad.json'), '--json']);
  assert.equal(bad.code, 66);
  assert.deepEqual(JSON.parse(bad.stdout).error.code, 'LEAK_AGENT_INVALID_INPUT');
  const { out } = await leakAgentRun(['node', join(ROOT, 'examples', 'nested-pool-exit.js')], ['--timeout', '5', '--threshold', '1000']);
  writeFileSync(join(dir, 'r.json'), JSON.stringify(out));
  const text = await cli(['report', join(dir, 'r.json')]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /UNRELEASED +1 workerpool pool never ended, 1 live thread keeps the process alive; the pool object is unreachable/);
  assert.match(text.stdout, /created at +examples\/nested-pool-exit\.js:10 +new Foo/);
  assert.match(text.stdout, /tasks +examples\/nested-pool-exit\.js:15 +Foo\.call +3 submitted: 3 rejected/);
  const html = await cli(['report', join(dir, 'r.json'), '--html']);
  assert.equal(html.code, 0);
  assert.match(html.stdout, /^<!doctype html>/);
  assert.match(html.stdout, /<code>examples\/nested-pool-exit\.js:10<\/code> <span class="fn">new Foo<\/span>/);
  assert.doesNotMatch(html.stdout, /<script/);
  const both = await cli(['report', join(dir, 'r.json'), '--html', '--json']);
  assert.equal(both.code, 64);
});

test('run stops an app stuck in a synchronous loop after --timeout and still reports', async () => {
  const { report, ran } = await leakAgentRun(['node', '-e', 'const t = setInterval(() => {}, 1000); setTimeout(() => { for (;;); }, 100)'], ['--timeout', '2']);
  assert.equal(ran.code, 124);
  assert.equal(report.reason, 'timeout');
  const interval = report.findings.find((f) => f.resource === 'interval');
  assert.ok(interval, `the interval is reported: ${JSON.stringify(report.findings.map((f) => f.summary))}`);
  assert.equal(interval.site.line, 1);
  assert.equal(interval.keepsProcessAlive, true);
});
