/**
 * The `analyze` report for an offline heap snapshot: pending-promise census grouped by what holds the
 * promises, largest retainers by retained size, and growth by constructor and by allocation site against
 * a baseline snapshot of the same process.
 *
 * "Pending" from snapshot data alone (see DESIGN.md): a Promise node has an internal edge
 * `reactions_or_result`.
 *   - to a `system / PromiseReaction`  -> pending, and something awaits it or called `then` on it;
 *   - to any other value               -> settled with that value (an Error value usually means rejected);
 *   - no such edge                     -> ambiguous: pending with no reactions, OR fulfilled with
 *                                         `undefined` or a small integer (V8 writes no edge for those).
 * A live target's `[[PromiseState]]` (inspector census) resolves the ambiguity; a snapshot cannot.
 */
import type { Frame } from './probe-state';
import type { RetainerStep } from './report-model';
import type { HeapGraph } from './snapshot/graph';
import { dominatorTree, UNREACHABLE } from './snapshot/dominators';
import { retainerPathRaw, retainerTree, NONE } from './snapshot/retainers';
import { allocationSite, describeNode, isPromiseNode, nameRetainerPath, siteOf, type NamingOptions } from './snapshot/naming';

/** Promise states as far as a snapshot can tell. */
export type SnapshotPromiseState = 'pending-awaited' | 'settled' | 'settled-error' | 'pending-or-trivially-settled';

/** Promises grouped by the holder that keeps them reachable. */
export interface PromiseGroup {
  /** `Map entry in variable inFlight (module scope, app.js:8)`. */
  holder: string;
  site?: Frame;
  count: number;
  states: Partial<Record<SnapshotPromiseState, number>>;
  /** Sum of the promises' retained sizes. */
  retainedBytes: number;
  /** Heap object id of one promise of the group, and its full path. */
  example: { id: number; retainers: RetainerStep[] };
}

/** One of the largest retainers. */
export interface RetainerEntry {
  id: number;
  name: string;
  type: string;
  site?: Frame;
  selfBytes: number;
  retainedBytes: number;
  retainers: RetainerStep[];
}

/** One row of a growth table. */
export interface GrowthRow {
  key: string;
  site?: Frame;
  before: { count: number; bytes: number };
  after: { count: number; bytes: number };
  deltaCount: number;
  deltaBytes: number;
}

/** What `leak-agent analyze` collects and prints (text or `--json`). */
export interface SnapshotAnalysis {
  version: 1;
  tool: 'leak-agent';
  reason: 'snapshot';
  generatedAt: string;
  file: string;
  baseline: string | null;
  snapshot: { bytes: number; nodes: number; edges: number; reachableNodes: number; reachableBytes: number; allocationTraces: boolean };
  promises: {
    total: number;
    states: Partial<Record<SnapshotPromiseState, number>>;
    /** How "pending" was decided, and what a snapshot cannot tell. */
    criterion: string;
    groups: PromiseGroup[];
  };
  largest: RetainerEntry[];
  growth: {
    byConstructor: GrowthRow[];
    bySite: GrowthRow[];
    /** `allocation-traces` when both snapshots have them, else `constructor-locations`. */
    siteSource: 'allocation-traces' | 'constructor-locations';
  } | null;
  notices: string[];
}

/** Options for {@link analyzeSnapshot}. */
export interface AnalyzeOptions extends NamingOptions {
  top?: number;
  file?: string;
  bytes?: number;
  baselineFile?: string;
  baselineBytes?: number;
}

export const PENDING_CRITERION =
  'A Promise is pending-awaited when its reactions_or_result edge leads to a PromiseReaction, settled when it leads to a value ' +
  '(settled-error: the value is an Error), and pending-or-trivially-settled when there is no such edge: then it is either pending ' +
  'with no reactions or fulfilled with undefined or a small integer; a snapshot alone cannot tell these apart (a live target can).';

