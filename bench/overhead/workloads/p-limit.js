'use strict';
// Workload: p-limit (the limiter adapter's hot path): batches of small async tasks through `limit(fn)` at
// concurrency 8, each awaiting a resolved promise. One op = one task submitted and settled.
const pLimit = require('p-limit');
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 300000, warmup: 30000, batch: 64, maxCpuMs: 0 });
const limit = pLimit(8);

async function task(i) {
  await Promise.resolve();
  return i;
}
async function run(n, budget) {
  let done = 0;
  while (done < n && !(budget && budget.over())) {
    const batch = [];
    for (let k = 0; k < p.batch; k++) batch.push(limit(task, done + k));
    await Promise.all(batch);
    done += p.batch;
  }
  return done;
}

(async () => {
  await run(p.warmup, cpuBudget(p.maxCpuMs / 4));
  const budget = cpuBudget(p.maxCpuMs);
  const r = await measure(async () => ({ done: await run(p.ops, budget) }));
  emit({ workload: 'p-limit', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch(fail);
