import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadSnapshot, retainerPath, isPromiseNode, type HeapGraph } from '../../collector/snapshot';
import { analyzeSnapshot } from '../../collector/analyze';
import type { RetainerStep } from '../../collector/report-model';

const repo = resolve(__dirname, '..', '..', '..');
const fixture = join(repo, 'test', 'fixtures', 'snapshot', 'leaky.js');
const cli = join(repo, 'dist', 'cli', 'index.js');
const source = readFileSync(fixture, 'utf8').split('\n');
/** 1-based line of the first line containing `text`. */
function lineOf(text: string): number {
  const i = source.findIndex((l) => l.includes(text));
  assert.ok(i >= 0, `fixture has no line with ${text}`);
  return i + 1;
}

const dir = mkdtempSync(join(tmpdir(), 'leak-agent-analyze-'));
const file = join(dir, 'after.heapsnapshot');
const baseline = join(dir, 'before.heapsnapshot');
execFileSync(process.execPath, [fixture, file, baseline], { stdio: 'inherit' });
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

let graphPromise: Promise<HeapGraph> | null = null;
const graph = (): Promise<HeapGraph> => (graphPromise ??= loadSnapshot(file, { progress: false }));

function nodesNamed(g: HeapGraph, name: string, type = 'object'): number[] {
  const out: number[] = [];
  for (let i = 0; i < g.nodeCount; i++) if (g.nodeName(i) === name && g.nodeType(i) === type) out.push(i);
  return out;
}

function find(steps: RetainerStep[], re: RegExp): RetainerStep {
  const s = steps.find((x) => re.test(x.name));
  assert.ok(s, `no step matching ${re} in:\n${steps.map((x) => x.name).join('\n')}`);
  return s;
}

test('settled promises held by the Map inFlight: named with its declaration line', async () => {
  const g = await graph();
  const analysis = analyzeSnapshot(g, null, { top: 20 });
  const group = analysis.promises.groups.find((x) => x.holder.includes('variable inFlight'));
  assert.ok(group, JSON.stringify(analysis.promises.groups.map((x) => x.holder)));
  assert.equal(group.count, 5);
  assert.deepEqual(group.states, { settled: 5 });
  assert.equal(group.holder, `Map entry in variable inFlight (module scope, ${fixture}:${lineOf('const inFlight = new Map()')})`.replace(process.cwd() + '/', ''));
  assert.equal(group.site?.file, fixture);
  assert.equal(group.site?.line, lineOf('const inFlight = new Map()'));
  const entry = find(group.example.retainers, /^Map entry/);
  assert.match(entry.name, /^Map entry \(key <string, 5 chars>\)$/);
  assert.match(analysis.promises.criterion, /cannot tell/);
});

test('a closure variable: cache captured by onMessage, declared in makeHandler', async () => {
  const g = await graph();
  const [cache] = nodesNamed(g, 'HandlerCache').filter((n) => g.references(n).some((e) => e.name === 'entries'));
  assert.ok(cache !== undefined);
  const steps = retainerPath(g, cache);
  const v = find(steps, /^variable cache /);
  assert.equal(v.name, `variable cache (in makeHandler, ${fixture.replace(process.cwd() + '/', '')}:${lineOf('const cache = new HandlerCache()')})`);
  assert.equal(v.site?.line, lineOf('const cache = new HandlerCache()'));
  const c = find(steps, /^closure onMessage/);
  assert.equal(c.site?.line, lineOf('return function onMessage'));
  assert.match(steps[steps.length - 1].name, /^HandlerCache \(class at .*:\d+\)$/);
});

test('a suspended async function: the local future of call, held through the pending Map', async () => {
  const g = await graph();
  // The instance, not Future.prototype (its `id` is a small integer: no edge for it).
  const [future] = nodesNamed(g, 'Future').filter((n) => !g.references(n).some((e) => e.name === 'constructor'));
  assert.ok(future !== undefined);
  const steps = retainerPath(g, future);
  find(steps, /^variable pending \(module scope, .*:\d+\)$/);
  const s = find(steps, /^local or argument of async function call suspended/);
  assert.equal(s.site?.line, lineOf('async function call(id)'));
  assert.equal(s.site?.file, fixture);
  // The promise the function awaits is pending with a reaction.
  const promises = analyzeSnapshot(g, null, { top: 50 }).promises;
  assert.ok((promises.states['pending-awaited'] ?? 0) >= 1);
  assert.ok(nodesNamed(g, 'Promise').some((p) => isPromiseNode(g, p)));
});

test('leak-agent analyze --baseline --json: growth by constructor and by constructor location; coded errors', () => {
  const r = spawnSync(process.execPath, [cli, 'analyze', file, '--baseline', baseline, '--json', '--top', '40'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const a = JSON.parse(r.stdout);
  const row = a.growth.byConstructor.find((x: { key: string }) => x.key === 'LeakyRecord');
  assert.ok(row, JSON.stringify(a.growth.byConstructor.map((x: { key: string }) => x.key)));
  assert.equal(row.deltaCount, 2000);
  assert.equal(a.growth.siteSource, 'constructor-locations');
  const site = a.growth.bySite.find((x: { key: string }) => x.key.startsWith('LeakyRecord '));
  assert.ok(site, JSON.stringify(a.growth.bySite.map((x: { key: string }) => x.key)));
  // V8 locates class instances at their constructor: the line after `class LeakyRecord {`.
  assert.equal(site.site.line, lineOf('class LeakyRecord') + 1);
  assert.equal(site.deltaCount, 2000);
  const text = spawnSync(process.execPath, [cli, 'analyze', file], { encoding: 'utf8' });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /held by Map entry in variable inFlight \(module scope, .*leaky\.js:\d+\)/);
  assert.ok(!text.stdout.includes('req-'), 'string contents must be redacted by default');
  const missing = spawnSync(process.execPath, [cli, 'analyze', join(dir, 'nope.heapsnapshot')], { encoding: 'utf8' });
  assert.equal(missing.status, 66);
  const badTop = spawnSync(process.execPath, [cli, 'analyze', file, '--top', 'x'], { encoding: 'utf8' });
  assert.equal(badTop.status, 64);
});
