'use strict';
// Extra workloads `startup-cjs`, `startup-esm`, `short-script`, `startup-thread`: whole-process CPU time
// of short scripts, start-up and exit included, which the other workloads (measured around their work
// only) do not see.
// This process runs `runs` children one after another, each `node <this process's execArgv> child.{cjs,mjs}`
// (so a variant's --require and LEAK_AGENT_LEVEL reach them), and sums the CPU time each reports at exit.
// One op = one child process. `work` is CPU ms of hashing each child does after loading (0: start-up
// only; 800 for `short-script`, so the child outlives the agent's lazily started analysis thread).
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { params, emit, fail } = require('./_harness.js');

const p = params({ runs: 20, kind: 'cjs', work: 0, maxCpuMs: 0 });
const file = path.join(__dirname, 'startup', { esm: 'child.mjs', thread: 'child-thread.cjs' }[p.kind] ?? 'child.cjs');

try {
  let cpuMs = 0;
  let wallMs = 0;
  let runs = 0;
  spawnSync(process.execPath, [...process.execArgv, file, '0'], { encoding: 'utf8' }); // warm the file cache
  for (; runs < p.runs && !(p.maxCpuMs > 0 && cpuMs > p.maxCpuMs); runs++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [...process.execArgv, file, String(p.work)], { encoding: 'utf8', timeout: 60000 });
    wallMs += Number(process.hrtime.bigint() - t0) / 1e6;
    const line = (r.stdout || '').split('\n').reverse().find((l) => l.startsWith('{"startupCpuMs"'));
    if (r.status !== 0 || !line) throw new Error(`child exited ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
    cpuMs += JSON.parse(line).startupCpuMs;
  }
  emit({ workload: `startup-${p.kind}`, ops: runs, budgetHit: runs < p.runs, cpuMs, wallMs, cpuMsPerProcess: cpuMs / runs });
} catch (err) {
  fail(err);
}
