'use strict';
// Workload 4: generic-pool acquire/release loop. `workers` loops share a pool of `max` resources
// (more loops than resources, so acquisitions also queue); one op = one acquire + await + release.
const genericPool = require('generic-pool');
const { params, measure, emit, fail } = require('./_harness.js');

const p = params({ ops: 1000000, warmup: 100000, max: 8, workers: 16 });

let nextId = 0;
const pool = genericPool.createPool(
  {
    create: async () => ({ id: nextId++, uses: 0 }),
    destroy: async () => {},
  },
  { max: p.max, min: p.max },
);

async function worker(quota) {
  for (let i = 0; i < quota; i++) {
    const res = await pool.acquire();
    res.uses++;
    await Promise.resolve(); // the "work" done while holding the resource
    await pool.release(res);
  }
}
async function run(n) {
  const per = Math.ceil(n / p.workers);
  const loops = [];
  for (let w = 0; w < p.workers; w++) loops.push(worker(per));
  await Promise.all(loops);
  return per * p.workers;
}

(async () => {
  await run(p.warmup);
  const r = await measure(async () => ({ done: await run(p.ops) }));
  await pool.drain();
  await pool.clear();
  emit({ workload: 'pool-loop', ops: r.done, cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, wallMs: r.wallMs });
})().catch(fail);
