#!/usr/bin/env node
// Overhead bench: each workload runs without a preload (baseline) and with each variant, in
// ABBA-ordered pairs (pair 0: baseline then variant, pair 1: variant then baseline, ...), each run
// a fresh process doing a fixed amount of work. Per pair we compute the CPU-time throughput ratio
// variant/baseline (ops per CPU-second); the summary is the median over pairs with its IQR, and for
// the HTTP workload the median added client-side p99 (and p50) latency. A `control` variant runs
// the baseline against itself so the noise floor is printed next to the real figures.
//
//   node bench/overhead/run.mjs [--pairs 8] [--quick] [--suite default|extra|all] [--workloads a,b] [--variants x,y]
//                               [--scale 1] [--agent dist/agent/index.js] [--out file] [--timeout 180]
//
// Results: a table on stdout, and JSON (raw runs + summary) in bench/.cache/overhead.json, rewritten
// after every round so an interrupted run still leaves its data.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const o = { pairs: 8, quick: false, suite: 'default', workloads: null, variants: null, scale: 1, agent: join(root, 'dist', 'agent', 'index.js'), out: join(root, 'bench', '.cache', 'overhead.json'), timeout: 180, budget: 4000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--pairs') o.pairs = positiveInt(a, next());
    else if (a === '--workloads') o.workloads = next().split(',').filter(Boolean);
    else if (a === '--suite') {
      o.suite = next();
      if (!SUITES.includes(o.suite)) throw new Error(`--suite must be one of ${SUITES.join(', ')}, got ${o.suite}`);
    }
    else if (a === '--variants') o.variants = next().split(',').filter(Boolean);
    else if (a === '--scale') o.scale = positiveNumber(a, next());
    else if (a === '--agent') o.agent = resolve(next());
    else if (a === '--out') o.out = resolve(next());
    else if (a === '--timeout') o.timeout = positiveNumber(a, next());
    else if (a === '--budget') o.budget = positiveNumber(a, next());
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown option ${a} (try --help)`);
  }
  if (o.quick) {
    if (!argv.includes('--pairs')) o.pairs = 2;
    if (!argv.includes('--scale')) o.scale = 0.25;
    if (!argv.includes('--budget')) o.budget = 1000;
  }
  return o;
}
function positiveInt(name, v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}
function positiveNumber(name, v) {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Workloads and variants

/**
 * Work sizes scale with --scale; `warmup` does not (so JIT state is comparable); `fixed` parameters are
 * passed as they are. The default suite is the first five; `--suite extra` runs the ordinary-workload
 * suite (timers, emitters, plain HTTP, TCP churn, fs/streams, workers, child processes, pure CPU, and
 * whole-process start-up), `--suite all` both; `--workloads` picks any of them by name.
 */
const WORKLOADS = {
  'async-chains': { file: 'async-chains.js', size: { ops: 400000 } },
  'promise-ctor': { file: 'promise-ctor.js', size: { ops: 1000000 } },
  'http-pool': { file: 'http-pool.js', size: { requests: 12000 }, latency: true },
  piscina: { file: 'piscina.js', size: { ops: 30000 } },
  'pool-loop': { file: 'pool-loop.js', size: { ops: 1000000 } },
  // --suite extra
  timers: { file: 'timers.js', size: { ops: 200000 }, suite: 'extra' },
  emitters: { file: 'emitters.js', size: { ops: 300000 }, suite: 'extra' },
  'http-plain': { file: 'http-plain.js', size: { requests: 15000 }, latency: true, suite: 'extra' },
  'net-churn': { file: 'net-churn.js', size: { ops: 8000 }, suite: 'extra' },
  'streams-fs': { file: 'streams-fs.js', size: { ops: 2500 }, suite: 'extra' },
  workers: { file: 'workers.js', size: { ops: 20000 }, suite: 'extra' },
  'child-spawn': { file: 'child-spawn.js', size: { ops: 400 }, suite: 'extra' },
  cpu: { file: 'cpu.js', size: { ops: 400000 }, suite: 'extra' },
  'p-limit': { file: 'p-limit.js', size: { ops: 2000000 }, suite: 'extra' },
  'startup-cjs': { file: 'startup.js', size: { runs: 12 }, fixed: { kind: 'cjs', work: 0 }, suite: 'extra' },
  'startup-esm': { file: 'startup.js', size: { runs: 12 }, fixed: { kind: 'esm', work: 0 }, suite: 'extra' },
  'short-script': { file: 'startup.js', size: { runs: 4 }, fixed: { kind: 'cjs', work: 800 }, suite: 'extra' },
  'startup-thread': { file: 'startup.js', size: { runs: 12 }, fixed: { kind: 'thread', work: 0 }, suite: 'extra' },
};
const SUITES = ['default', 'extra', 'all'];

const whyPreload = join(root, 'node_modules', 'why-is-node-running', 'include.js');

/**
 * A variant is the preload and environment a run gets. Every run also gets a CPU budget
 * (`--budget`, ms): baseline runs finish their fixed work well inside it, a variant many times
 * slower stops at the budget and reports the ops it did. Throughput is per CPU-second, so the
 * ratio stays comparable; only the sample is smaller.
 */
function variants(opts) {
  const agent = (level) => ({ name: level, execArgv: ['--require', opts.agent], env: { LEAK_AGENT_LEVEL: level }, needsAgent: true });
  return {
    control: { name: 'control', execArgv: [], env: {}, note: 'baseline vs baseline: the noise floor' },
    off: agent('off'),
    sample: agent('sample'),
    full: agent('full'),
    why: { name: 'why', execArgv: ['--require', whyPreload], env: {}, note: "why-is-node-running's preload (why-is-node-running/include)" },
  };
}
const BASELINE = { name: 'baseline', execArgv: [], env: {} };

/** The children get a clean environment: no NODE_OPTIONS and no LEAK_AGENT_* from the caller. */
function childEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('LEAK_AGENT_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Running one process

function runOnce(workload, variant, opts) {
  const w = WORKLOADS[workload];
  const size = { maxCpuMs: opts.budget };
  for (const [k, v] of Object.entries(w.size)) size[k] = Math.max(1, Math.round(v * opts.scale));
  Object.assign(size, w.fixed);
  const args = [...variant.execArgv, join(here, 'workloads', w.file), JSON.stringify(size)];
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, args, { env: childEnv(variant.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').reverse().find((l) => l.startsWith('{"leakAgentBench"'));
      if (code !== 0 || !line) {
        resolveRun({ ok: false, error: `exit ${code}${signal ? ` (${signal})` : ''}: ${err.trim().split('\n').slice(-3).join(' | ') || 'no result line'}` });
        return;
      }
      const r = JSON.parse(line);
      resolveRun({ ok: true, ...r, throughput: r.ops / (r.cpuMs / 1000) });
    });
  });
}

/** Can the agent be preloaded at this level at all? A broken build should skip, not stall, the bench. */
function probeAgent(opts, level) {
  if (!existsSync(opts.agent)) return { ok: false, reason: `${opts.agent} does not exist (build with npx tsc -p .)` };
  const code = "const a=globalThis[Symbol.for('leak-agent')];console.log(JSON.stringify({exposed:!!a,read:!!(a&&typeof a.read==='function')}))";
  const r = spawnSync(process.execPath, ['--require', opts.agent, '-e', code], { env: childEnv({ LEAK_AGENT_LEVEL: level }), encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) return { ok: false, reason: `preload at ${level} exited ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').slice(-2).join(' | ')}` };
  const last = (r.stdout || '').trim().split('\n').pop();
  let info = {};
  try {
    info = JSON.parse(last);
  } catch {
    /* the agent printed something else last; still usable */
  }
  return { ok: true, ...info };
}

