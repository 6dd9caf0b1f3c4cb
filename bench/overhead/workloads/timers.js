'use strict';
// Extra workload `timers`: ordinary timer use. 64 concurrent lanes; one op (in one lane) = one `await`
// of a 0 ms setTimeout, one `await` of a setImmediate, 8 request-style timeouts (5-26 s) created and
// cleared before they fire, one timer.refresh() of the lane's idle timeout, and every 16th op a
// setInterval created and cleared. Timers the app clears at once are the common case (request and idle
// timeouts); the agent tracks timeouts of 1 s or more.
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 200000, warmup: 20000, lanes: 64, maxCpuMs: 0 });
const noop = () => {};
const tick = (r) => setTimeout(r, 0);
const imm = (r) => setImmediate(r);

async function lane(state, budget) {
  const idle = setTimeout(noop, 60000); // refreshed every op, like a socket's idle timeout
  while (state.next < state.n && !(budget && budget.over())) {
    const i = state.next++;
    await new Promise(tick);
    await new Promise(imm);
    const ts = [];
    for (let k = 0; k < 8; k++) ts.push(setTimeout(noop, 5000 + k * 3000));
    for (let k = 0; k < 8; k++) clearTimeout(ts[k]);
    idle.refresh();
    if ((i & 15) === 0) clearInterval(setInterval(noop, 1000));
    state.done++;
  }
  clearTimeout(idle);
}

async function loop(n, budget) {
  const state = { n, next: 0, done: 0 };
  const lanes = [];
  for (let l = 0; l < p.lanes; l++) lanes.push(lane(state, budget));
  await Promise.all(lanes);
  return { done: state.done };
}

(async () => {
  await loop(p.warmup, cpuBudget(p.maxCpuMs / 4));
  const budget = cpuBudget(p.maxCpuMs);
  const r = await measure(() => loop(p.ops, budget));
  emit({ workload: 'timers', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch(fail);
