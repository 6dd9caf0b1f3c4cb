'use strict';
// Extra workload `child-spawn`: child processes as a service uses them: one op = child_process.execFile
// of /bin/echo with its output read, plus a spawn of /bin/cat fed a line on stdin and read back.
// Only this process's CPU is counted (the children are not Node and run no preload).
const { execFile, spawn } = require('node:child_process');
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 400, warmup: 40, maxCpuMs: 0 });

function echo(i) {
  return new Promise((resolve, reject) => execFile('/bin/echo', ['hello', String(i)], (err, out) => (err ? reject(err) : resolve(out.length))));
}
function cat(i) {
  return new Promise((resolve, reject) => {
    const c = spawn('/bin/cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    let n = 0;
    c.stdout.on('data', (d) => (n += d.length));
    c.on('error', reject);
    c.on('close', () => resolve(n));
    c.stdin.end(`line ${i}\n`);
  });
}

async function loop(n, budget) {
  let i = 0;
  let sink = 0;
  for (; i < n && !(budget && budget.over()); i++) {
    const [a, b] = await Promise.all([echo(i), cat(i)]);
    sink += a + b;
  }
  return { done: i, sink };
}

(async () => {
  await loop(p.warmup, cpuBudget(p.maxCpuMs / 4));
  const budget = cpuBudget(p.maxCpuMs);
  const r = await measure(() => loop(p.ops, budget));
  emit({ workload: 'child-spawn', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch(fail);
