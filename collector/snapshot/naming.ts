/**
 * Names each step of a retainer path for a human (the `gc.get_referrers` + `f_lineno` reading, done by
 * the tool): captured and module-scope variables with their declaration line, Map/Set entries instead of
 * hash-table internals, properties of a class, array indexes, suspended async functions, promise
 * reactions, closures with their line.
 *
 * Recognised shapes (V8 11.x, Node 20; names from the snapshot, not guessed):
 * ```
 * Context  --context X-->  value                         variable X (module scope | in F, file:line)
 * Context  --internal previous-->  Context               (outer scope: folded into the variable step)
 * Map      --internal table--> array --internal j--> v   Map entry (key …)   (OrderedHashMap: key,value,chain)
 * Set      --internal table--> array --internal j--> v   Set entry
 * closure  --internal context--> Context                 closure F (file:line)
 * Promise  --internal reactions_or_result--> PromiseReaction --hidden--> closure --context--> Context
 *          --internal extension--> Generator             async function F suspended (file:line) awaits it
 * Generator --internal parameters_and_registers--> array --internal j--> v   local or argument of async function F
 * object   --property p-->                               property p of Class
 * Array    --element i-->   /  --internal elements--> (object elements) --internal i-->   index i of Array
 * ```
 * Lines are 1-based in output (the snapshot's `locations` are 0-based: converted here, once).
 */
import { readFileSync } from 'node:fs';
import { toFilePath } from '../paths';
import type { Frame } from '../probe-state';
import type { RetainerStep } from '../report-model';
import type { HeapGraph } from './graph';
import type { RawPath } from './retainers';

/** Options for naming. */
export interface NamingOptions {
  /** Show string contents (Map keys, string values). Default false: heaps hold secrets. */
  showStrings?: boolean;
  /** Read script files from disk to find declaration lines (default true). */
  readSources?: boolean;
}

/** @internal Per-graph caches for naming. */
interface NamingCache {
  scriptNames: Map<number, string> | null;
  variables: Map<string, { name: string; site: Frame | null }>;
  sources: Map<string, { text: string; lineStarts: number[] } | null>;
}

function cacheOf(graph: HeapGraph): NamingCache {
  let c = graph.cache.naming as NamingCache | undefined;
  if (!c) {
    c = { scriptNames: null, variables: new Map(), sources: new Map() };
    graph.cache.naming = c;
  }
  return c;
}

/** Describes a string for output: redacted unless `showStrings`. */
export function describeString(s: string, showStrings: boolean | undefined): string {
  if (!showStrings) return `<string, ${s.length} chars>`;
  return JSON.stringify(s.length > 80 ? s.slice(0, 77) + '...' : s);
}

function isStringType(graph: HeapGraph, node: number): boolean {
  const t = graph.nodeTypeIndex(node);
  return t === graph.nodeTypeString || t === graph.nodeTypeConsString || t === graph.nodeTypeSlicedString;
}

/** The target of `node`'s first edge named `name` (any type), or -1. */
function edgeTo(graph: HeapGraph, node: number, name: string): number {
  const end = graph.firstEdge[node + 1];
  for (let e = graph.firstEdge[node]; e < end; e++) {
    if (!graph.edgeHasIndex(e) && graph.edgeName(e) === name) return graph.edgeTarget(e);
  }
  return -1;
}

/** The script node (`code` named by path) of a closure, through shared -> script_or_debug_info. */
function scriptNodeOfClosure(graph: HeapGraph, closure: number): number {
  const shared = edgeTo(graph, closure, 'shared');
  if (shared < 0) return -1;
  return edgeTo(graph, shared, 'script_or_debug_info');
}

/** Script id -> script name, from closures that have locations. Built once per graph. */
function scriptName(graph: HeapGraph, scriptId: number): string | null {
  const cache = cacheOf(graph);
  if (!cache.scriptNames) {
    const m = new Map<number, string>();
    const L = graph.locations;
    const F = graph.locationFieldCount;
    for (let r = 0; r + F <= L.length; r += F) {
      const sid = L[r + 1];
      if (m.has(sid)) continue;
      const node = L[r];
      if (graph.nodeTypeIndex(node) !== graph.nodeTypeClosure) continue;
      const script = scriptNodeOfClosure(graph, node);
      if (script >= 0 && graph.nodeName(script)) m.set(sid, graph.nodeName(script));
    }
    cache.scriptNames = m;
  }
  return cache.scriptNames.get(scriptId) ?? null;
}


