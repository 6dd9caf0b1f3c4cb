'use strict';
// Workload 1: promise-heavy code with no I/O: plain async/await call chains and Promise.all fan-out.
// One op = one chain of `depth` awaited async calls + one fan-out of `fanout` shorter chains.
// This is the worst case for anything that hooks promises: every op creates ~depth + fanout*4 promises.
const { params, measure, emit, fail } = require('./_harness.js');

const p = params({ ops: 400000, warmup: 40000, depth: 10, fanout: 4 });

async function leaf(i) {
  return i & 7;
}
async function chain(i, d) {
  if (d === 0) return leaf(i);
  const v = await chain(i, d - 1);
  return v + 1;
}
async function fan(i) {
  const parts = [];
  for (let k = 0; k < p.fanout; k++) parts.push(chain(i + k, 3));
  const r = await Promise.all(parts);
  return r[0] + r[r.length - 1];
}
async function op(i) {
  const a = await chain(i, p.depth);
  const b = await fan(i);
  return a + b;
}
async function loop(n) {
  let sink = 0;
  for (let i = 0; i < n; i++) sink += await op(i);
  return sink;
}

(async () => {
  await loop(p.warmup);
  const r = await measure(async () => ({ sink: await loop(p.ops) }));
  emit({ workload: 'async-chains', ops: p.ops, cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, wallMs: r.wallMs });
})().catch(fail);
