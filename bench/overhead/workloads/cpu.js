'use strict';
// Extra workload `cpu`: plain synchronous CPU and JSON work, no I/O, no timers, no promises. Anything
// below 1.0 here is the agent's own background cost (its analysis thread starting, polling).
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 400000, warmup: 40000, maxCpuMs: 0 });
const doc = { id: 0, name: 'item', tags: ['a', 'b', 'c'], nested: { x: 1.5, y: [1, 2, 3, 4, 5], s: 'some text here' } };

function op(i) {
  doc.id = i;
  const s = JSON.stringify(doc);
  const o = JSON.parse(s);
  let h = 0;
  for (let k = 0; k < s.length; k++) h = (h * 31 + s.charCodeAt(k)) | 0;
  const arr = [];
  for (let k = 0; k < 20; k++) arr.push((h ^ (k * 40503)) & 0xffff);
  arr.sort((a, b) => a - b);
  return o.nested.y.length + arr[3] + (h & 1);
}

function loop(n, budget) {
  let sink = 0;
  let i = 0;
  for (; i < n && !(budget && budget.over()); i++) sink += op(i);
  return { done: i, sink };
}

(async () => {
  loop(p.warmup, cpuBudget(p.maxCpuMs / 4));
  const budget = cpuBudget(p.maxCpuMs);
  const r = await measure(() => loop(p.ops, budget));
  emit({ workload: 'cpu', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch(fail);
