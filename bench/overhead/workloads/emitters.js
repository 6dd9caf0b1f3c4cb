'use strict';
// Extra workload `emitters`: EventEmitter and EventTarget churn. One op = a new EventEmitter with
// on/once/prependListener listeners, three emits, removeListener and removeAllListeners; a new
// AbortController whose signal gets two listeners (one removed), then aborted; a long-lived emitter
// whose listener is added and removed (a per-request listener on a shared emitter); every 8th op an
// `events.once` awaited.
const events = require('node:events');
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 300000, warmup: 30000, maxCpuMs: 0 });
const shared = new events.EventEmitter();
let sink = 0;
const onData = (x) => { sink += x; };
const onEnd = () => { sink++; };
const onAbort = () => { sink++; };

function op(i) {
  const e = new events.EventEmitter();
  e.on('data', onData);
  e.once('end', onEnd);
  e.prependListener('data', onEnd);
  e.on('error', onEnd);
  e.emit('data', i & 7);
  e.emit('data', 1);
  e.emit('end');
  e.removeListener('data', onData);
  e.removeAllListeners();
  const ac = new AbortController();
  const other = () => { sink--; };
  ac.signal.addEventListener('abort', onAbort, { once: true });
  ac.signal.addEventListener('abort', other);
  ac.signal.removeEventListener('abort', other);
  ac.abort();
  const perRequest = () => { sink++; };
  shared.on('tick', perRequest);
  shared.emit('tick');
  shared.off('tick', perRequest);
}

async function loop(n, budget) {
  let i = 0;
  for (; i < n && !(budget && budget.over()); i++) {
    op(i);
    if ((i & 7) === 0) {
      const e = new events.EventEmitter();
      const waiting = events.once(e, 'ready');
      e.emit('ready', i);
      sink += (await waiting)[0] & 1;
    }
  }
  return { done: i, sink };
}

(async () => {
  await loop(p.warmup, cpuBudget(p.maxCpuMs / 4));
  const budget = cpuBudget(p.maxCpuMs);
  const r = await measure(() => loop(p.ops, budget));
  emit({ workload: 'emitters', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch(fail);