/** Source text of a script: the file on disk when it matches the snapshot's copy (truncated at 1024 chars). */
function sourceOf(graph: HeapGraph, scriptFile: string, snapshotSource: string | null, opts: NamingOptions): { text: string; lineStarts: number[] } | null {
  const cache = cacheOf(graph);
  if (cache.sources.has(scriptFile)) return cache.sources.get(scriptFile) ?? null;
  let text: string | null = null;
  if (opts.readSources !== false && scriptFile.length > 0 && !scriptFile.startsWith('node:')) {
    try {
      const disk = readFileSync(toFilePath(scriptFile), 'utf8');
      const probe = snapshotSource ? snapshotSource.slice(0, 1000) : '';
      if (!probe || disk.startsWith(probe)) text = disk;
    } catch {
      text = null;
    }
  }
  if (text === null && snapshotSource) text = snapshotSource;
  const entry = text === null ? null : { text, lineStarts: lineStartsOf(text) };
  cache.sources.set(scriptFile, entry);
  return entry;
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function offsetOf(src: { lineStarts: number[] }, line0: number, col0: number): number {
  return (src.lineStarts[line0] ?? Number.MAX_SAFE_INTEGER) + col0;
}

function lineOfOffset(src: { lineStarts: number[] }, offset: number): number {
  const s = src.lineStarts;
  let lo = 0;
  let hi = s.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (s[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo; // 0-based
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The 0-based line where `name` is declared: the last declaration before `before` (the earliest closure
 * of the scope), else the first one after it. -1 when not found.
 */
function declarationLine(src: { text: string; lineStarts: number[] }, name: string, before: number): number {
  if (!/^[\p{L}_$][\p{L}\p{N}_$]*$/u.test(name)) return -1;
  const re = new RegExp(`\\b(?:const|let|var|function\\*?|class)\\s+${escapeRegExp(name)}(?![\\p{L}\\p{N}_$])`, 'gu');
  let best = -1;
  let after = -1;
  for (let m = re.exec(src.text); m; m = re.exec(src.text)) {
    if (m.index <= before) best = m.index;
    else if (after < 0) after = m.index;
  }
  const at = best >= 0 ? best : after;
  return at < 0 ? -1 : lineOfOffset(src, at);
}

/** A Frame for a 0-based snapshot location of a closure or object. */
export function siteOf(graph: HeapGraph, node: number, fn: string | null = null): Frame | null {
  const loc = graph.location(node);
  if (!loc) return null;
  const file = scriptName(graph, loc.scriptId);
  if (!file) return null;
  return { file: toFilePath(file), line: loc.line + 1, column: loc.column + 1, function: fn };
}

function closureName(graph: HeapGraph, closure: number): string {
  const n = graph.nodeName(closure);
  return n || '(anonymous)';
}

/** Kind of a generator object, from its function's prototype chain. */
function generatorKind(graph: HeapGraph, gen: number): { fn: number; label: string } {
  const fn = edgeTo(graph, gen, 'function');
  let label = 'generator';
  if (fn >= 0) {
    const proto = edgeTo(graph, fn, '__proto__');
    const pn = proto >= 0 ? graph.nodeName(proto) : '';
    if (pn === 'AsyncFunction') label = 'async function';
    else if (pn === 'AsyncGeneratorFunction') label = 'async generator';
  }
  return { fn, label };
}

/** True for generator objects (JSGeneratorObject / JSAsyncFunctionObject). */
export function isGeneratorObject(graph: HeapGraph, node: number): boolean {
  return graph.nodeTypeIndex(node) === graph.nodeTypeObject && edgeTo(graph, node, 'parameters_and_registers') >= 0 && edgeTo(graph, node, 'function') >= 0;
}

/** "async function call suspended (app.js:19)" and its site. */
export function describeGenerator(graph: HeapGraph, gen: number): { name: string; site: Frame | null } {
  const { fn, label } = generatorKind(graph, gen);
  const fname = fn >= 0 ? closureName(graph, fn) : '(anonymous)';
  const site = siteOf(graph, gen, fname) ?? (fn >= 0 ? siteOf(graph, fn, fname) : null);
  return { name: `${label} ${fname} suspended`, site };
}

/** Names of the function owning a context (from its ScopeInfo) and whether it is a module/script scope. */
function contextInfo(graph: HeapGraph, ctx: number): { moduleScope: boolean; esm: boolean; functionName: string | null } {
  const prev = edgeTo(graph, ctx, 'previous');
  const moduleScope = prev >= 0 && graph.nodeName(prev) === 'system / NativeContext';
  const ext = edgeTo(graph, ctx, 'extension');
  const esm = ext >= 0 && graph.nodeName(ext) === 'system / SourceTextModule';
  let functionName: string | null = null;
  const si = edgeTo(graph, ctx, 'scope_info');
  if (si >= 0) {
    // ScopeInfo lists the context locals' names, then the function's name.
    const locals = new Set<string>();
    const end = graph.firstEdge[ctx + 1];
    for (let e = graph.firstEdge[ctx]; e < end; e++) if (graph.edgeTypeIndex(e) === graph.edgeTypeContext) locals.add(graph.edgeName(e));
    let lastLocal = -1;
    const names: [number, string][] = [];
    const sEnd = graph.firstEdge[si + 1];
    for (let e = graph.firstEdge[si]; e < sEnd; e++) {
      if (graph.edgeTypeIndex(e) !== graph.edgeTypeHidden) continue;
      const t = graph.edgeTarget(e);
      if (!isStringType(graph, t)) continue;
      const idx = graph.edgeNameOrIndex(e);
      const s = graph.nodeName(t);
      names.push([idx, s]);
      if (locals.has(s)) lastLocal = Math.max(lastLocal, idx);
    }
    const fnEntry = names.find(([idx, s]) => idx > lastLocal && !locals.has(s));
    if (fnEntry && fnEntry[1]) functionName = fnEntry[1];
  }
  return { moduleScope, esm, functionName };
}

/** Closures and generator objects whose `context` is `ctx`: the code that captured the scope. */
function contextUsers(graph: HeapGraph, ctx: number): number[] {
  const out: number[] = [];
  const end = graph.firstRetainer[ctx + 1];
  for (let s = graph.firstRetainer[ctx]; s < end && out.length < 64; s++) {
    const e = graph.retainingEdges.get(s);
    if (graph.edgeTypeIndex(e) !== graph.edgeTypeInternal || graph.edgeName(e) !== 'context') continue;
    out.push(graph.edgeOwner(e));
  }
  return out;
}

/** `variable X (module scope | in F, file:line)` for a context variable. */
export function describeContextVariable(graph: HeapGraph, ctx: number, variable: string, opts: NamingOptions = {}): { name: string; site: Frame | null } {
  const cache = cacheOf(graph).variables;
  const key = `${ctx}:${variable}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const result = describeContextVariableUncached(graph, ctx, variable, opts);
  if (cache.size < 100_000) cache.set(key, result);
  return result;
}

function describeContextVariableUncached(graph: HeapGraph, ctx: number, variable: string, opts: NamingOptions): { name: string; site: Frame | null } {
  const info = contextInfo(graph, ctx);
  // The earliest closure (or generator) using this context gives the script and a position inside the scope.
  let best: { file: string; line: number; column: number; script: number; fn: string } | null = null;
  for (const user of contextUsers(graph, ctx)) {
    const loc = graph.location(user);
    if (!loc) continue;
    let script = -1;
    let fn = '';
    if (graph.nodeTypeIndex(user) === graph.nodeTypeClosure) {
      script = scriptNodeOfClosure(graph, user);
      fn = closureName(graph, user);
    } else {
      const f = edgeTo(graph, user, 'function');
      if (f >= 0) {
        script = scriptNodeOfClosure(graph, f);
        fn = closureName(graph, f);
      }
    }
    const file = script >= 0 ? graph.nodeName(script) : scriptName(graph, loc.scriptId);
    if (!file) continue;
    if (!best || loc.line < best.line || (loc.line === best.line && loc.column < best.column)) {
      best = { file, line: loc.line, column: loc.column, script, fn };
    }
  }
  const scope = info.moduleScope ? (info.esm ? 'module scope' : 'module scope') : info.functionName ? `in ${info.functionName}` : best ? `captured by ${best.fn}` : 'closure scope';
  let site: Frame | null = null;
  if (best) {
    let line0 = best.line;
    let col0 = best.column;
    const sourceNode = best.script >= 0 ? edgeTo(graph, best.script, 'source') : -1;
    const snapSource = sourceNode >= 0 ? graph.nodeName(sourceNode) : null;
    const src = sourceOf(graph, best.file, snapSource, opts);
    if (src) {
      const decl = declarationLine(src, variable, offsetOf(src, best.line, best.column));
      if (decl >= 0) {
        line0 = decl;
        const lineText = src.text.slice(src.lineStarts[decl], src.lineStarts[decl + 1] ?? src.text.length);
        const col = lineText.search(new RegExp(`\\b${escapeRegExp(variable)}\\b`));
        col0 = col >= 0 ? col : 0;
      }
    }
    site = { file: toFilePath(best.file), line: line0 + 1, column: col0 + 1, function: info.moduleScope ? null : info.functionName };
  }
  const where = site ? `${scope}, ${shortFile(site.file)}:${site.line}` : scope;
  return { name: `variable ${variable} (${where})`, site };
}

/** The file name as shown inside step names (full path stays in `site`). */
function shortFile(file: string): string {
  const cwd = process.cwd() + '/';
  return file.startsWith(cwd) ? file.slice(cwd.length) : file;
}

function withSite(name: string, site: Frame | null): string {
  return site ? `${name} (${shortFile(site.file)}:${site.line})` : name;
}

/** OrderedHashMap/Set entry geometry: which slot of the backing table holds keys. */
function tableEntryRole(graph: HeapGraph, table: number, slot: number, entrySize: number): 'key' | 'value' | null {
  // FixedArray: header (map, length) + [elements, deleted, buckets] + buckets + capacity*entrySize, capacity = 2*buckets.
  const size = graph.selfSize(table);
  for (const ptr of [8, 4]) {
    if (size % ptr !== 0) continue;
    const len = size / ptr - 2;
    const per = 1 + 2 * entrySize;
    if ((len - 3) % per !== 0 || len <= 3) continue;
    const buckets = (len - 3) / per;
    const start = 3 + buckets;
    if (slot < start) return null;
    const r = (slot - start) % entrySize;
    return r === 0 ? 'key' : r === 1 && entrySize === 3 ? 'value' : null;
  }
  return null;
}

/** The node at internal slot `slot` of `table`, or -1. */
function tableSlot(graph: HeapGraph, table: number, slot: number): number {
  const name = String(slot);
  const end = graph.firstEdge[table + 1];
  for (let e = graph.firstEdge[table]; e < end; e++) {
    if (graph.edgeTypeIndex(e) === graph.edgeTypeInternal && graph.edgeName(e) === name) return graph.edgeTarget(e);
  }
  return -1;
}

/** Short description of a value for keys: string (redacted), number, or its class. */
function describeValue(graph: HeapGraph, node: number, opts: NamingOptions): string {
  if (isStringType(graph, node)) return describeString(graph.nodeName(node), opts.showStrings);
  const t = graph.nodeType(node);
  if (t === 'number' || t === 'bigint') return graph.nodeName(node);
  if (t === 'closure') return `function ${closureName(graph, node)}`;
  return graph.nodeName(node) || t;
}

/** Describes a node on its own (the last step of a path, census entries). */
export function describeNode(graph: HeapGraph, node: number, opts: NamingOptions = {}): { name: string; site: Frame | null } {
  const t = graph.nodeTypeIndex(node);
  if (t === graph.nodeTypeClosure) {
    const fname = closureName(graph, node);
    const site = siteOf(graph, node, fname);
    return { name: withSite(`closure ${fname}`, site), site };
  }
  if (isStringType(graph, node)) return { name: `string ${describeString(graph.nodeName(node), opts.showStrings)}`, site: null };
  if (isGeneratorObject(graph, node)) {
    const g = describeGenerator(graph, node);
    return { name: withSite(g.name, g.site), site: g.site };
  }
  const name = graph.nodeName(node);
  if (t === graph.nodeTypeObject) {
    const site = name.startsWith('system /') ? null : siteOf(graph, node, name);
    return { name: site ? `${name} (class at ${shortFile(site.file)}:${site.line})` : name, site };
  }
  if (t === graph.nodeTypeSynthetic) return { name: `GC root ${name}`, site: null };
  if (t === graph.nodeTypeArray) return { name: name ? `array ${name}` : 'array', site: null };
  return { name: `${graph.nodeType(node)} ${name}`.trim(), site: null };
}

/**
 * Names a raw retainer path (root first). One step per holder, internals folded; the last step is the
 * retained object itself.
 */
export function nameRetainerPath(graph: HeapGraph, path: RawPath, opts: NamingOptions = {}): RetainerStep[] {
  const steps: RetainerStep[] = [];
  const { nodes, edges } = path;
  const push = (name: string, edge: number, site: Frame | null, generator = -1): void => {
    const step: RetainerStep = { name, edge: graph.edgeType(edge) };
    if (site) step.site = site;
    // On a live target the exact `await` line can be read for this object ([[GeneratorLocation]]).
    if (generator >= 0) step.suspendedId = graph.nodeId(generator);
    steps.push(step);
  };
  let i = 0;
  while (i < edges.length) {
    const holder = nodes[i];
    const e = edges[i];
    const target = nodes[i + 1];
    const et = graph.edgeTypeIndex(e);
    const ename = graph.edgeName(e);
    const hType = graph.nodeTypeIndex(holder);
    const hName = graph.nodeName(holder);

    // Roots: the synthetic root and "(GC roots)" say nothing; name the sub-root category once.
    if (hType === graph.nodeTypeSynthetic) {
      if (holder !== graph.rootIndex && hName !== '(GC roots)') push(`GC root ${hName}`, e, null);
      i++;
      continue;
    }
    // Context variables; `previous` hops are folded into the variable step.
    if (hName === 'system / Context') {
      if (et === graph.edgeTypeContext) {
        const v = describeContextVariable(graph, holder, ename, opts);
        push(v.name, e, v.site);
      } else if (!(et === graph.edgeTypeInternal && (ename === 'previous' || ename === 'extension'))) {
        if (isPromiseNode(graph, target) && et === graph.edgeTypeHidden) push('resolve/reject functions of Promise', e, null);
        else push(`${graph.edgeType(e)} ${ename} of scope`, e, null);
      }
      i++;
      continue;
    }
    // Map / Set entries: collapse Map --table--> array --j--> value.
    if ((hName === 'Map' || hName === 'Set') && et === graph.edgeTypeInternal && ename === 'table' && i + 1 < edges.length) {
      const table = target;
      const e2 = edges[i + 1];
      const slot = graph.edgeHasIndex(e2) ? graph.edgeNameOrIndex(e2) : Number(graph.edgeName(e2));
      const role = Number.isInteger(slot) ? tableEntryRole(graph, table, slot, hName === 'Map' ? 3 : 2) : null;
      let name = `${hName} entry`;
      if (hName === 'Map' && role === 'value') {
        const key = tableSlot(graph, table, slot - 1);
        if (key >= 0) name += ` (key ${describeValue(graph, key, opts)})`;
      } else if (hName === 'Map' && role === 'key') name += ' (as key)';
      push(name, e2, null);
      i += 2;
      continue;
    }
    // Closures: the captured scope.
    if (hType === graph.nodeTypeClosure) {
      if (et === graph.edgeTypeInternal && ename === 'context') {
        // An await continuation: closure --context--> Context --extension--> generator: folded.
        if (i + 1 < edges.length && graph.edgeName(edges[i + 1]) === 'extension' && isGeneratorObject(graph, nodes[i + 2])) {
          i += 2;
          continue;
        }
        const fname = closureName(graph, holder);
        const site = siteOf(graph, holder, fname);
        push(withSite(`closure ${fname}`, site), e, site);
      } else if (et === graph.edgeTypeProperty) {
        push(`property ${ename} of function ${closureName(graph, holder)}`, e, null);
      } else {
        push(`${graph.edgeType(e)} ${ename} of function ${closureName(graph, holder)}`, e, null);
      }
      i++;
      continue;
    }
    // Promise reactions.
    if (isPromiseNode(graph, holder) && ename === 'reactions_or_result') {
      let name = 'reaction of Promise';
      const created = allocationSite(graph, holder);
      if (created) name += ` created at ${shortFile(created.file)}:${created.line}`;
      // Look ahead: reaction -> await closure -> context -> generator.
      const gen = i + 4 < nodes.length && isGeneratorObject(graph, nodes[i + 4]) && graph.nodeName(nodes[i + 1]) === 'system / PromiseReaction' ? nodes[i + 4] : -1;
      if (gen >= 0) {
        const g = describeGenerator(graph, gen);
        push(withSite(`${g.name}, awaiting a Promise`, g.site), e, g.site, gen);
        i += 4;
        continue;
      }
      push(name, e, created);
      i++;
      continue;
    }
    if (hName === 'system / PromiseReaction') {
      i++;
      continue;
    }
    // Suspended generators / async functions.
    if (isGeneratorObject(graph, holder)) {
      const g = describeGenerator(graph, holder);
      if (ename === 'parameters_and_registers' && i + 1 < edges.length) {
        push(withSite(`local or argument of ${g.name}`, g.site), edges[i + 1], g.site, holder);
        i += 2;
        continue;
      }
      if (ename === 'context') {
        i++; // the next step names the variable with its scope
        continue;
      }
      push(withSite(isPromiseNode(graph, target) ? `result promise of ${g.name}` : `${ename} of ${g.name}`, g.site), e, g.site, holder);
      i++;
      continue;
    }
    // Arrays: element edges, or the `elements` backing store.
    if (et === graph.edgeTypeElement) {
      push(`index ${ename} of ${hName || 'array'}`, e, null);
      i++;
      continue;
    }
    if (et === graph.edgeTypeInternal && ename === 'elements' && i + 1 < edges.length) {
      push(`index ${graph.edgeName(edges[i + 1])} of ${hName || 'array'}`, edges[i + 1], null);
      i += 2;
      continue;
    }
    if (et === graph.edgeTypeProperty || et === graph.edgeTypeShortcut) {
      const site = hType === graph.nodeTypeObject ? siteOf(graph, holder, hName) : null;
      const of = hName === 'global' || hName === 'Window' ? 'global' : hName || graph.nodeType(holder);
      push(`property ${ename} of ${of}`, e, site);
      i++;
      continue;
    }
    push(`${graph.edgeType(e)} ${ename} of ${hName || graph.nodeType(holder)}`, e, null);
    i++;
  }
  const last = nodes[nodes.length - 1];
  const d = describeNode(graph, last, opts);
  const lastStep: RetainerStep = { name: d.name };
  if (d.site) lastStep.site = d.site;
  steps.push(lastStep);
  return steps;
}

/** True for Promise instances (objects named Promise that are not the prototype). */
export function isPromiseNode(graph: HeapGraph, node: number): boolean {
  if (graph.nodeTypeIndex(node) !== graph.nodeTypeObject || graph.nodeName(node) !== 'Promise') return false;
  const end = graph.firstEdge[node + 1];
  for (let e = graph.firstEdge[node]; e < end; e++) {
    if (graph.edgeTypeIndex(e) === graph.edgeTypeProperty) {
      const n = graph.edgeName(e);
      if (n === 'then' || n === 'constructor') return false; // Promise.prototype
    }
  }
  return true;
}

/** Allocation site from the snapshot's allocation traces (1-based line), when present. */
export function allocationSite(graph: HeapGraph, node: number): Frame | null {
  const fi = graph.allocationFunctionInfo(node);
  if (fi < 0) return null;
  const fields = graph.meta.trace_function_info_fields ?? ['function_id', 'name', 'script_name', 'script_id', 'line', 'column'];
  const F = fields.length;
  const T = graph.traceFunctionInfos;
  const base = fi * F;
  if (base + F > T.length) return null;
  const name = graph.strings[T[base + fields.indexOf('name')]] ?? null;
  const file = graph.strings[T[base + fields.indexOf('script_name')]] ?? '';
  const line = T[base + fields.indexOf('line')];
  const column = T[base + fields.indexOf('column')];
  if (!file || line <= 0) return null;
  return { file: toFilePath(file), line, column: Math.max(1, column), function: name || null };
}