/** The state of a Promise node as far as the snapshot can tell. */
export function promiseState(graph: HeapGraph, node: number): SnapshotPromiseState {
  const end = graph.firstEdge[node + 1];
  for (let e = graph.firstEdge[node]; e < end; e++) {
    if (graph.edgeTypeIndex(e) !== graph.edgeTypeInternal || graph.edgeName(e) !== 'reactions_or_result') continue;
    const t = graph.edgeTarget(e);
    const name = graph.nodeName(t);
    if (name === 'system / PromiseReaction') return 'pending-awaited';
    if (graph.nodeTypeIndex(t) === graph.nodeTypeObject && /(^|[a-z])Error$/.test(name)) return 'settled-error';
    return 'settled';
  }
  return 'pending-or-trivially-settled';
}

/**
 * Groups a promise's path by its holder: the steps before the promise, nearest first, up to the first
 * named one (a variable, a property, a suspended function, a GC root), keys of Map entries dropped.
 */
function holderOf(steps: RetainerStep[]): { holder: string; site?: Frame } {
  if (steps.length < 2) return { holder: 'unreachable (garbage at snapshot time)' };
  const parts: string[] = [];
  let site: Frame | undefined;
  for (let j = steps.length - 2; j >= 0 && parts.length < 4; j--) {
    const name = steps[j].name.replace(/ \(key [^)]*\)$/, '').replace(/^index \d+ of /, 'element of ');
    parts.push(name);
    if (/^(variable|property|GC root|local or argument|async function|generator|async generator|result promise)/.test(name)) {
      site = steps[j].site ?? site;
      break;
    }
    site ??= steps[j].site;
  }
  const holder = parts.join(' in ');
  return site ? { holder, site } : { holder };
}

const EXCLUDED_LARGEST = new Set(['global', 'Window', 'system / NativeContext']);

function isCandidate(graph: HeapGraph, node: number): boolean {
  const t = graph.nodeTypeIndex(node);
  if (t !== graph.nodeTypeObject && t !== graph.nodeTypeClosure && t !== graph.nodeTypeArray) return false;
  const name = graph.nodeName(node);
  if (name.startsWith('system /') || EXCLUDED_LARGEST.has(name)) return false;
  return true;
}

/** Top `k` candidate nodes by retained size (a small sorted buffer, one pass). */
function topRetained(graph: HeapGraph, retained: Float64Array, k: number): number[] {
  const top: number[] = [];
  let min = -1;
  for (let i = 0; i < graph.nodeCount; i++) {
    const r = retained[i];
    if (r <= min || r === 0) continue;
    if (!isCandidate(graph, i)) continue;
    let j = top.length;
    top.push(i);
    while (j > 0 && retained[top[j - 1]] < r) {
      top[j] = top[j - 1];
      j--;
    }
    top[j] = i;
    if (top.length > k) top.pop();
    if (top.length === k) min = retained[top[k - 1]];
  }
  return top;
}

function largestRetainers(graph: HeapGraph, top: number, opts: NamingOptions): RetainerEntry[] {
  const dom = dominatorTree(graph);
  const picked = topRetained(graph, dom.retained, top * 5);
  const chosen: number[] = [];
  // Skip an entry whose dominator chain reaches an already chosen node of about the same size: it is the
  // same memory seen one level down (a Map and its backing table).
  for (const node of picked) {
    let dup = false;
    for (let d = dom.dominator[node], hops = 0; d !== UNREACHABLE && d !== graph.rootIndex && hops < 64; d = dom.dominator[d], hops++) {
      if (chosen.includes(d) && dom.retained[d] <= dom.retained[node] * 1.25) {
        dup = true;
        break;
      }
    }
    if (!dup) chosen.push(node);
    if (chosen.length >= top * 3) break;
  }
  const entries = chosen.map((node) => {
    const raw = retainerPathRaw(graph, node);
    const d = describeNode(graph, node, opts);
    const entry: RetainerEntry = {
      id: graph.nodeId(node),
      name: d.name,
      type: graph.nodeType(node),
      selfBytes: graph.selfSize(node),
      retainedBytes: dom.retained[node],
      retainers: raw ? nameRetainerPath(graph, raw, opts) : [],
    };
    if (d.site) entry.site = d.site;
    return entry;
  });
  // User code first: entries whose every known site is a Node.js internal (`node:`) go last.
  const internal = (e: RetainerEntry): boolean => {
    const sites = [e.site, ...e.retainers.map((s) => s.site)].filter((s): s is Frame => s !== undefined);
    return sites.length > 0 && sites.every((s) => s.file.startsWith('node:'));
  };
  return [...entries.filter((e) => !internal(e)), ...entries.filter(internal)].slice(0, top);
}

