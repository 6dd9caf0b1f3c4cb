'use strict';
// Extra workload `streams-fs`: small-file I/O and streams. One op = fs.promises.writeFile + readFile of
// a small JSON file (8 files in rotation), a stream.pipeline of Readable.from(16 chunks) through a
// Transform into a Writable, and every 8th op a gzip + gunzip of a 4 KiB buffer through pipeline, and a
// createReadStream of one of the files.
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { Readable, Transform, Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { params, measure, cpuBudget, emit, fail } = require('./_harness.js');

const p = params({ ops: 2500, warmup: 400, maxCpuMs: 0 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leak-agent-bench-'));
const files = Array.from({ length: 8 }, (_, k) => path.join(dir, `f${k}.json`));
const blob = Buffer.alloc(4096, 'abcdefghij');
const chunks = Array.from({ length: 16 }, (_, k) => `chunk-${k}-${'x'.repeat(40)}\n`);

async function op(i) {
  const f = files[i & 7];
  await fsp.writeFile(f, JSON.stringify({ i, at: 'now', list: [1, 2, 3, i] }));
  const back = JSON.parse(await fsp.readFile(f, 'utf8'));
  let n = 0;
  await pipeline(
    Readable.from(chunks),
    new Transform({ transform(c, _e, cb) { cb(null, String(c).toUpperCase()); } }),
    new Writable({ write(c, _e, cb) { n += c.length; cb(); } }),
  );
  if ((i & 7) === 0) {
    const gz = zlib.createGzip();
    const out = [];
    await pipeline(Readable.from([blob]), gz, zlib.createGunzip(), new Writable({ write(c, _e, cb) { out.push(c); cb(); } }));
    let m = 0;
    await pipeline(fs.createReadStream(f), new Writable({ write(c, _e, cb) { m += c.length; cb(); } }));
    n += m + out.length;
  }
  return back.i + n;
}

async function loop(count, budget) {
  let i = 0;
  let sink = 0;
  for (; i < count && !(budget && budget.over()); i++) sink += await op(i);
  return { done: i, sink };
}

(async () => {
  await loop(p.warmup, cpuBudget(p.maxCpuMs / 4));
  const budget = cpuBudget(p.maxCpuMs);
  const r = await measure(() => loop(p.ops, budget));
  fs.rmSync(dir, { recursive: true, force: true });
  emit({ workload: 'streams-fs', ops: r.done, budgetHit: budget.hit(), cpuMs: r.cpuMs, userMs: r.userMs, sysMs: r.sysMs, mainCpuMs: r.mainCpuMs, wallMs: r.wallMs });
})().catch((err) => {
  fs.rmSync(dir, { recursive: true, force: true });
  fail(err);
});
