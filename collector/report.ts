/**
 * Turns the probe's raw state into findings. Pure: no I/O, no clock (the state carries `now`).
 *
 * Rules, by why the report was asked for:
 * - At the quiet point (`beforeExit`) and at exit nothing pending can ever settle: every pending task,
 *   promise and unreleased resource is a finding, whatever its age.
 * - Otherwise (threshold, timeout, signal, request) pending work is a finding once older than the threshold.
 * - OS handles and pools are findings only when they keep the process alive and the report was asked while
 *   it runs (timeout, signal, request): a listening server is normal while the app works.
 * - Settled tasks still reachable right after a full GC are `retained`, from two at one site: a single one
 *   held is what a variable keeping the last result does, or a library's queue keeping its last node (p-limit
 *   3's yocto-queue), not a leak.
 * - A plain promise (level `full`) made inside a library is a finding only once something awaited it; at an
 *   explicit `process.exit()`, none made in a function still running then (`runningAtExit`).
 * - Tasks and resources collected while pending are `unsettled`/`unreleased` with an `abandoned` count.
 * - Pool acquisitions (`resource`) still waiting for a resource (`queued`) are `unsettled`; handed out and
 *   not handed back (`running`/`pending`) they are `unreleased`.
 * - Queued work (never started) and started work are separate findings, even at one site.
 * - Listener records (one emitter+event or signal whose listener count kept rising) are `growth` while
 *   the count stays up.
 */
import type { Frame, HandleRecord, ProbeState, SiteCounters } from './probe-state';
import type { Finding, FindingKind, RelatedSite, Report, ReportReason } from './report-model';
import { SAMPLES_PER_FINDING } from './tags';

export interface BuildOptions {
  reason: ReportReason;
  thresholdMs: number;
  /**
   * At an `exit` report, the app's functions on the stack when `process.exit()` was called (sync and async
   * frames): an async function's own promise that is pending because it is still running (or awaiting the
   * one that is) is no finding: `async function main() { …; process.exit(0); }` leaves main's pending.
   */
  runningAtExit?: ReadonlyArray<{ file: string; function: string }>;
  argv?: string[];
  node?: string;
}

const PENDING = new Set(['pending', 'queued', 'running']);
const SETTLED = new Set(['fulfilled', 'rejected']);
/** One-shot timers shorter than this are not reported as keeping the process alive (they fire soon). */
const SHORT_TIMER_MS = 1000;
/** Settled tasks held at one site from which they are a `retained` finding (see the rules above). */
const MIN_RETAINED = 2;
const OS_HANDLES = new Set(['timer', 'interval', 'server', 'socket', 'worker', 'child-process']);
/** Reactions on one pending promise from which their attaching site is a `growth` finding (the probe's first checkpoint). */
const REACTIONS_GROWTH = 32;

interface Group {
  kind: FindingKind;
  records: HandleRecord[];
  site: number;
  counters?: SiteCounters;
  /** OS handles a pool's library opened on its own: the pool (the finding is at its creation line) and the handles' own site. */
  pool?: HandleRecord;
  handleSite?: number;
  /** Reaction growth: the finding is at the attaching site; these are the pending promises they hang on. */
  reactionsOn?: boolean;
}

/**
 * An OS handle opened by a library with no user frame on the stack (tarn's reaping interval) and owned by
 * a live pool of that library: reported at the pool's creation line, the user's line.
 */
function owningPool(record: HandleRecord, state: ProbeState, pools: Map<number, HandleRecord>): HandleRecord | undefined {
  if (record.owner === 0 || record.type === 'worker' || !OS_HANDLES.has(record.type)) return undefined;
  if (state.sites[record.site]?.user !== false) return undefined;
  return pools.get(record.owner);
}

function quietOrExit(reason: ReportReason): boolean {
  return reason === 'quiet' || reason === 'exit';
}

