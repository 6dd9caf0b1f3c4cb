'use strict';
// Workload 3: piscina throughput on small tasks. `concurrency` loops each submit-and-await tasks.
// CPU time is process-wide (main thread + the pool's worker threads, where a preload also runs).
const path = require('node:path');
const { Piscina } = require('piscina');
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 30000, warmup: 5000, threads: 2, concurrency: 32, maxCpuMs: 0 });

const pool = new Piscina({
  filename: path.join(__dirname, 'piscina-task.js'),
  minThreads: p.threads,
  maxThreads: p.threads,
  idleTimeout: 60000,
});

async function loop(quota, base, budget) {
  let i = 0;
  for (; i < quota && !(budget && budget.over()); i++) await pool.run({ n: base + i });
  return i;
}
async function run(n, budget) {
  const per = Math.ceil(n / p.concurrency);
  const loops = [];
  for (let c = 0; c < p.concurrency; c++) loops.push(loop(per, c * per, budget));
  const done = await Promise.all(loops);
  return done.reduce((a, b) => a + b, 0);
}

(async () => {
  // the warm-up is bounded too (a quarter of the budget), so a very slow variant cannot stall here
  await run(p.warmup, cpuBudget(p.maxCpuMs / 4));
  const budget = cpuBudget(p.maxCpuMs);
  const r = await measure(async () => ({ done: await run(p.ops, budget) }));
  await pool.destroy();
  emit({ workload: 'piscina', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch(fail);