function promiseCensus(graph: HeapGraph, top: number, opts: NamingOptions): SnapshotAnalysis['promises'] {
  const dom = dominatorTree(graph);
  const tree = retainerTree(graph);
  const states: Partial<Record<SnapshotPromiseState, number>> = {};
  const groups = new Map<string, PromiseGroup>();
  // Paths are named per distinct parent node: promises held by one Map share their holder's naming.
  const byParent = new Map<number, { holder: string; site?: Frame; steps: RetainerStep[] }>();
  let total = 0;
  for (let i = 0; i < graph.nodeCount; i++) {
    if (!isPromiseNode(graph, i)) continue;
    total++;
    const st = promiseState(graph, i);
    states[st] = (states[st] ?? 0) + 1;
    const parent = tree.parentNode[i];
    const parentKey = parent === NONE ? -1 : parent;
    let h = byParent.get(parentKey);
    if (!h) {
      const raw = parent === NONE ? null : retainerPathRaw(graph, i);
      const steps = raw ? nameRetainerPath(graph, raw, opts) : [];
      h = { ...holderOf(steps), steps };
      if (byParent.size < 100_000) byParent.set(parentKey, h);
    }
    let g = groups.get(h.holder);
    if (!g) {
      g = { holder: h.holder, count: 0, states: {}, retainedBytes: 0, example: { id: graph.nodeId(i), retainers: h.steps } };
      if (h.site) g.site = h.site;
      groups.set(h.holder, g);
    }
    g.count++;
    g.states[st] = (g.states[st] ?? 0) + 1;
    g.retainedBytes += dom.retained[i];
  }
  const sorted = [...groups.values()].sort((a, b) => b.count - a.count || b.retainedBytes - a.retainedBytes).slice(0, top);
  return { total, states, criterion: PENDING_CRITERION, groups: sorted };
}

/** Aggregation key of a node for "by constructor": type index and name index, strings and numbers folded. */
function constructorKey(graph: HeapGraph, node: number): string {
  const t = graph.nodeType(node);
  switch (t) {
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'number':
      return '(number)';
    case 'closure':
      return `function ${graph.nodeName(node) || '(anonymous)'}`;
    case 'object':
      return graph.nodeName(node);
    case 'code':
    case 'hidden':
    case 'object shape':
      return `(system) ${graph.nodeName(node).replace(/^system \/ /, '')}`;
    default:
      return `(${t}) ${graph.nodeName(node)}`.trim();
  }
}

interface Tally {
  count: number;
  bytes: number;
  site?: Frame;
}

function tallyConstructors(graph: HeapGraph): Map<string, Tally> {
  const dom = dominatorTree(graph);
  const m = new Map<string, Tally>();
  // Names repeat: memoise the key per (type, name index) pair.
  const keyCache = new Map<number, string>();
  for (let i = 0; i < graph.nodeCount; i++) {
    if (dom.dominator[i] === UNREACHABLE) continue;
    const ck = graph.nodeTypeIndex(i) * 0x100000000 + graph.nodeNameIndex(i);
    let key = keyCache.get(ck);
    if (key === undefined) {
      key = constructorKey(graph, i);
      keyCache.set(ck, key);
    }
    let t = m.get(key);
    if (!t) m.set(key, (t = { count: 0, bytes: 0 }));
    t.count++;
    t.bytes += graph.selfSize(i);
  }
  return m;
}

