#!/usr/bin/env node
// Snapshot analysis benchmark: our parse + retainers + dominators vs memlab's getFullHeapFromFile
// (parse + dominators + retained sizes) vs plain JSON.parse, on generated snapshots.
//   node bench/snapshot/run.mjs [--quick] [--only 100mb,1gb,17m] [--reps N]
// Each run is a fresh process; runs alternate A-B-C-C-B-A so drift hits every tool alike. Prints time and
// peak-RSS (maxRSS) per tool and the ratios: the median of the runs (with the default one A-B-C-C-B-A round,
// two runs per tool, that is the lower of the two). memlab must be installed in bench/snapshot/memlab with
// PUPPETEER_SKIP_DOWNLOAD=1 npm install; without it, memlab rows are skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, SETS } from './gen.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const quick = argv.includes('--quick');
const names = (opt('--only', null) ?? (quick ? '100mb' : Object.keys(SETS).join(','))).split(',');
const reps = Number(opt('--reps', quick ? '1' : '1'));
const haveMemlab = existsSync(join(here, 'memlab', 'node_modules', '@memlab', 'heap-analysis'));
const TIMEOUT_MS = 30 * 60 * 1000;

function once(tool, file) {
  const r = spawnSync(process.execPath, ['--max-old-space-size=20000', join(here, 'worker.mjs'), tool, file], { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 1 << 24 });
  const line = (r.stdout ?? '').trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    return { tool, ok: false, ms: NaN, maxRssBytes: NaN, error: (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`) + ' ' + (r.stderr ?? '').trim().split('\n').slice(-1)[0] };
  }
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const fmtS = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '—');
const fmtMB = (b) => (Number.isFinite(b) ? `${(b / 1048576).toFixed(0)} MB` : '—');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '—');

export async function runSnapshotBench() {
  const rows = [];
  for (const name of names) {
    const file = generate(name);
    const size = statSync(file).size;
    const tools = ['ours', ...(haveMemlab ? ['memlab'] : []), 'json'];
    const results = Object.fromEntries(tools.map((t) => [t, []]));
    for (let r = 0; r < reps; r++) {
      const order = [...tools, ...[...tools].reverse()]; // A-B-C-C-B-A
      for (const t of order) {
        const res = once(t, file);
        process.stderr.write(`  ${name} ${t}: ${res.ok ? `${fmtS(res.ms)} ${fmtMB(res.maxRssBytes)}` : `FAILED ${res.error}`}\n`);
        results[t].push(res);
      }
    }
    const summary = {};
    for (const t of tools) {
      const ok = results[t].filter((x) => x.ok);
      summary[t] = { ms: median(ok.map((x) => x.ms)), rss: median(ok.map((x) => x.maxRssBytes)), nodes: ok[0]?.nodes, error: ok.length ? null : results[t][0]?.error };
    }
    rows.push({ name, size, summary });
  }
  console.log('\n| snapshot | size | nodes | ours time | ours peak RSS | RSS/file | memlab time | memlab RSS | JSON.parse time | JSON.parse RSS | memlab/ours time | memlab/ours RSS | JSON/ours time |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const { name, size, summary: s } of rows) {
    const m = s.memlab ?? { ms: NaN, rss: NaN, error: 'not installed' };
    const j = s.json;
    const cell = (x, f) => (x.error ? `fails (${x.error.slice(0, 40)})` : f);
    console.log(
      `| ${name} | ${fmtMB(size)} | ${s.ours.nodes ?? '—'} | ${cell(s.ours, fmtS(s.ours.ms))} | ${fmtMB(s.ours.rss)} | ${ratio(s.ours.rss, size)} | ${cell(m, fmtS(m.ms))} | ${cell(m, fmtMB(m.rss))} | ${cell(j, fmtS(j.ms))} | ${cell(j, fmtMB(j.rss))} | ${ratio(m.ms, s.ours.ms)} | ${ratio(m.rss, s.ours.rss)} | ${ratio(j.ms, s.ours.ms)} |`,
    );
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runSnapshotBench();
}
