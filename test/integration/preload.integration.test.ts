/**
 * The preload inside other people's processes: same stdout and exit code with and without it; bad
 * LEAK_AGENT_* values are named on stderr and change nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, AGENT, runProcess, cleanEnv } from './harness';

const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'preload', name);

async function compare(file: string, level: string): Promise<{ plain: Awaited<ReturnType<typeof runProcess>>; agent: Awaited<ReturnType<typeof runProcess>> }> {
  const plain = await runProcess(process.execPath, [file], { env: cleanEnv() });
  const agent = await runProcess(process.execPath, ['--require', AGENT, file], { env: cleanEnv({ LEAK_AGENT_LEVEL: level }) });
  return { plain, agent };
}

for (const level of ['sample', 'full']) {
  for (const name of ['exit-code.js', 'explicit-exit.js', 'this-and-results.js']) {
    test(`${name} at ${level}: stdout and exit code unchanged by the preload`, async () => {
      const { plain, agent } = await compare(fixture(name), level);
      assert.equal(agent.stdout, plain.stdout);
      assert.equal(agent.code, plain.code);
      assert.doesNotMatch(agent.stderr, /Waiting for the debugger/);
    });
  }

  test(`unhandled task rejection still crashes the app at ${level}`, async () => {
    const { plain, agent } = await compare(fixture('unhandled-rejection.js'), level);
    assert.equal(plain.code, 1, 'baseline: Node crashes on the unhandled rejection');
    assert.equal(agent.code, plain.code);
    assert.equal(agent.stdout, plain.stdout);
    assert.match(agent.stderr, /TypeError: task 1 failed/);
  });
}

test('process.exitCode is preserved and the expected values are printed', async () => {
  const { agent } = await compare(fixture('exit-code.js'), 'sample');
  assert.equal(agent.code, 3);
  assert.equal(agent.stdout, 'start\ntimer fired\nvalue 42\n');
});

test('malformed LEAK_AGENT_* values: one line each naming the variable, the app runs as usual', async () => {
  const file = fixture('exit-code.js');
  const ran = await runProcess(process.execPath, ['--require', AGENT, file], {
    env: cleanEnv({ LEAK_AGENT_LEVEL: 'loud', LEAK_AGENT_THRESHOLD_MS: '-5', LEAK_AGENT_MAX_HANDLES: '1e9x', LEAK_AGENT_SIGNAL: 'SIGFOO', LEAK_AGENT_STDERR: 'maybe' }),
  });
  assert.equal(ran.code, 3);
  assert.equal(ran.stdout, 'start\ntimer fired\nvalue 42\n');
  const lines = ran.stderr.trim().split('\n');
  for (const name of ['LEAK_AGENT_LEVEL', 'LEAK_AGENT_THRESHOLD_MS', 'LEAK_AGENT_MAX_HANDLES', 'LEAK_AGENT_SIGNAL', 'LEAK_AGENT_STDERR']) {
    assert.equal(lines.filter((l) => l.includes(name)).length, 1, `one line names ${name}:\n${ran.stderr}`);
  }
  assert.equal(lines.length, 5, `nothing else on stderr:\n${ran.stderr}`);
});

test('sample: timers pending from one line are still tracked after thousands set and cleared (sampled, not dropped)', async () => {
  const code = `
    const api = globalThis[Symbol.for('leak-agent')];
    for (let i = 0; i < 3000; i++) clearTimeout(setTimeout(() => {}, 5000));
    // Past the first 256, the gap between sampled timeouts is drawn at random, at most 2 × 1024 - 1 (well
    // under the rate cap's first adjustment), so 2500 in a row always hold at least one sampled timeout.
    const kept = [];
    for (let i = 0; i < 2500; i++) kept.push(setTimeout(() => {}, 60000));
    const ivs = [];
    for (let i = 0; i < 300; i++) ivs.push(setInterval(() => {}, 60000));
    const t = setTimeout((a, b) => a + b, 2000, 1, 2);
    const pending = (type) => api.read().handles.filter((h) => h.type === type && h.state === 'pending').length;
    console.log(JSON.stringify({ timers: pending('timer'), intervals: pending('interval'), args: t._timerArgs }));
    for (const k of kept) clearTimeout(k);
    for (const k of ivs) clearInterval(k);
    clearTimeout(t);`;
  const ran = await runProcess(process.execPath, ['--require', AGENT, '-e', code], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample', LEAK_AGENT_STDERR: 'off' }) });
  assert.equal(ran.code, 0, ran.stderr);
  const seen = JSON.parse(ran.stdout.trim()) as { timers: number; intervals: number; args: unknown };
  assert.ok(seen.timers >= 1, `some of the 2500 pending timeouts tracked: ${ran.stdout}`);
  assert.ok(seen.intervals >= 256, `the first intervals tracked: ${ran.stdout}`);
  assert.deepEqual(seen.args, [1, 2], 'extra arguments reach the timer');
});

test('standalone preload to stderr: settled tasks held by the module are printed at their line; dropped, nothing is printed', async () => {
  // No LEAK_AGENT_OUT: the preload decides on its own whether a quiet-point report can hold anything
  // (Registry.mayFind). Reading a task's WeakRef there once kept a dropped task alive through the report's
  // full GC: a RETAINED finding for results-dropped.mjs.
  const env = cleanEnv({ LEAK_AGENT_LEVEL: 'sample' });
  const held = await runProcess(process.execPath, ['--require', AGENT, fixture('results-held.mjs')], { env });
  assert.equal(held.code, 0, held.stderr);
  assert.match(held.stderr, /RETAINED +\d+ settled p-limit tasks still reachable after a full GC/);
  assert.match(held.stderr, /submitted at +test\/fixtures\/preload\/results-held\.mjs:5\b/);
  const dropped = await runProcess(process.execPath, ['--require', AGENT, fixture('results-dropped.mjs')], { env });
  assert.equal(dropped.code, 0, dropped.stderr);
  assert.match(dropped.stdout, /sum 89700/);
  assert.equal(dropped.stderr.trim(), '');
});

test('a preload before the agent that loads worker_threads on the main thread (a TypeScript loader\'s module.register() does): the agent still runs there', async () => {
  // The entry took a loaded worker_threads for a worker thread, and then found no parent port: the agent
  // stayed off in the main thread, and said nothing.
  const env = cleanEnv({ LEAK_AGENT_LEVEL: 'sample' });
  const register = join(ROOT, 'dist', 'agent', 'register.js');
  const orders: [string, string[]][] = [
    ['--require', ['--require', fixture('loads-worker-threads.cjs'), '--require', AGENT]],
    ['--import', ['--import', fixture('loads-worker-threads.mjs'), '--import', register]],
    ['a loader registered first', ['--import', fixture('registers-hooks.mjs'), '--import', register]],
  ];
  for (const [how, flags] of orders) {
    const held = await runProcess(process.execPath, [...flags, fixture('results-held.mjs')], { env });
    assert.equal(held.code, 0, `${how}: ${held.stderr}`);
    assert.match(held.stderr, /submitted at +test\/fixtures\/preload\/results-held\.mjs:5\b/, how);
    const dropped = await runProcess(process.execPath, [...flags, fixture('results-dropped.mjs')], { env });
    assert.equal(dropped.code, 0, `${how}: ${dropped.stderr}`);
    assert.match(dropped.stdout, /sum 89700/);
    assert.equal(dropped.stderr.trim(), '', how);
  }
});

test('LEAK_AGENT_LEVEL=off installs nothing and loads nothing but its own one file', async () => {
  // Read before the first console.log, which loads net for a piped stdout.
  const probe = `const loaded = JSON.stringify({
      own: Object.keys(require.cache).filter((k) => k.includes('/dist/')).map((k) => k.slice(k.indexOf('/dist/') + 1)).sort(),
      builtins: process.moduleLoadList.filter((m) => /^NativeModule (worker_threads|os|vm|v8|net|child_process)$/.test(m)),
    });
    console.log(typeof globalThis[Symbol.for('leak-agent')], setTimeout.name, String(setTimeout).includes('native') || String(setTimeout).includes('function setTimeout(callback'));
    console.log(loaded);`;
  const ran = await runProcess(process.execPath, ['--require', AGENT, '-e', probe], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'off' }) });
  assert.equal(ran.code, 0);
  assert.match(ran.stdout, /^undefined setTimeout/);
  const loaded = JSON.parse(ran.stdout.trim().split('\n').pop()!) as { own: string[]; builtins: string[] };
  // The build writes the entry as one file with config.js and probe-cache.js in it (cli/probe-bundle.ts writePreload).
  assert.deepEqual(loaded.own, ['dist/agent/index.js']);
  assert.deepEqual(loaded.builtins, []);
});

test('at sample the probe loads neither node:module nor the ES module loader into a CommonJS app, in its main thread or its worker threads, nor worker_threads until the app does', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'leak-agent-builtins-'));
  try {
    // A file, not -e: Node's -e path loads node:module itself.
    const file = join(dir, 'app.js');
    writeFileSync(
      file,
      `const { Worker } = require('node:worker_threads');
      const main = process.moduleLoadList.slice();
      const w = new Worker("require('node:worker_threads').parentPort.postMessage(process.moduleLoadList.slice())", { eval: true });
      w.once('message', (thread) => console.log(JSON.stringify({ main, thread })));`,
    );
    const run = async (preload: string[]): Promise<{ main: string[]; thread: string[] }> => {
      const ran = await runProcess(process.execPath, [...preload, file], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample', LEAK_AGENT_STDERR: 'off' }) });
      assert.equal(ran.code, 0, ran.stderr);
      return JSON.parse(ran.stdout.trim().split('\n').pop()!) as { main: string[]; thread: string[] };
    };
    const bare = await run([]);
    const agent = await run(['--require', AGENT]);
    const added = (list: string[], without: string[]): string[] => list.filter((m) => !without.includes(m)).sort();
    // An app that starts no thread: not even worker_threads (1.5 ms, the streams) until it loads it.
    writeFileSync(file, `const main = process.moduleLoadList.slice(); console.log(JSON.stringify({ main, thread: [] }));`);
    assert.deepEqual(added((await run(['--require', AGENT])).main, (await run([])).main), ['NativeModule vm']);
    // vm: the probe's code cache. Nothing else in a thread; in the main thread also what a main thread gets from worker_threads.
    assert.deepEqual(added(agent.thread, bare.thread), ['NativeModule vm']);
    for (const m of ['NativeModule module', 'NativeModule internal/modules/esm/loader', 'NativeModule internal/source_map/source_map', 'NativeModule util/types']) {
      assert.ok(!agent.main.includes(m) || bare.main.includes(m), `the main thread does not load ${m}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('standalone preload prints the report on stderr at the quiet point and writes LEAK_AGENT_OUT', async () => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const out = join(mkdtempSync(join(tmpdir(), 'leak-agent-')), 'report.json');
  const file = join(ROOT, 'examples', 'as-completed-map.js');
  // The example's settled tasks are retained only while it runs (see RETAIN in examples.integration.test.ts):
  // a threshold well under its 1.5-2 s run leaves the threshold read over a second of margin.
  const ran = await runProcess(process.execPath, ['--require', AGENT, file], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample', LEAK_AGENT_THRESHOLD_MS: '300', LEAK_AGENT_OUT: out }) });
  assert.equal(ran.code, 0);
  assert.match(ran.stderr, /RETAINED +\d+ settled piscina tasks still reachable after a full GC/);
  assert.match(ran.stderr, /submitted at +examples\/as-completed-map\.js:15 +extractBatch/);
  const report = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(report.version, 1);
  // The analysis worker (started late, standalone) is the agent's, not one of the app's threads.
  assert.deepEqual(report.notices.filter((n: string) => n.includes('worker thread')), []);
  assert.ok(report.findings.every((f: { resource: string }) => f.resource !== 'worker'));
});

test('the preload is one file, and loads the probe from its one-file build (probe-local.js, through the probe-cache.js in it), with real paths for its own frames', async () => {
  const code = `
    const own = Object.keys(require.cache).filter((k) => k.includes('/dist/agent/')).map((k) => k.slice(k.indexOf('/dist/') + 1));
    const api = globalThis[Symbol.for('leak-agent')];
    setTimeout(() => {}, 60000).unref();
    const sites = api.read().sites.filter((s) => s.frame && s.frame.file.includes('/dist/'));
    console.log(JSON.stringify({ own, agentSites: sites.length }));`;
  const ran = await runProcess(process.execPath, ['--require', AGENT, '-e', code], { env: cleanEnv({ LEAK_AGENT_LEVEL: 'sample', LEAK_AGENT_STDERR: 'off' }) });
  assert.equal(ran.code, 0, ran.stderr);
  const seen = JSON.parse(ran.stdout.trim()) as { own: string[]; agentSites: number };
  // probe-local.js is compiled by probe-cache's loader with its code cache (vm.Script), not through require;
  // config.js and probe-cache.js are modules inside the one-file entry.
  assert.deepEqual(seen.own.sort(), ['dist/agent/index.js']);
  assert.equal(seen.agentSites, 0, 'no site is one of the agent\'s own frames');
});
