'use strict';
// Per-handle memory: create `n` live handles of one kind, then report how much the heap grew
// (after full GCs). Run with and without the agent: the difference / n is the agent's own memory
// per tracked live handle. Needs --expose-gc.
//   kind 'timers': n pending setTimeout(…, 1 h) timers
//   kind 'pool':   n pending generic-pool acquisitions (a pool of 1 resource, held)
//   kind 'held':   n acquired-and-not-released generic-pool resources (pool max = n)
const genericPool = require('generic-pool');
const { params, emit, fail } = require('./_harness.js');

const p = params({ n: 100000, kind: 'timers' });
if (typeof global.gc !== 'function') fail(new Error('run with --expose-gc'));

function settle() {
  for (let i = 0; i < 4; i++) global.gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external };
}
function agentHandles() {
  try {
    const api = globalThis[Symbol.for('leak-agent')];
    if (!api || typeof api.read !== 'function') return null;
    const s = api.read();
    return { handles: Array.isArray(s.handles) ? s.handles.length : null, sites: Array.isArray(s.sites) ? s.sites.length : null, dropped: s.dropped ?? null };
  } catch (err) {
    return { error: String(err && err.message) };
  }
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

(async () => {
  // What the app itself holds, identical with and without the agent. It is read again after the
  // measurement: otherwise V8 treats it as dead at the next await and collects it.
  const keep = [];
  let pool = null;
  if (p.kind !== 'timers') {
    let id = 0;
    pool = genericPool.createPool({ create: async () => ({ id: id++ }), destroy: async () => {} }, { max: p.kind === 'held' ? p.n + 1 : 1, min: 0 });
    // the pool's own first resource, so both runs start from the same pool state
    const first = await pool.acquire();
    keep.push(first);
  }
  await tick();
  const before = settle();
  const agentBefore = agentHandles();
  if (p.kind === 'timers') {
    for (let i = 0; i < p.n; i++) keep.push(setTimeout(() => {}, 3600e3));
  } else if (p.kind === 'pool') {
    for (let i = 0; i < p.n; i++) keep.push(pool.acquire().catch(() => {}));
  } else if (p.kind === 'held') {
    for (let i = 0; i < p.n; i++) keep.push(await pool.acquire());
  } else {
    fail(new Error(`unknown kind ${p.kind}`));
  }
  await tick();
  await tick();
  const after = settle();
  const agentAfter = agentHandles();
  emit({
    workload: 'handle-memory',
    kind: p.kind,
    n: p.n,
    kept: keep.length,
    poolState: pool ? { size: pool.size, borrowed: pool.borrowed, pending: pool.pending } : null, // keeps the pool alive too
    heapDelta: after.heapUsed - before.heapUsed,
    rssDelta: after.rss - before.rss,
    externalDelta: after.external - before.external,
    before,
    after,
    agentBefore,
    agentAfter,
    ops: p.n,
    cpuMs: 1,
  });
  setTimeout(() => process.exit(0), 50);
})().catch(fail);
