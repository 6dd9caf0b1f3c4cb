'use strict';
// Extra workload `http-plain`: an HTTP server on 127.0.0.1 with no pool: the handler reads the request
// body (POSTs), parses and answers JSON, with a query-string GET in between. Load comes from
// http-client.js in a separate process started without any preload (closed loop, keep-alive), as for
// http-pool; the server measures its own CPU between the client's start and end marks.
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { params, cpuMark, cpuSince, emit, fail } = require('./_harness.js');

const p = params({ requests: 15000, warmup: 2000, concurrency: 8, maxCpuMs: 0 });

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
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://localhost');
    const id = Number(url.pathname.split('/').pop()) || 0;
    const items = [];
    for (let i = 0; i < 10; i++) items.push({ id: id + i, name: `item-${id + i}`, price: ((id * 7 + i) % 100) / 4 });
    const body = JSON.stringify({ id, q: url.searchParams.get('q'), items });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    served++;
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const client = spawn(process.execPath, [path.join(__dirname, 'http-client.js'), JSON.stringify({ port, requests: p.requests, warmup: p.warmup, concurrency: p.concurrency, maxWallMs: p.maxCpuMs * 3 })], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  client.stdout.on('data', (d) => (out += d));
  const killer = setTimeout(() => client.kill('SIGKILL'), 120000);
  client.on('exit', (code) => {
    clearTimeout(killer);
    server.close();
    server.closeAllConnections();
    if (code !== 0 || !mark1) return fail(new Error(`client exited with ${code}`));
    const lat = JSON.parse(out.trim().split('\n').pop());
    const { cpuMs, userMs, sysMs, mainCpuMs } = mark1;
    emit({
      workload: 'http-plain',
      ops: lat.requests,
      budgetHit: lat.budgetHit,
      served,
      cpuMs,
      userMs,
      sysMs,
      mainCpuMs,
      wallMs: Number(mark1.t - mark0.t) / 1e6,
      latencyMs: { p50: lat.p50, p90: lat.p90, p99: lat.p99, max: lat.max },
      errors: lat.errors,
    });
  });
});
server.on('error', fail);