// ---------------------------------------------------------------------------------------------
// Statistics

function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

function summarize(pairs) {
  const ok = pairs.filter((p) => p.a.ok && p.b.ok);
  const ratios = ok.map((p) => p.b.throughput / p.a.throughput);
  const s = {
    pairs: ok.length,
    failed: pairs.length - ok.length,
    median: quantile(ratios, 0.5),
    q1: quantile(ratios, 0.25),
    q3: quantile(ratios, 0.75),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    budgetHit: { baseline: ok.filter((p) => p.a.budgetHit).length, variant: ok.filter((p) => p.b.budgetHit).length },
    baselineCpuUsPerOp: quantile(ok.map((p) => (p.a.cpuMs * 1000) / p.a.ops), 0.5),
    variantCpuUsPerOp: quantile(ok.map((p) => (p.b.cpuMs * 1000) / p.b.ops), 0.5),
  };
  // The same ratio on the main thread's CPU alone (Linux): without V8's compiler and GC helper threads,
  // which run beside the app's thread, on another core.
  const onMain = ok.filter((p) => p.a.mainCpuMs > 0 && p.b.mainCpuMs > 0);
  if (onMain.length > 0) {
    const mainRatios = onMain.map((p) => p.b.ops / p.b.mainCpuMs / (p.a.ops / p.a.mainCpuMs));
    s.mainMedian = quantile(mainRatios, 0.5);
    s.mainQ1 = quantile(mainRatios, 0.25);
    s.mainQ3 = quantile(mainRatios, 0.75);
  }
  const lat = ok.filter((p) => p.a.latencyMs && p.b.latencyMs);
  if (lat.length > 0) {
    s.p99AddedPct = quantile(lat.map((p) => (p.b.latencyMs.p99 / p.a.latencyMs.p99 - 1) * 100), 0.5);
    s.p50AddedPct = quantile(lat.map((p) => (p.b.latencyMs.p50 / p.a.latencyMs.p50 - 1) * 100), 0.5);
    s.p99AddedMs = quantile(lat.map((p) => p.b.latencyMs.p99 - p.a.latencyMs.p99), 0.5);
    s.baselineP99Ms = quantile(lat.map((p) => p.a.latencyMs.p99), 0.5);
  }
  const agents = ok.map((p) => p.b.agent).filter(Boolean);
  if (agents.length > 0) s.agentAtEnd = agents[agents.length - 1];
  return s;
}

