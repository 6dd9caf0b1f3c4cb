#!/usr/bin/env node
// Entry for `npm run bench`: a thin dispatcher.
//   node bench/run.mjs [flags]            overhead bench with all flags, then the snapshot bench
//                                         (if bench/snapshot/run.mjs exists) with only --quick
//   node bench/run.mjs overhead [flags]   only the overhead bench, flags passed through
//   node bench/run.mjs snapshot [flags]   only the snapshot bench, flags passed through
// Each bench is its own process so one failing does not hide the other's results.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const benches = { overhead: join(here, 'overhead', 'run.mjs'), snapshot: join(here, 'snapshot', 'run.mjs') };

const argv = process.argv.slice(2);
const chosen = argv[0] && !argv[0].startsWith('-') ? argv[0] : null;
if (chosen && !benches[chosen]) {
  console.error(`unknown bench ${chosen}; known: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
const flags = chosen ? argv.slice(1) : argv;
const plan = chosen
  ? [[chosen, flags]]
  : [
      ['overhead', flags],
      ['snapshot', flags.filter((f) => f === '--quick')],
    ];

let status = 0;
for (const [name, args] of plan) {
  if (!existsSync(benches[name])) {
    if (chosen) {
      console.error(`${benches[name]} does not exist`);
      status = 1;
    }
    continue;
  }
  console.error(`\n== bench ${name} ${args.join(' ')}`.trimEnd());
  const r = spawnSync(process.execPath, [benches[name], ...args], { stdio: 'inherit' });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
