#!/usr/bin/env node
// Bounded-memory measurements for the agent (issue 5, part 2).
//
// 1. Per-handle memory: a process creates N live handles of one kind (pending timers, pending
//    generic-pool acquisitions, held pool resources) and reports how much its heap grew after full
//    GCs. Run without the agent and with it, alternating, `--reps` times each; the agent's own
//    memory per live handle is (median growth with agent − median growth without) / N. The agent's
//    registry count (if it exposes read()) tells how many of the N it actually tracks.
// 2. Soak: a constant, leak-free load (pool acquire/release, timers, intervals, promises) for
//    `--minutes`, with the agent at `--level` (default sample) and, at the same time, the same load
//    without the agent. Each samples RSS and heapUsed after full GCs; we compare the first sample
//    after warm-up with the last and fit a slope (bytes per minute) over the samples in between.
//
//   node bench/overhead/soak.mjs [--minutes 30] [--level sample] [--handles 100000] [--reps 3]
//                                [--skip-handles] [--skip-soak] [--quick] [--agent PATH] [--out FILE]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

function parseArgs(argv) {
  const o = { minutes: 30, level: 'sample', handles: 100000, reps: 3, skipHandles: false, skipSoak: false, quick: false, agent: join(root, 'dist', 'agent', 'index.js'), out: join(root, 'bench', '.cache', 'soak.json'), kinds: ['timers', 'pool', 'held'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--minutes') o.minutes = positive(a, next());
    else if (a === '--level') o.level = next();
    else if (a === '--handles') o.handles = Math.round(positive(a, next()));
    else if (a === '--reps') o.reps = Math.round(positive(a, next()));
    else if (a === '--kinds') o.kinds = next().split(',').filter(Boolean);
    else if (a === '--skip-handles') o.skipHandles = true;
    else if (a === '--skip-soak') o.skipSoak = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--agent') o.agent = resolve(next());
    else if (a === '--out') o.out = resolve(next());
    else throw new Error(`unknown option ${a}`);
  }
  if (o.quick) {
    if (!argv.includes('--minutes')) o.minutes = 1;
    if (!argv.includes('--handles')) o.handles = 20000;
    if (!argv.includes('--reps')) o.reps = 1;
  }
  return o;
}
function positive(name, v) {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
}

function childEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'NODE_OPTIONS' && !k.startsWith('LEAK_AGENT_')) env[k] = v;
  return { ...env, ...extra };
}

/** Spawns one workload; resolves with its stdout lines that parse as JSON, or rejects. */
function run(file, param, withAgent, opts, timeoutMs, onLine) {
  const execArgv = ['--expose-gc', ...(withAgent ? ['--require', opts.agent] : [])];
  const env = childEnv(withAgent ? { LEAK_AGENT_LEVEL: opts.level } : {});
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [...execArgv, join(here, 'workloads', file), JSON.stringify(param)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    let buf = '';
    let err = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const obj = JSON.parse(line);
          lines.push(obj);
          onLine?.(obj);
        } catch {
          /* not ours */
        }
      }
    });
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${file} ${withAgent ? 'with agent' : 'without agent'} exited ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      else resolveRun(lines);
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mb = (b) => `${(b / 1048576).toFixed(2)} MB`;
const signedMb = (b) => `${b >= 0 ? '+' : ''}${(b / 1048576).toFixed(2)} MB`;

async function perHandle(opts) {
  const results = {};
  for (const kind of opts.kinds) {
    const base = [];
    const agent = [];
    for (let r = 0; r < opts.reps; r++) {
      // alternate which goes first, as in the overhead bench
      const order = r % 2 === 0 ? [false, true] : [true, false];
      for (const withAgent of order) {
        const lines = await run('handle-memory.js', { n: opts.handles, kind }, withAgent, opts, 300000);
        const res = lines.find((l) => l.leakAgentBench);
        (withAgent ? agent : base).push(res);
      }
    }
    const baseHeap = median(base.map((x) => x.heapDelta));
    const agentHeap = median(agent.map((x) => x.heapDelta));
    const baseRss = median(base.map((x) => x.rssDelta));
    const agentRss = median(agent.map((x) => x.rssDelta));
    const last = agent[agent.length - 1];
    const tracked = last.agentAfter && last.agentBefore && Number.isFinite(last.agentAfter.handles) ? last.agentAfter.handles - last.agentBefore.handles : null;
    results[kind] = {
      n: opts.handles,
      appBytesPerHandle: baseHeap / opts.handles,
      agentBytesPerHandle: (agentHeap - baseHeap) / opts.handles,
      agentBytesPerTrackedHandle: tracked !== null && tracked > 0 ? (agentHeap - baseHeap) / tracked : null,
      agentRssBytesPerHandle: (agentRss - baseRss) / opts.handles,
      trackedByAgent: tracked,
      agentAfter: last.agentAfter,
      heapDeltas: { base: base.map((x) => x.heapDelta), agent: agent.map((x) => x.heapDelta) },
      rssDeltas: { base: base.map((x) => x.rssDelta), agent: agent.map((x) => x.rssDelta) },
    };
    const r = results[kind];
    console.log(
      `per-handle ${kind.padEnd(6)} n=${opts.handles}: app ${r.appBytesPerHandle.toFixed(0)} B/handle; agent adds ${r.agentBytesPerHandle.toFixed(0)} B/handle heap` +
        (tracked === null ? ' (agent registry not readable)' : tracked > 0 ? ` (${r.agentBytesPerTrackedHandle.toFixed(0)} B per tracked handle, ${tracked} tracked)` : ' (the agent tracked none of them)') +
        `, ${r.agentRssBytesPerHandle.toFixed(0)} B/handle RSS` +
        (r.agentAfter?.dropped ? `; dropped ${JSON.stringify(r.agentAfter.dropped)}` : ''),
    );
  }
  return results;
}

