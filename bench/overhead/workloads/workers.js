'use strict';
// Extra workload `workers`: worker_threads messaging and start-up. One op = one postMessage round trip
// (a small object) with each of 2 long-lived workers; every 200th op a short-lived worker is started,
// answers one message and exits. Worker threads inherit the preload (execArgv), so their start-up cost
// and their CPU are counted (process.cpuUsage() covers all threads).
const { Worker } = require('node:worker_threads');
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 20000, warmup: 2000, maxCpuMs: 0 });
const CODE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m === 'bye') { parentPort.close(); return; }
  parentPort.postMessage({ id: m.id, sum: m.values.reduce((a, b) => a + b, 0) });
});`;

function roundTrip(w, msg) {
  return new Promise((resolve) => {
    w.once('message', resolve);
    w.postMessage(msg);
  });
}

async function shortLived(i) {
  const w = new Worker(CODE, { eval: true });
  // Listening for 'exit' first: a worker that exits emits its last messages and 'exit' in one go.
  const exited = new Promise((resolve) => w.once('exit', resolve));
  const r = await roundTrip(w, { id: i, values: [1, 2, 3] });
  w.postMessage('bye');
  await exited;
  return r.sum;
}

async function loop(workers, n, budget) {
  let i = 0;
  let sink = 0;
  for (; i < n && !(budget && budget.over()); i++) {
    const msg = { id: i, values: [i, i + 1, i + 2, 4] };
    const rs = await Promise.all(workers.map((w) => roundTrip(w, msg)));
    sink += rs[0].sum + rs[1].sum;
    if (i % 200 === 199) sink += await shortLived(i);
  }
  return { done: i, sink };
}

(async () => {
  const workers = [new Worker(CODE, { eval: true }), new Worker(CODE, { eval: true })];
  await loop(workers, p.warmup, cpuBudget(p.maxCpuMs / 4));
  const budget = cpuBudget(p.maxCpuMs);
  const r = await measure(() => loop(workers, p.ops, budget));
  for (const w of workers) w.postMessage('bye');
  emit({ workload: 'workers', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch(fail);
