/** buildReport on hand-made probe states: which records become which findings, by reason. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, mergeReports } from '../../collector/report';
import type { HandleRecord, ProbeState, SiteRecord } from '../../collector/probe-state';

const NOW = 1_000_000;
function site(file: string, line: number, fn: string | null = null, user = true): SiteRecord {
  const frame = { file, line, column: 5, function: fn };
  return { frame, user, library: null, stack: [frame] };
}
function handle(partial: Partial<HandleRecord> & Pick<HandleRecord, 'id' | 'type' | 'site'>): HandleRecord {
  return { library: 'lib', owner: 0, state: 'pending', createdAt: NOW - 5000, settledAt: 0, alive: true, keepsProcessAlive: false, threadId: 0, ...partial };
}
function state(handles: HandleRecord[], extra: Partial<ProbeState> = {}): ProbeState {
  return {
    version: 1, pid: 42, threadId: 0, level: 'full', now: NOW, startedAt: NOW - 10_000, afterGc: true,
    sites: [site('<unknown>', 0, null, false), site('/app/a.js', 10, 'main'), site('/app/a.js', 20, 'Foo.call'), site('/app/b.js', 3)],
    handles, counters: [], dropped: { handles: 0, sites: 0 }, notices: [], ...extra,
  };
}

test('pending tasks: unsettled at the quiet point whatever their age; past the threshold only while running', () => {
  const young = handle({ id: 1, type: 'task', site: 1, createdAt: NOW - 10 });
  const quiet = buildReport(state([young]), { reason: 'quiet', thresholdMs: 1000 });
  assert.equal(quiet.findings.length, 1);
  assert.equal(quiet.findings[0].kind, 'unsettled');
  assert.deepEqual(quiet.findings[0].site, { file: '/app/a.js', line: 10, column: 5, function: 'main' });
  assert.equal(buildReport(state([young]), { reason: 'threshold', thresholdMs: 1000 }).findings.length, 0);
  const old = handle({ id: 2, type: 'task', site: 1, createdAt: NOW - 5000 });
  assert.equal(buildReport(state([old]), { reason: 'threshold', thresholdMs: 1000 }).findings[0].kind, 'unsettled');
});

test('settled tasks alive after GC are retained; not without a GC; grouped by site', () => {
  const settled = [1, 2, 3].map((id) => handle({ id, type: 'task', site: 2, state: 'fulfilled', settledAt: NOW - 4000 }));
  const r = buildReport(state(settled), { reason: 'threshold', thresholdMs: 1000 });
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0].kind, 'retained');
  assert.equal(r.findings[0].count, 3);
  assert.equal(buildReport(state(settled, { afterGc: false }), { reason: 'threshold', thresholdMs: 1000 }).findings.length, 0);
  const fresh = [handle({ id: 4, type: 'task', site: 2, state: 'fulfilled', settledAt: NOW - 10 })];
  assert.equal(buildReport(state(fresh), { reason: 'threshold', thresholdMs: 1000 }).findings.length, 0, 'just settled: the consumer may be about to read it');
});

test('OS handles and pools: only when keeping the process alive and a report is asked while running', () => {
  const server = handle({ id: 1, type: 'server', site: 3, keepsProcessAlive: true });
  const unref = handle({ id: 2, type: 'timer', site: 1, keepsProcessAlive: false });
  assert.equal(buildReport(state([server, unref]), { reason: 'threshold', thresholdMs: 1000 }).findings.length, 0);
  assert.equal(buildReport(state([server, unref]), { reason: 'quiet', thresholdMs: 1000 }).findings.length, 0);
  const asked = buildReport(state([server, unref]), { reason: 'timeout', thresholdMs: 1000 });
  assert.equal(asked.findings.length, 1);
  assert.equal(asked.findings[0].kind, 'unreleased');
  assert.equal(asked.findings[0].keepsProcessAlive, true);
});

test('a pool keeps the process alive through its threads; its threads are not separate findings; tasks listed', () => {
  const pool = handle({ id: 1, type: 'pool', library: 'workerpool', site: 1, alive: false, keepsProcessAlive: true, threads: 2 });
  const workers = [2, 3].map((id) => handle({ id, type: 'worker', library: 'worker_threads', site: 3, owner: 1, keepsProcessAlive: true }));
  const s = state([pool, ...workers], {
    counters: [{ site: 2, type: 'task', library: 'workerpool', owner: 1, created: 3, fulfilled: 0, rejected: 3, released: 0, abandoned: 0, errors: { TimeoutError: 3 } }],
  });
  const r = buildReport(s, { reason: 'timeout', thresholdMs: 1000 });
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0].resource, 'pool');
  assert.match(r.findings[0].summary, /1 workerpool pool never ended, 2 live threads keep the process alive/);
  assert.equal(r.findings[0].related[0].site.line, 20);
  assert.deepEqual(r.findings[0].related[0].errors, { TimeoutError: 3 });
});

test('abandoned tasks (collected while pending) are unsettled with a count', () => {
  const s = state([], { counters: [{ site: 2, type: 'task', library: 'piscina', owner: 0, created: 5, fulfilled: 1, rejected: 0, released: 0, abandoned: 4, errors: {} }] });
  const r = buildReport(s, { reason: 'threshold', thresholdMs: 1000 });
  assert.equal(r.findings[0].kind, 'unsettled');
  assert.equal(r.findings[0].abandoned, 4);
  assert.equal(r.findings[0].count, 4);
});

test('plain pending promises are not threshold findings, but are at the quiet point', () => {
  const p = handle({ id: 1, type: 'promise', library: 'promise', site: 1 });
  assert.equal(buildReport(state([p]), { reason: 'threshold', thresholdMs: 1 }).findings.length, 0);
  const q = buildReport(state([p]), { reason: 'quiet', thresholdMs: 1 });
  assert.equal(q.findings[0].kind, 'unsettled');
  assert.equal(q.findings[0].keepsProcessAlive, false);
});

test('mergeReports concatenates processes and keeps the contract', () => {
  const a = buildReport(state([handle({ id: 1, type: 'task', site: 1 })]), { reason: 'quiet', thresholdMs: 1 });
  const b = buildReport(state([handle({ id: 1, type: 'server', site: 3, keepsProcessAlive: true })], { pid: 43 }), { reason: 'timeout', thresholdMs: 1 });
  const m = mergeReports([a, b], 'timeout');
  assert.equal(m.version, 1);
  assert.equal(m.findings.length, 2);
  assert.equal(m.findings[0].keepsProcessAlive, true, 'what keeps the process alive comes first');
  assert.equal(m.findings[0].pid, 43);
});

test('at an exit, a pending promise made in a function still running when process.exit() was called is no finding', () => {
  const mains = handle({ id: 1, type: 'promise', site: 1 }); // made in main (/app/a.js)
  const other = handle({ id: 2, type: 'promise', site: 2 }); // made in Foo.call
  const running = [{ file: '/app/a.js', function: 'main' }];
  const exit = buildReport(state([mains, other]), { reason: 'exit', thresholdMs: 1000, runningAtExit: running });
  assert.deepEqual(exit.findings.map((f) => f.site.function), ['Foo.call']);
  // the same function in another file is another function
  const elsewhere = buildReport(state([mains]), { reason: 'exit', thresholdMs: 1000, runningAtExit: [{ file: '/app/b.js', function: 'main' }] });
  assert.equal(elsewhere.findings.length, 1);
  // only an exit is about the stack: at the quiet point nothing runs, and nothing can settle main's promise
  assert.equal(buildReport(state([mains]), { reason: 'quiet', thresholdMs: 1000, runningAtExit: running }).findings.length, 1);
});

test('retained: two settled tasks held at one site are a finding, one is not (a variable keeping the last result)', () => {
  const one = [handle({ id: 1, type: 'task', site: 2, state: 'fulfilled', settledAt: NOW - 4000 })];
  assert.equal(buildReport(state(one), { reason: 'quiet', thresholdMs: 1000 }).findings.length, 0);
  const two = [...one, handle({ id: 2, type: 'task', site: 2, state: 'fulfilled', settledAt: NOW - 4000 })];
  const r = buildReport(state(two), { reason: 'quiet', thresholdMs: 1000 });
  assert.deepEqual(r.findings.map((f) => `${f.kind} ${f.count}`), ['retained 2']);
});

test('a pending promise made inside a library: a finding only when something awaits it', () => {
  const libSite: SiteRecord = { ...site('/app/c.js', 7, 'main'), library: { file: '/app/node_modules/lib/index.js', line: 3, column: 1, function: 'defer' } };
  const s = (reactions: number) => state([handle({ id: 1, type: 'promise', site: 4, reactions })], { sites: [...state([]).sites, libSite] });
  assert.equal(buildReport(s(0), { reason: 'timeout', thresholdMs: 1000 }).findings.length, 0);
  const awaited = buildReport(s(1), { reason: 'timeout', thresholdMs: 1000 });
  assert.deepEqual(awaited.findings.map((f) => `${f.kind} ${f.site.file}:${f.site.line}`), ['unsettled /app/c.js:7']);
});
