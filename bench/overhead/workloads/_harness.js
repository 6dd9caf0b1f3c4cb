'use strict';
// Shared by every workload process: parameters in, one JSON result line out.
// A workload does a warm-up (not measured), then a fixed amount of work measured with
// process.cpuUsage() (user + system, all threads of the process), the main thread's own CPU time where
// the system tells it, and wall time.
const { readFileSync } = require('node:fs');

/** Parameters come as one JSON argument so run.mjs can pass anything without a flag parser. */
function params(defaults) {
  const given = process.argv[2] ? JSON.parse(process.argv[2]) : {};
  return { ...defaults, ...given };
}

/**
 * CPU time (ms) of the main thread alone, or null where it cannot be read (not Linux). process.cpuUsage()
 * counts every thread: V8's compiler and GC helper threads too, which run beside the app's thread on
 * another core. Read from /proc/self/task/<pid>/schedstat (nanoseconds on CPU, user and system; the main
 * thread's id is the pid); Node 20 has no process.threadCpuUsage().
 */
function mainThreadCpuMs() {
  try {
    const ns = Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'latin1').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    return null;
  }
}

/** CPU of the whole process and of its main thread since `start` (from `cpuMark()`), in ms. */
function cpuSince(start) {
  const cpu = process.cpuUsage(start.cpu);
  const main = mainThreadCpuMs();
  return { cpuMs: (cpu.user + cpu.system) / 1000, userMs: cpu.user / 1000, sysMs: cpu.system / 1000, mainCpuMs: main === null || start.main === null ? null : main - start.main };
}

function cpuMark() {
  return { cpu: process.cpuUsage(), main: mainThreadCpuMs() };
}

/** Runs `fn` (sync or async) and returns its result merged with CPU and wall time in ms. */
async function measure(fn) {
  const mark = cpuMark();
  const t0 = process.hrtime.bigint();
  const extra = await fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ...cpuSince(mark), wallMs, ...extra };
}

/**
 * A CPU-time budget for the measured phase: `over()` turns true once the process has used more than
 * `ms` of CPU since the budget was made (checked every 256 calls; cpuUsage costs about a microsecond).
 * Baseline runs finish their fixed work well inside it; a much slower variant stops early and
 * reports the ops it did, so a run stays bounded in time. Throughput is per CPU-second either way.
 */
function cpuBudget(ms) {
  if (!(ms > 0)) return { over: () => false, hit: () => false };
  const start = process.cpuUsage();
  let calls = 0;
  let hit = false;
  return {
    over() {
      if (hit) return true;
      if ((++calls & 255) !== 0) return false;
      const c = process.cpuUsage(start);
      hit = (c.user + c.system) / 1000 > ms;
      return hit;
    },
    hit: () => hit,
  };
}

/** Percentile of an already sorted numeric array (nearest rank). */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** What the agent says about itself, if it is loaded and exposes its registry. Never throws. */
function agentCounts() {
  try {
    const api = globalThis[Symbol.for('leak-agent')];
    if (!api || typeof api.read !== 'function') return null;
    const state = api.read();
    const len = (x) => (Array.isArray(x) ? x.length : typeof x === 'number' ? x : null);
    return { handles: len(state && state.handles), sites: len(state && state.sites), dropped: state ? state.dropped : null };
  } catch (err) {
    return { error: String(err && err.message) };
  }
}

/**
 * Prints the result as one line tagged `leakAgentBench` (preloads may print to stdout too),
 * then lets the process end on its own; if something keeps it alive, exit after a grace period.
 */
function emit(result) {
  const line = JSON.stringify({ leakAgentBench: 1, pid: process.pid, agent: agentCounts(), ...result });
  process.stdout.write(`\n${line}\n`);
  setTimeout(() => process.exit(0), 3000).unref();
}

function fail(err) {
  process.stderr.write(`workload failed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}

module.exports = { params, measure, cpuMark, cpuSince, cpuBudget, percentile, emit, fail };
