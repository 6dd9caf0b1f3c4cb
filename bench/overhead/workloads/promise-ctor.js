'use strict';
// Workload 1b: explicit promise churn: `new Promise(executor)`, `.then` chains, Promise.resolve/race.
// Catches costs that plain async functions do not pay (e.g. a wrapped or proxied global Promise).
const { params, measure, emit, fail } = require('./_harness.js');

const p = params({ ops: 1000000, warmup: 100000 });

function delayless(v) {
  return new Promise((resolve) => resolve(v));
}
function op(i) {
  return delayless(i)
    .then((v) => v + 1)
    .then((v) => Promise.race([delayless(v), Promise.resolve(0)]))
    .then((v) => new Promise((resolve, reject) => (v >= 0 ? resolve(v) : reject(new Error('neg')))));
}
async function loop(n) {
  let sink = 0;
  for (let i = 0; i < n; i++) sink += await op(i);
  return sink;
}

(async () => {
  await loop(p.warmup);
  const r = await measure(async () => ({ sink: await loop(p.ops) }));
  emit({ workload: 'promise-ctor', ops: p.ops, cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, wallMs: r.wallMs });
})().catch(fail);