/** Which finding (if any) a live handle record makes. */
function classify(record: HandleRecord, state: ProbeState, options: BuildOptions, pools: Map<number, HandleRecord>): FindingKind | null {
  const age = state.now - record.createdAt;
  const overdue = quietOrExit(options.reason) || age >= options.thresholdMs;
  const asked = options.reason === 'timeout' || options.reason === 'signal' || options.reason === 'request';
  switch (record.type) {
    case 'task':
      if (PENDING.has(record.state)) return overdue ? 'unsettled' : null;
      // Still reachable right after a full GC, and settled long enough ago that holding it is not just
      // the consumer being about to read it.
      if (SETTLED.has(record.state) && state.afterGc && record.alive && (quietOrExit(options.reason) || state.now - record.settledAt >= options.thresholdMs)) return 'retained';
      return null;
    case 'promise':
      // A plain promise pending for long is normal while the app works (an async main, a long poll);
      // it is a finding when nothing can settle it any more, or when a report is asked for.
      if (!PENDING.has(record.state) || !overdue || options.reason === 'threshold') return null;
      // Made inside a library and awaited by nothing: the library's own bookkeeping (tarn's deferred for
      // each free resource), which holds nobody up. The probe counts it abandoned on the same terms.
      if (state.sites[record.site]?.library && (record.reactions ?? 0) === 0) return null;
      return options.reason === 'exit' && madeByRunning(state, record.site, options.runningAtExit) ? null : 'unsettled';
    case 'resource':
      if (!PENDING.has(record.state) || !overdue) return null;
      return record.state === 'queued' ? 'unsettled' : 'unreleased';
    case 'listener':
      return PENDING.has(record.state) ? 'growth' : null;
    case 'pool':
      return PENDING.has(record.state) && record.keepsProcessAlive && asked ? 'unreleased' : null;
    default:
      if (!OS_HANDLES.has(record.type)) return null;
      // Threads a pool started are reported with their pool.
      if (record.type === 'worker' && record.owner !== 0 && pools.has(record.owner)) return null;
      // A short one-shot timer keeps the process alive only until it fires: not what stops an exit.
      if (record.type === 'timer' && (record.delayMs ?? 0) < SHORT_TIMER_MS && age < options.thresholdMs) return null;
      return PENDING.has(record.state) && record.keepsProcessAlive && asked ? 'unreleased' : null;
  }
}

/**
 * True when the promise was made in a function that was still on the stack (or awaiting one that was) when
 * the app called `process.exit()`: by file and function name, so a promise a running async function made
 * of its own (`new Promise(() => {})` in main itself) is taken for main's and not reported at that exit.
 */
function madeByRunning(state: ProbeState, site: number, running: BuildOptions['runningAtExit']): boolean {
  if (!running || running.length === 0) return false;
  const frame = state.sites[site]?.frame;
  if (!frame || frame.function === null) return false;
  return running.some((r) => r.file === frame.file && r.function === frame.function);
}

function frameOf(state: ProbeState, site: number): Frame {
  return state.sites[site]?.frame ?? { file: '<unknown>', line: 0, column: 0, function: null };
}

