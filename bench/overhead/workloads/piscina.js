'use strict';
// Workload 3: piscina throughput on small tasks. `concurrency` loops each submit-and-await tasks.
// CPU time is process-wide (main thread + the pool's worker threads, where a preload also runs).
const path = require('node:path');
const { Piscina } = require('piscina');
const { params, measure, emit, fail } = require('./_harness.js');

const p = params({ ops: 30000, warmup: 5000, threads: 2, concurrency: 32 });

const pool = new Piscina({
  filename: path.join(__dirname, 'piscina-task.js'),
  minThreads: p.threads,
  maxThreads: p.threads,
  idleTimeout: 60000,
});

async function loop(quota, base) {
  let sink = 0;
  for (let i = 0; i < quota; i++) sink += await pool.run({ n: base + i });
  return sink;
}
async function run(n) {
  const per = Math.ceil(n / p.concurrency);
  const loops = [];
  for (let c = 0; c < p.concurrency; c++) loops.push(loop(per, c * per));
  await Promise.all(loops);
  return per * p.concurrency;
}

(async () => {
  await run(p.warmup);
  const r = await measure(async () => ({ done: await run(p.ops) }));
  await pool.destroy();
  emit({ workload: 'piscina', ops: r.done, cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, wallMs: r.wallMs });
})().catch(fail);