function tallySites(graph: HeapGraph, traces: boolean): Map<string, Tally> {
  const m = new Map<string, Tally>();
  const add = (key: string, node: number, site: Frame | null): void => {
    let t = m.get(key);
    if (!t) {
      t = { count: 0, bytes: 0 };
      if (site) t.site = site;
      m.set(key, t);
    }
    t.count++;
    t.bytes += graph.selfSize(node);
  };
  if (traces) {
    for (let i = 0; i < graph.nodeCount; i++) {
      const site = allocationSite(graph, i);
      if (site) add(`${site.function ?? '(anonymous)'} ${site.file}:${site.line}:${site.column}`, i, site);
    }
    return m;
  }
  const L = graph.locations;
  const F = graph.locationFieldCount;
  const siteCache = new Map<string, Frame | null>();
  for (let r = 0; r + F <= L.length; r += F) {
    const node = L[r];
    const t = graph.nodeTypeIndex(node);
    if (t !== graph.nodeTypeObject && t !== graph.nodeTypeClosure) continue;
    const name = graph.nodeName(node);
    const label = t === graph.nodeTypeClosure ? `function ${name || '(anonymous)'}` : name;
    const key = `${label} @${L[r + 1]}:${L[r + 2]}:${L[r + 3]}`;
    let site = siteCache.get(key);
    if (site === undefined) {
      site = siteOf(graph, node, name || null);
      siteCache.set(key, site);
    }
    add(site ? `${label} ${site.file}:${site.line}:${site.column}` : key, node, site);
  }
  return m;
}

function diffTallies(before: Map<string, Tally>, after: Map<string, Tally>, top: number): GrowthRow[] {
  const rows: GrowthRow[] = [];
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, bytes: 0 };
    const deltaBytes = a.bytes - b.bytes;
    const deltaCount = a.count - b.count;
    if (deltaBytes <= 0 && deltaCount <= 0) continue;
    const row: GrowthRow = { key, before: { count: b.count, bytes: b.bytes }, after: { count: a.count, bytes: a.bytes }, deltaCount, deltaBytes };
    if (a.site) row.site = a.site;
    rows.push(row);
  }
  rows.sort((x, y) => y.deltaBytes - x.deltaBytes || y.deltaCount - x.deltaCount);
  return rows.slice(0, top);
}

/** Builds the analysis of `graph` (and growth against `baseline`, a snapshot of the same process). */
export function analyzeSnapshot(graph: HeapGraph, baseline: HeapGraph | null, opts: AnalyzeOptions = {}): SnapshotAnalysis {
  const top = opts.top ?? 10;
  const dom = dominatorTree(graph);
  let reachableBytes = 0;
  for (let i = 0; i < graph.nodeCount; i++) if (dom.dominator[i] !== UNREACHABLE) reachableBytes += graph.selfSize(i);
  const notices: string[] = [
    'Promise states come from the snapshot alone: "pending-or-trivially-settled" promises may be pending with no reactions or fulfilled with undefined or a small integer (see criterion).',
  ];
  if (!opts.showStrings) notices.push('String contents are redacted; pass --show-strings to show them.');
  const traces = graph.traceFunctionInfos.length > 0 && (baseline === null || baseline.traceFunctionInfos.length > 0);
  let growth: SnapshotAnalysis['growth'] = null;
  if (baseline) {
    growth = {
      byConstructor: diffTallies(tallyConstructors(baseline), tallyConstructors(graph), top),
      bySite: diffTallies(tallySites(baseline, traces), tallySites(graph, traces), top),
      siteSource: traces ? 'allocation-traces' : 'constructor-locations',
    };
    if (!traces) notices.push('No allocation traces in the snapshots (take them with --track-heap-objects or trackAllocations): growth by site groups objects by the location of their constructor or function.');
  }
  return {
    version: 1,
    tool: 'leak-agent',
    reason: 'snapshot',
    generatedAt: new Date().toISOString(),
    file: opts.file ?? '',
    baseline: opts.baselineFile ?? null,
    snapshot: {
      bytes: opts.bytes ?? 0,
      nodes: graph.nodeCount,
      edges: graph.edgeCount,
      reachableNodes: dom.reachable,
      reachableBytes,
      allocationTraces: graph.traceFunctionInfos.length > 0,
    },
    promises: promiseCensus(graph, top, opts),
    largest: largestRetainers(graph, top, opts),
    growth,
    notices,
  };
}
