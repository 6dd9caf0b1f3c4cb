'use strict';
// Extra workload `net-churn`: many short TCP connections on loopback, client and server in this process.
// 16 concurrent lanes; one op = net.connect, one request line written, the server's echo read, the
// client ends and both sides close. Every client socket goes through Socket#connect (which the agent
// wraps); every accepted socket through the server.
const net = require('node:net');
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 8000, warmup: 1000, lanes: 16, maxCpuMs: 0 });

const server = net.createServer((sock) => {
  sock.on('data', (d) => sock.end(d));
  sock.on('error', () => {});
});

function once(port, i) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    s.setNoDelay(true);
    s.on('connect', () => s.write(`hello ${i}\n`));
    s.on('data', (d) => (got += d.length));
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

async function loop(port, n, budget) {
  const state = { next: 0, done: 0, bytes: 0 };
  async function lane() {
    while (state.next < n && !(budget && budget.over())) {
      const i = state.next++;
      state.bytes += await once(port, i);
      state.done++;
    }
  }
  const lanes = [];
  for (let l = 0; l < p.lanes; l++) lanes.push(lane());
  await Promise.all(lanes);
  return state;
}

server.listen(0, '127.0.0.1', async () => {
  try {
    const { port } = server.address();
    await loop(port, p.warmup, cpuBudget(p.maxCpuMs / 4));
    const budget = cpuBudget(p.maxCpuMs);
    const r = await measure(() => loop(port, p.ops, budget));
    server.close();
    emit({ workload: 'net-churn', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
  } catch (err) {
    fail(err);
  }
});
server.on('error', fail);