// ---------------------------------------------------------------------------------------------
// Output

const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : '-');
const pct = (x) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(1)}%` : '-');

function table(summary, workloadNames, variantNames) {
  const rows = [['workload', 'variant', 'median ratio', 'IQR', 'main thread', 'p99 added', 'p50 added', 'µs/op base→variant', 'pairs']];
  for (const w of workloadNames) {
    for (const v of variantNames) {
      const s = summary[w]?.[v];
      if (!s) continue;
      if (s.skipped) {
        rows.push([w, v, 'skipped', '', '', '', '', '', s.skipped.length > 60 ? `${s.skipped.slice(0, 57)}...` : s.skipped]);
        continue;
      }
      rows.push([
        w,
        v,
        f3(s.median),
        `${f3(s.q1)}–${f3(s.q3)}`,
        s.mainMedian === undefined ? '' : `${f3(s.mainMedian)} (${f3(s.mainQ1)}–${f3(s.mainQ3)})`,
        s.p99AddedPct === undefined ? '' : pct(s.p99AddedPct),
        s.p50AddedPct === undefined ? '' : pct(s.p50AddedPct),
        `${f2(s.baselineCpuUsPerOp)}→${f2(s.variantCpuUsPerOp)}${s.budgetHit.variant ? ' *' : ''}`,
        `${s.pairs}${s.failed ? ` (+${s.failed} failed)` : ''}`,
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => String(cell).padEnd(widths[c])).join('  ').trimEnd();
    return i === 0 ? `${line}\n${widths.map((n) => '-'.repeat(n)).join('  ')}` : line;
  }).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(readHelp());
    return;
  }
  const allVariants = variants(opts);
  const inSuite = (name) => opts.suite === 'all' || (WORKLOADS[name].suite ?? 'default') === opts.suite;
  const workloadNames = opts.workloads ?? Object.keys(WORKLOADS).filter(inSuite);
  for (const w of workloadNames) if (!WORKLOADS[w]) throw new Error(`unknown workload ${w}; known: ${Object.keys(WORKLOADS).join(', ')}`);
  const variantNames = opts.variants ?? Object.keys(allVariants);
  for (const v of variantNames) if (!allVariants[v]) throw new Error(`unknown variant ${v}; known: ${Object.keys(allVariants).join(', ')}`);

  const skipped = {};
  const agentInfo = {};
  for (const v of variantNames) {
    const variant = allVariants[v];
    if (!variant.needsAgent) continue;
    const probe = probeAgent(opts, variant.env.LEAK_AGENT_LEVEL);
    agentInfo[v] = probe;
    if (!probe.ok) skipped[v] = probe.reason;
  }
  if (!existsSync(whyPreload) && variantNames.includes('why')) skipped.why = `${whyPreload} missing`;
  for (const [v, why] of Object.entries(skipped)) console.error(`skipping variant ${v}: ${why}`);
  const active = variantNames.filter((v) => !skipped[v]);

  console.error(`overhead bench: ${workloadNames.length} workloads × ${active.length} variants × ${opts.pairs} pairs (scale ${opts.scale}); node ${process.version}, ${cpus().length} CPUs`);
  const data = {}; // workload -> variant -> [{order, a, b}]
  for (const w of workloadNames) {
    data[w] = {};
    for (const v of active) data[w][v] = [];
  }
  const broken = {}; // `${w}/${v}` -> error; a variant failing twice in a row on a workload is dropped there
  const started = Date.now();
  const meta = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, date: new Date().toISOString(), commit: gitHead(), pairs: opts.pairs, scale: opts.scale, quick: opts.quick, agent: opts.agent, agentInfo, skipped };

  for (let pair = 0; pair < opts.pairs; pair++) {
    const baselineFirst = pair % 2 === 0; // ABBA: A B | B A | A B | ...
    // Rotate the variant order each round so no variant always runs at the same point of a round.
    const order = active.map((_, i) => active[(i + pair) % active.length]);
    for (const w of workloadNames) {
      for (const v of order) {
        if (broken[`${w}/${v}`]?.count >= 2) continue;
        const variant = allVariants[v];
        let a;
        let b;
        if (baselineFirst) {
          a = await runOnce(w, BASELINE, opts);
          b = await runOnce(w, variant, opts);
        } else {
          b = await runOnce(w, variant, opts);
          a = await runOnce(w, BASELINE, opts);
        }
        data[w][v].push({ pair, order: baselineFirst ? 'AB' : 'BA', a, b });
        const bad = !a.ok ? `baseline: ${a.error}` : !b.ok ? `${v}: ${b.error}` : null;
        if (bad) {
          const key = `${w}/${v}`;
          broken[key] = { count: (broken[key]?.count ?? 0) + 1, error: bad };
          console.error(`  ${w} ${v} pair ${pair} failed: ${bad}`);
        } else if (broken[`${w}/${v}`]) {
          broken[`${w}/${v}`].count = 0;
        }
      }
    }
    const elapsed = (Date.now() - started) / 1000;
    console.error(`pair ${pair + 1}/${opts.pairs} done, ${elapsed.toFixed(0)} s elapsed`);
    write(opts.out, meta, data, workloadNames, active, skipped, broken, false);
  }
  const summary = write(opts.out, meta, data, workloadNames, active, skipped, broken, true);
  console.log(table(summary, workloadNames, [...active, ...Object.keys(skipped)]));
  console.log(`\nratio = variant/baseline CPU-time throughput (ops per CPU-second), median of ${opts.pairs} ABBA pairs; IQR = quartiles of the per-pair ratios;`);
  console.log('main thread = the same ratio on the main thread\'s CPU alone (Linux), without the threads V8 compiles and collects garbage on;');
  console.log('  not the measure for workloads whose work runs in worker threads (piscina, workers). p99/p50 added = median per-pair change of client-side latency (HTTP workloads only).');
  console.log(`* = the variant's runs stopped at the ${opts.budget} ms CPU budget (fewer ops, same per-CPU-second measure). JSON: ${opts.out}`);
}

