'use strict';
// Constant, leak-free load for the bounded-memory soak: every `tickMs` it runs `perTick` pool
// acquire/await/release cycles, a few short timers, an interval that is created and cleared, and a
// small async fan-out. Every `sampleEvery` seconds it forces full GCs and prints one JSON line with
// its memory and, if the agent is loaded and exposes its registry, the agent's own counts.
// Runs for `seconds`, then exits. Needs --expose-gc.
const genericPool = require('generic-pool');
const { params, fail } = require('./_harness.js');

const p = params({ seconds: 1800, sampleEvery: 30, tickMs: 10, perTick: 20 });
if (typeof global.gc !== 'function') fail(new Error('run with --expose-gc'));

let nextId = 0;
const pool = genericPool.createPool({ create: async () => ({ id: nextId++ }), destroy: async () => {} }, { max: 8, min: 8 });
let ops = 0;

async function useResource() {
  const r = await pool.acquire();
  try {
    await new Promise((resolve) => setImmediate(resolve));
    ops++;
  } finally {
    await pool.release(r);
  }
}
async function fanOut() {
  const parts = [];
  for (let i = 0; i < 4; i++) parts.push((async () => (await Promise.resolve(i)) + 1)());
  return Promise.all(parts);
}
function tick() {
  for (let i = 0; i < p.perTick; i++) useResource().catch(fail);
  for (let i = 0; i < 3; i++) setTimeout(() => ops++, 1 + (i % 5));
  const iv = setInterval(() => {
    ops++;
    clearInterval(iv);
  }, 2);
  fanOut().catch(fail);
}

function agentCounts() {
  try {
    const api = globalThis[Symbol.for('leak-agent')];
    if (!api || typeof api.read !== 'function') return null;
    const s = api.read();
    return { handles: Array.isArray(s.handles) ? s.handles.length : null, sites: Array.isArray(s.sites) ? s.sites.length : null, dropped: s.dropped ?? null };
  } catch (err) {
    return { error: String(err && err.message) };
  }
}
function sample(label) {
  for (let i = 0; i < 3; i++) global.gc();
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  const line = { soak: 1, label, t: Math.round(process.uptime() * 1000) / 1000, ops, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, cpuMs: (cpu.user + cpu.system) / 1000, agent: agentCounts() };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const loop = setInterval(tick, p.tickMs);
const sampler = setInterval(() => sample('periodic'), p.sampleEvery * 1000);
setTimeout(async () => {
  clearInterval(loop);
  clearInterval(sampler);
  await new Promise((resolve) => setTimeout(resolve, 200)); // let in-flight work finish
  sample('end');
  await pool.drain();
  await pool.clear();
  setTimeout(() => process.exit(0), 1000).unref();
}, p.seconds * 1000);
