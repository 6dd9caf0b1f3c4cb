'use strict';
// Load generator for http-pool.js: closed loop, `concurrency` keep-alive connections, a fixed
// number of requests (or fewer if `maxWallMs` passes first: the bound for a much slower server);
// prints {requests, p50, p90, p99, max, errors, budgetHit} (ms) as its last stdout line.
const http = require('node:http');
const { percentile } = require('./_harness.js');

const p = JSON.parse(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: p.concurrency });

function get(urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: p.port, path: urlPath, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('request timeout')));
  });
}

async function load(n, latencies, maxWallMs) {
  let next = 0;
  let errors = 0;
  const deadline = maxWallMs > 0 ? Date.now() + maxWallMs : Infinity;
  async function lane() {
    while (next < n && Date.now() < deadline) {
      const i = next++;
      const t0 = process.hrtime.bigint();
      try {
        const status = await get(`/item/${i % 1000}`);
        if (status !== 200) errors++;
      } catch {
        errors++;
      }
      if (latencies) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const lanes = [];
  for (let c = 0; c < p.concurrency; c++) lanes.push(lane());
  await Promise.all(lanes);
  return { errors, sent: next, budgetHit: next < n };
}

(async () => {
  await load(p.warmup, null, p.maxWallMs / 4); // bounded like the measured phase
  await get('/__mark/start');
  const latencies = [];
  const { errors, sent, budgetHit } = await load(p.requests, latencies, p.maxWallMs);
  await get('/__mark/end');
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const r = { requests: sent, budgetHit, errors, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] };
  process.stdout.write(`${JSON.stringify(r)}\n`);
})().catch((err) => {
  process.stderr.write(`client failed: ${err.stack}\n`);
  process.exit(1);
});
