'use strict';
// Workload 1: promise-heavy code with no I/O: plain async/await call chains and Promise.all fan-out.
// One op = one chain of `depth` awaited async calls + one fan-out of `fanout` shorter chains.
// This is the worst case for anything that hooks promises: every op creates ~depth + fanout*4 promises.
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 400000, warmup: 40000, depth: 10, fanout: 4, maxCpuMs: 0 });

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
async function loop(n, budget) {
  let sink = 0;
  let i = 0;
  for (; i < n && !(budget && budget.over()); i++) sink += await op(i);
  return { done: i, sink };
}

(async () => {
  // the warm-up is bounded too (a quarter of the budget), so a very slow variant cannot stall here
  await loop(p.warmup, cpuBudget(p.maxCpuMs / 4));
  const budget = cpuBudget(p.maxCpuMs);
  const r = await measure(() => loop(p.ops, budget));
  emit({ workload: 'async-chains', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch(fail);
