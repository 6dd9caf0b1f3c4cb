'use strict';
// Workload 4: generic-pool acquire/release loop. `workers` loops share a pool of `max` resources
// (more loops than resources, so acquisitions also queue); one op = one acquire + await + release.
const genericPool = require('generic-pool');
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 1000000, warmup: 100000, max: 8, workers: 16, maxCpuMs: 0 });

let nextId = 0;
const pool = genericPool.createPool(
  {
    create: async () => ({ id: nextId++, uses: 0 }),
    destroy: async () => {},
  },
  { max: p.max, min: p.max },
);

async function worker(quota, budget) {
  let i = 0;
  for (; i < quota && !(budget && budget.over()); i++) {
    const res = await pool.acquire();
    res.uses++;
    await Promise.resolve(); // the "work" done while holding the resource
    await pool.release(res);
  }
  return i;
}
async function run(n, budget) {
  const per = Math.ceil(n / p.workers);
  const loops = [];
  for (let w = 0; w < p.workers; w++) loops.push(worker(per, budget));
  const done = await Promise.all(loops);
  return done.reduce((a, b) => a + b, 0);
}

(async () => {
  // the warm-up is bounded too (a quarter of the budget), so a very slow variant cannot stall here
  await run(p.warmup, cpuBudget(p.maxCpuMs / 4));
  const budget = cpuBudget(p.maxCpuMs);
  const r = await measure(async () => ({ done: await run(p.ops, budget) }));
  await pool.drain();
  await pool.clear();
  emit({ workload: 'pool-loop', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch(fail);