/** Least-squares slope of y over x (x in minutes): bytes per minute. */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

async function soak(opts) {
  const seconds = Math.round(opts.minutes * 60);
  const sampleEvery = Math.max(2, Math.min(30, Math.round(seconds / 40)));
  const warmup = Math.min(120, Math.max(sampleEvery, Math.round(seconds * 0.1)));
  console.log(`soak: ${opts.minutes} min at level ${opts.level}, with and without the agent side by side; samples every ${sampleEvery} s, warm-up ${warmup} s`);
  const param = { seconds, sampleEvery };
  const progress = (who) => (l) => {
    if (l.soak && l.label === 'periodic' && Math.round(l.t) % (sampleEvery * 10) < sampleEvery) console.error(`  ${who} t=${l.t.toFixed(0)}s rss ${mb(l.rss)} heap ${mb(l.heapUsed)}${l.agent ? ` agent ${JSON.stringify(l.agent)}` : ''}`);
  };
  const [withAgent, without] = await Promise.all([
    run('soak-load.js', param, true, opts, (seconds + 120) * 1000, progress('agent')),
    run('soak-load.js', param, false, opts, (seconds + 120) * 1000, progress('base ')),
  ]);
  const analyse = (lines) => {
    const samples = lines.filter((l) => l.soak);
    const steady = samples.filter((l) => l.t >= warmup);
    const start = steady[0];
    const end = steady[steady.length - 1];
    return {
      samples: samples.length,
      start,
      end,
      rssDelta: end.rss - start.rss,
      heapDelta: end.heapUsed - start.heapUsed,
      heapSlopePerMin: slope(steady.map((l) => ({ x: l.t / 60, y: l.heapUsed }))),
      rssSlopePerMin: slope(steady.map((l) => ({ x: l.t / 60, y: l.rss }))),
      ops: end.ops - start.ops,
      cpuMsPerKop: (end.cpuMs - start.cpuMs) / ((end.ops - start.ops) / 1000),
      agentStart: start.agent,
      agentEnd: end.agent,
      series: samples.map((l) => ({ t: l.t, rss: l.rss, heapUsed: l.heapUsed, agent: l.agent })),
    };
  };
  const res = { minutes: opts.minutes, level: opts.level, warmupSeconds: warmup, sampleEvery, agent: analyse(withAgent), baseline: analyse(without) };
  for (const [who, r] of [['agent   ', res.agent], ['baseline', res.baseline]]) {
    console.log(
      `soak ${who}: heap ${mb(r.start.heapUsed)} -> ${mb(r.end.heapUsed)} (${signedMb(r.heapDelta)}, slope ${signedMb(r.heapSlopePerMin)}/min); ` +
        `rss ${mb(r.start.rss)} -> ${mb(r.end.rss)} (${signedMb(r.rssDelta)}, slope ${signedMb(r.rssSlopePerMin)}/min); ` +
        `${r.ops} ops, ${r.cpuMsPerKop.toFixed(1)} CPU-ms per 1000 ops` +
        (r.agentEnd ? `; agent registry start ${JSON.stringify(r.agentStart)} end ${JSON.stringify(r.agentEnd)}` : ''),
    );
  }
  return res;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(opts.agent)) throw new Error(`${opts.agent} does not exist: build the agent first (npx tsc -p .)`);
  const out = { meta: { node: process.version, date: new Date().toISOString(), level: opts.level, agent: opts.agent } };
  const save = () => {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(out, null, 1));
  };
  if (!opts.skipHandles) {
    out.perHandle = await perHandle(opts);
    save();
  }
  if (!opts.skipSoak) {
    out.soak = await soak(opts);
    save();
  }
  console.log(`JSON: ${opts.out}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