function write(out, meta, data, workloadNames, active, skipped, broken, done) {
  const summary = {};
  for (const w of workloadNames) {
    summary[w] = {};
    for (const v of active) summary[w][v] = summarize(data[w][v]);
    for (const [v, why] of Object.entries(skipped)) summary[w][v] = { skipped: why };
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ meta: { ...meta, complete: done }, summary, broken, runs: data }, null, 1));
  return summary;
}

function gitHead() {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function readHelp() {
  return `usage: node bench/overhead/run.mjs [options]
  --pairs N        ABBA pairs per workload × variant (default 8; --quick: 2)
  --quick          smoke run: 2 pairs, work scaled to 0.25, budget 1000 ms (about 2 minutes)
  --budget MS      CPU budget per run: a slower variant stops there (default 4000; --quick: 1000)
  --scale F        multiply every workload's work size by F (default 1)
  --suite S        default (the first five below), extra (the rest: ordinary workloads), or all
  --workloads a,b  any of: ${Object.keys(WORKLOADS).join(', ')}
  --variants x,y   subset of: control, off, sample, full, why
  --agent PATH     agent preload (default dist/agent/index.js)
  --out FILE       JSON output (default bench/.cache/overhead.json)
  --timeout S      kill a run after S seconds (default 180)`;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
