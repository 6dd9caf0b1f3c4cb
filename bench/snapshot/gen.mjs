#!/usr/bin/env node
// Generates the benchmark's heap snapshots into bench/.cache/snapshot/ (gitignored; never commit them).
//   node bench/snapshot/gen.mjs [--quick] [--only 100mb,1gb,17m]
// Sizes: 100mb (~100 MB), 1gb (~1 GB), 17m (past 16.7M nodes, where memlab's Set fails).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const cacheDir = join(here, '..', '.cache', 'snapshot');
export const SETS = {
  // records: ~530 bytes of snapshot per record (measured on Node 20).
  '100mb': { shape: 'records', count: 190_000 },
  '1gb': { shape: 'records', count: 1_950_000 },
  '17m': { shape: 'many', count: 17_500_000 },
};

export function snapshotPath(name) {
  return join(cacheDir, `${name}.heapsnapshot`);
}

/** Generates `name` unless it already exists. Returns the path. */
export function generate(name, { force = false } = {}) {
  const set = SETS[name];
  if (!set) throw new Error(`unknown snapshot set ${name}`);
  mkdirSync(cacheDir, { recursive: true });
  const out = snapshotPath(name);
  if (existsSync(out) && !force) return out;
  const t0 = Date.now();
  process.stderr.write(`generating ${name} (${set.shape} x ${set.count}) ... `);
  const r = spawnSync(process.execPath, ['--max-old-space-size=20000', join(here, 'heap-builder.cjs'), out, set.shape, String(set.count)], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`heap builder failed for ${name}: status ${r.status} ${r.signal ?? ''}`);
  process.stderr.write(`${(statSync(out).size / 1048576).toFixed(0)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const onlyIdx = process.argv.indexOf('--only');
  const names = onlyIdx > 0 ? process.argv[onlyIdx + 1].split(',') : process.argv.includes('--quick') ? ['100mb'] : Object.keys(SETS);
  for (const n of names) console.log(generate(n, { force: process.argv.includes('--force') }));
}