function countStates(records: HandleRecord[]): Record<string, number> {
  const states: Record<string, number> = {};
  for (const r of records) states[r.state] = (states[r.state] ?? 0) + 1;
  return states;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const NOUN: Record<string, string> = {
  task: 'task',
  promise: 'promise',
  resource: 'resource',
  pool: 'pool',
  timer: 'timeout',
  interval: 'interval',
  server: 'server',
  socket: 'socket',
  worker: 'worker thread',
  'child-process': 'child process',
  listener: 'listener',
};

function summarise(kind: FindingKind, records: HandleRecord[], library: string, type: string, abandoned: number, state: ProbeState): string {
  const n = records.length;
  const lib = library === type || library === 'promise' || library === 'timers' ? '' : `${library} `;
  const things = (count: number, adjective = ''): string => `${count} ${adjective}${lib}${NOUN[type] ?? type}${count === 1 ? '' : 's'}`;
  const oldest = n > 0 ? state.now - Math.min(...records.map((r) => r.createdAt)) : 0;
  switch (kind) {
    case 'unreleased': {
      if (type === 'pool') {
        const threads = records.reduce((sum, r) => sum + (r.threads ?? 0), 0);
        const keeps = records.some((r) => r.keepsProcessAlive);
        const orphaned = records.every((r) => !r.alive) ? '; the pool object is unreachable: nothing can end it any more' : '';
        return `${things(n)} never ended${threads ? `, ${plural(threads, 'live thread')}` : ''}${keeps ? ` ${threads === 1 ? 'keeps' : 'keep'} the process alive` : ''}${orphaned}`;
      }
      if (n === 0) return `${things(abandoned)} collected without release`;
      const alive = records.some((r) => r.keepsProcessAlive) ? ', keeping the process alive' : '';
      return `${things(n)} not released for ${seconds(oldest)}${alive}`;
    }
    case 'unsettled':
      if (n === 0) return `${things(abandoned)} collected while pending (abandoned, never settled)`;
      if (records.every((r) => r.state === 'queued')) {
        return type === 'resource'
          ? `${plural(n, `${lib}acquisition`)} still waiting for a resource after ${seconds(oldest)}`
          : `${things(n, 'queued ')} never started (${seconds(oldest)})`;
      }
      return `${things(n, 'pending ')} for ${seconds(oldest)}, not keeping the process alive`;
    case 'retained':
      return `${things(n, 'settled ')} still reachable after a full GC`;
    default:
      if (type === 'listener') return records.map((r) => r.detail).filter(Boolean).join('; ') || `${things(n)} growing`;
      return `${things(n)} growing`;
  }
}

/** Builds the report from one probe state (or several: one per thread, merged). */
export function buildReport(states: ProbeState | ProbeState[], options: BuildOptions): Report {
  const all = Array.isArray(states) ? states : [states];
  const findings: Finding[] = [];
  const notices: string[] = [];
  const dropped = { handles: 0, sites: 0 };
  for (const state of all) {
    findings.push(...findingsOf(state, options));
    for (const n of state.notices) if (!notices.includes(n)) notices.push(n);
    dropped.handles += state.dropped.handles;
    dropped.sites += state.dropped.sites;
  }
  findings.sort(compareFindings);
  const main = all.find((s) => s.threadId === 0) ?? all[0];
  return {
    version: 1,
    tool: 'leak-agent',
    reason: options.reason,
    generatedAt: new Date(main ? main.now : 0).toISOString(),
    process: main
      ? {
          pid: main.pid,
          argv: options.argv ?? [],
          node: options.node ?? '',
          level: main.level,
          thresholdMs: options.thresholdMs,
          uptimeMs: main.now - main.startedAt,
        }
      : null,
    findings,
    dropped,
    notices,
  };
}

/**
 * Adds the findings of other threads' probe states (app worker threads) to a report built from the main
 * thread's state. Their `samples` are dropped: registry ids are per thread and a heap snapshot is of one
 * thread's heap, so they cannot be correlated with the main thread's snapshot. `options.reason` judges
 * them (the final states of threads that ended are judged as at `exit`: nothing pending there can settle).
 */
export function mergeThreadFindings(report: Report, states: ProbeState[], options: BuildOptions): void {
  if (states.length === 0) return;
  const added = buildReport(states, options);
  for (const f of added.findings) delete f.samples;
  report.findings.push(...added.findings);
  report.findings.sort(compareFindings);
  for (const n of added.notices) if (!report.notices.includes(n)) report.notices.push(n);
  report.dropped.handles += added.dropped.handles;
  report.dropped.sites += added.dropped.sites;
}

/** Kinds whose objects are worth finding in a heap snapshot (what holds them). */
const CORRELATED = new Set<FindingKind>(['retained', 'unsettled', 'unreleased']);

/** Report order: what keeps the process alive first, then by kind, count, and place. */
function compareFindings(a: Finding, b: Finding): number {
  return (
    Number(b.keepsProcessAlive) - Number(a.keepsProcessAlive) ||
    KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
    b.count - a.count ||
    a.site.file.localeCompare(b.site.file) ||
    a.site.line - b.site.line
  );
}

const KIND_ORDER: FindingKind[] = ['unreleased', 'unsettled', 'retained', 'growth'];

function findingsOf(state: ProbeState, options: BuildOptions): Finding[] {
  const pools = new Map<number, HandleRecord>();
  for (const r of state.handles) if (r.type === 'pool') pools.set(r.id, r);
  const groups = new Map<string, Group>();
  for (const record of state.handles) {
    const kind = classify(record, state, options, pools);
    if (!kind) continue;
    // Never started and started-but-stuck are different bugs: separate findings.
    const phase = record.state === 'queued' ? '|queued' : '';
    const pool = owningPool(record, state, pools);
    const site = pool ? pool.site : record.site;
    const key = `${kind}|${record.type}|${record.library}|${site}${phase}${pool ? `|${record.site}` : ''}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = pool ? { kind, records: [], site, pool, handleSite: record.site } : { kind, records: [], site }));
    group.records.push(record);
  }
  // Reactions piling up on a pending promise: growth at the line attaching them, held by that promise.
  for (const record of state.handles) {
    if (record.type !== 'promise' || !PENDING.has(record.state) || (record.reactions ?? 0) < REACTIONS_GROWTH) continue;
    const site = record.reactionSite || record.site;
    const key = `growth|reactions|${site}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { kind: 'growth', records: [], site, reactionsOn: true }));
    group.records.push(record);
  }
  // Work collected while still pending: abandoned.
  for (const c of state.counters) {
    if (c.abandoned === 0 || (c.type !== 'task' && c.type !== 'resource' && c.type !== 'promise')) continue;
    // An acquisition collected while still waiting never got its resource: unsettled, not unreleased.
    const waiting = c.type === 'resource' && (c.abandonedQueued ?? 0) === c.abandoned;
    const kind: FindingKind = c.type === 'resource' && !waiting ? 'unreleased' : 'unsettled';
    const key = `${kind}|${c.type}|${c.library}|${c.site}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { kind, records: [], site: c.site }));
    group.counters = c;
  }
  const findings: Finding[] = [];
  for (const group of groups.values()) {
    if (group.kind === 'retained' && group.records.length < MIN_RETAINED) continue;
    const first = group.records[0];
    const type = first?.type ?? group.counters!.type;
    const library = first?.library ?? group.counters!.library;
    const site = state.sites[group.site];
    const handleSite = group.handleSite !== undefined ? state.sites[group.handleSite] : undefined;
    const abandoned = group.counters?.abandoned ?? 0;
    const ages = group.records.map((r) => state.now - r.createdAt);
    const errors: Record<string, number> = {};
    for (const r of group.records) if (r.error) errors[r.error] = (errors[r.error] ?? 0) + 1;
    const reactions = group.records.reduce((n, r) => n + (r.reactions ?? 0), 0);
    const about = group.records.some((r) => r.reactionsEstimated) ? 'about ' : '';
    const finding: Finding = {
      kind: group.kind,
      site: frameOf(state, group.site),
      count: group.reactionsOn ? reactions : group.records.length + abandoned,
      keepsProcessAlive: group.records.some((r) => r.keepsProcessAlive),
      stack: handleSite ? [...handleSite.stack, site?.frame ?? frameOf(state, group.site)] : site?.stack ?? [],
      resource: type,
      library,
      summary: group.reactionsOn
        ? `${about}${plural(reactions, 'reaction')} attached to ${plural(group.records.length, 'pending promise')} that ${group.records.length === 1 ? 'has' : 'have'} not settled: each keeps what its callbacks capture reachable until ${group.records.length === 1 ? 'it settles' : 'they settle'}`
        : summarise(group.kind, group.records, library, type, abandoned, state) +
          (group.pool ? `, opened by its ${group.pool.library} pool (created here)` : '') +
          (type === 'promise' && reactions > 0 ? `, ${about}${plural(reactions, 'reaction')} attached` : ''),
      libraryFrame: handleSite ? handleSite.frame : site?.library ?? null,
      ageMs: { max: ages.length ? Math.max(...ages) : 0, min: ages.length ? Math.min(...ages) : 0 },
      states: countStates(group.records),
      errors,
      related: type === 'pool' ? relatedTasks(state, group.records) : group.reactionsOn ? heldBy(state, group.records) : [],
      threadId: state.threadId,
    };
    if (abandoned > 0) finding.abandoned = abandoned;
    if (group.records.length > 0 && CORRELATED.has(group.kind)) finding.samples = group.records.slice(0, SAMPLES_PER_FINDING).map((r) => r.id);
    findings.push(finding);
  }
  return findings;
}

/** The pending promises reactions hang on, per creation site (the `new Promise(() => {})` line). */
function heldBy(state: ProbeState, promises: HandleRecord[]): RelatedSite[] {
  const bySite = new Map<number, HandleRecord[]>();
  for (const p of promises) bySite.set(p.site, [...(bySite.get(p.site) ?? []), p]);
  return [...bySite].map(([site, records]) => ({
    role: 'held-by' as const,
    site: frameOf(state, site),
    count: records.length,
    states: countStates(records),
    errors: {},
  }));
}

/** The tasks submitted to these pools, per submitting site. */
function relatedTasks(state: ProbeState, pools: HandleRecord[]): RelatedSite[] {
  const ids = new Set(pools.map((p) => p.id));
  const related: RelatedSite[] = [];
  for (const c of state.counters) {
    if (c.type !== 'task' || !ids.has(c.owner)) continue;
    const live = state.handles.filter((h) => h.site === c.site && h.type === 'task' && PENDING.has(h.state)).length;
    const states: Record<string, number> = {};
    if (c.fulfilled) states.fulfilled = c.fulfilled;
    if (c.rejected) states.rejected = c.rejected;
    if (live) states.pending = live;
    const unknown = c.created - c.fulfilled - c.rejected - live;
    if (unknown > 0) states.unobserved = unknown;
    related.push({ role: 'tasks', site: frameOf(state, c.site), count: c.created, states, errors: { ...c.errors } });
  }
  return related;
}

/** Merges the reports of several processes (a command's process tree) into one. */
export function mergeReports(reports: Report[], reason: ReportReason): Report {
  const first = reports[0];
  const findings = reports.flatMap((r) => r.findings.map((f) => ({ ...f, pid: r.process?.pid })));
  findings.sort(compareFindings);
  const notices = [...new Set(reports.flatMap((r) => r.notices))];
  return {
    version: 1,
    tool: 'leak-agent',
    reason,
    generatedAt: first?.generatedAt ?? new Date(0).toISOString(),
    process: first?.process ?? null,
    findings,
    dropped: {
      handles: reports.reduce((n, r) => n + r.dropped.handles, 0),
      sites: reports.reduce((n, r) => n + r.dropped.sites, 0),
    },
    notices,
  };
}
