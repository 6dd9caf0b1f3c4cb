'use strict';
// Workload 2: an HTTP server on 127.0.0.1 whose handler takes a "connection" from a generic-pool,
// runs a fake query on it (a few awaits and one setImmediate, standing in for I/O) and releases it.
// Load comes from a separate client process (http-client.js, started without any preload), which
// does a warm-up, marks the start, sends a fixed number of requests with fixed concurrency over
// keep-alive sockets, marks the end and prints its latencies. The server measures its own CPU time
// between the two marks; only this process carries the preload under test.
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const genericPool = require('generic-pool');
const { params, cpuMark, cpuSince, emit, fail } = require('./_harness.js');

const p = params({ requests: 12000, warmup: 2000, concurrency: 8, poolMax: 4, maxCpuMs: 0 });

let nextId = 0;
const pool = genericPool.createPool(
  {
    create: async () => ({
      id: nextId++,
      async query(key) {
        await new Promise((resolve) => setImmediate(resolve)); // the round trip
        const rows = [];
        for (let i = 0; i < 5; i++) rows.push({ key, i, v: (key.length * 31 + i) % 97 });
        return rows;
      },
    }),
    destroy: async () => {},
  },
  { max: p.poolMax, min: p.poolMax },
);

async function handle(req) {
  const conn = await pool.acquire();
  try {
    const rows = await conn.query(req.url);
    return JSON.stringify({ conn: conn.id, n: rows.length, sum: rows.reduce((s, r) => s + r.v, 0) });
  } finally {
    await pool.release(conn);
  }
}

let mark0 = null;
let mark1 = null;
let served = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/__mark/start') {
    served = 0;
    mark0 = { ...cpuMark(), t: process.hrtime.bigint() };
    res.end('ok');
    return;
  }
  if (req.url === '/__mark/end') {
    mark1 = { ...cpuSince(mark0), t: process.hrtime.bigint() };
    res.end('ok');
    return;
  }
  handle(req).then(
    (body) => {
      served++;
      res.setHeader('content-type', 'application/json');
      res.end(body);
    },
    (err) => {
      res.statusCode = 500;
      res.end(String(err));
    },
  );
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  // spawn (not fork) with an explicit argv: the client gets no preload and no --require.
  const client = spawn(process.execPath, [path.join(__dirname, 'http-client.js'), JSON.stringify({ port, requests: p.requests, warmup: p.warmup, concurrency: p.concurrency, maxWallMs: p.maxCpuMs * 3 })], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  client.stdout.on('data', (d) => (out += d));
  const killer = setTimeout(() => client.kill('SIGKILL'), 120000);
  client.on('exit', async (code) => {
    clearTimeout(killer);
    server.close();
    server.closeAllConnections();
    await pool.drain();
    await pool.clear();
    if (code !== 0 || !mark1) return fail(new Error(`client exited with ${code}`));
    const lat = JSON.parse(out.trim().split('\n').pop());
    const { cpuMs, userMs, sysMs, mainCpuMs } = mark1;
    emit({
      workload: 'http-pool',
      ops: lat.requests,
      budgetHit: lat.budgetHit,
      served,
      cpuMs,
      userMs,
      sysMs,
      mainCpuMs,
      wallMs: Number(mark1.t - mark0.t) / 1e6,
      cpuUsPerRequest: (cpuMs * 1000) / lat.requests,
      latencyMs: { p50: lat.p50, p90: lat.p90, p99: lat.p99, max: lat.max },
      errors: lat.errors,
    });
  });
});
server.on('error', fail);
