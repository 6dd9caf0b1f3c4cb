'use strict';
// Workload 1b: explicit promise churn: `new Promise(executor)`, `.then` chains, Promise.resolve/race.
// Catches costs that plain async functions do not pay (e.g. a wrapped or proxied global Promise).
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 1000000, warmup: 100000, maxCpuMs: 0 });

function delayless(v) {
  return new Promise((resolve) => resolve(v));
}
function op(i) {
  return delayless(i)
    .then((v) => v + 1)
    .then((v) => Promise.race([delayless(v), Promise.resolve(0)]))
    .then((v) => new Promise((resolve, reject) => (v >= 0 ? resolve(v) : reject(new Error('neg')))));
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
  emit({ workload: 'promise-ctor', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch(fail);
