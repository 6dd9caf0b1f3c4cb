/**
 * The heap graph: the loader's columns plus two CSR indexes (each built in two counting passes; the
 * first pass of both happens while the loader scans).
 *
 * ```
 * node columns:  type (U8)  name  id  self_size (U32)           one entry per node ordinal
 * firstEdge:     [ 0, 5, 9, … , edgeCount ]        edges of node i: edge ordinals firstEdge[i] .. firstEdge[i+1]-1
 * edge columns:  type (U8)  name_or_index  to (U32)   one entry per edge ordinal; `to` is a node ordinal
 * firstRetainer: [ 0, 0, 3, … , edgeCount ]        retainers of node i: slots firstRetainer[i] .. firstRetainer[i+1]-1
 * retainingEdges[slot] = the edge ordinal; its holder is edgeOwner(edge), a binary search over firstEdge
 *   (DevTools also keeps a retainingNodes array: 4 bytes per edge we do not spend, for a log2(N) lookup)
 * ```
 * That is 21 bytes per node (22 when `detachedness` has values, see loader.ts) and 13 per edge; the
 * file's row layout alone would be 28 and 12, before any index. Node and
 * edge "indexes" in this API are ordinals (0, 1, 2 …), not offsets into the file's flat arrays.
 */
import { InvalidInputError } from '../../cli/errors';
import type { RawSnapshot, SnapshotMeta } from './loader';
import { allocU32, type AllocOptions, type U32Store, type U8Store } from './store';

/** One reference from a node, for callers outside hot loops (allocates). */
export interface EdgeInfo {
  /** Edge ordinal. */
  edge: number;
  /** `context`, `element`, `property`, `internal`, `hidden`, `shortcut`, `weak`. */
  type: string;
  /** Property or variable name, or the element index as a string. */
  name: string;
  /** Target node ordinal. */
  to: number;
}

/** A source position from the snapshot's `locations` (0-based, as V8 writes them). */
export interface SnapshotLocation {
  scriptId: number;
  line: number;
  column: number;
}

/** A reusable view of one node (hot loops move one cursor instead of allocating per node). */
export class NodeCursor {
  constructor(private readonly graph: HeapGraph, public index = 0) {}
  moveTo(index: number): this {
    this.index = index;
    return this;
  }
  get type(): string {
    return this.graph.nodeType(this.index);
  }
  get name(): string {
    return this.graph.nodeName(this.index);
  }
  get id(): number {
    return this.graph.nodeId(this.index);
  }
  get selfSize(): number {
    return this.graph.selfSize(this.index);
  }
  get edgeCount(): number {
    return this.graph.firstEdge[this.index + 1] - this.graph.firstEdge[this.index];
  }
}

/**
 * An indexed heap snapshot. Build it with `loadSnapshot()` (collector/snapshot/index.ts).
 */
export class HeapGraph {
  readonly meta: SnapshotMeta;
  readonly nodeCount: number;
  readonly edgeCount: number;
  readonly nodeFieldCount: number;
  readonly edgeFieldCount: number;
  /** @internal read-only view of the node columns in the file's row layout (tests, debugging; slow) */
  readonly nodes: U32Store;
  /** @internal read-only view of the edge columns in the file's row layout (`to` a node ordinal) */
  readonly edges: U32Store;
  /** @internal node `type` column */
  readonly nodeTypeColumn: U8Store;
  /** @internal node `name` column (string index) */
  readonly nodeNameColumn: U32Store;
  /** @internal node `id` column */
  readonly nodeIdColumn: U32Store;
  /** @internal node `self_size` column */
  readonly selfSizeColumn: U32Store;
  /** @internal node `trace_node_id` column; null when the snapshot has none or all are 0 */
  readonly traceNodeIdColumn: U32Store | null;
  /** @internal edge `type` column */
  readonly edgeTypeColumn: U8Store;
  /** @internal edge `name_or_index` column */
  readonly edgeNameColumn: U32Store;
  /** @internal edge `to_node` column (node ordinals) */
  readonly edgeToColumn: U32Store;
  readonly strings: string[];
  /** `locations` rows (object ordinal, script id, line, column), 0-based lines. */
  readonly locations: Int32Array;
  readonly locationFieldCount: number;
  readonly traceFunctionInfos: Int32Array;
  readonly traceNodes: Int32Array;
  readonly nodeTypes: string[];
  readonly edgeTypes: string[];

  // node field offsets in the file's rows (from meta)
  readonly nodeTypeOffset: number;
  readonly nodeNameOffset: number;
  readonly nodeIdOffset: number;
  readonly nodeSelfSizeOffset: number;
  readonly nodeEdgeCountOffset: number;
  readonly nodeTraceNodeIdOffset: number;
  // edge field offsets
  readonly edgeTypeOffset: number;
  readonly edgeNameOffset: number;
  readonly edgeToOffset: number;

  // type indexes (-1 when the snapshot has no such type)
  readonly nodeTypeHidden: number;
  readonly nodeTypeArray: number;
  readonly nodeTypeString: number;
  readonly nodeTypeObject: number;
  readonly nodeTypeCode: number;
  readonly nodeTypeClosure: number;
  readonly nodeTypeNative: number;
  readonly nodeTypeSynthetic: number;
  readonly nodeTypeConsString: number;
  readonly nodeTypeSlicedString: number;
  readonly nodeTypeObjectShape: number;
  readonly edgeTypeContext: number;
  readonly edgeTypeElement: number;
  readonly edgeTypeProperty: number;
  readonly edgeTypeInternal: number;
  readonly edgeTypeHidden: number;
  readonly edgeTypeShortcut: number;
  readonly edgeTypeWeak: number;

  /** Edge ordinals of node i: `firstEdge[i] .. firstEdge[i + 1] - 1`. Length nodeCount + 1. */
  readonly firstEdge: Uint32Array;
  /** Retainer slots of node i: `firstRetainer[i] .. firstRetainer[i + 1] - 1`. Length nodeCount + 1. */
  readonly firstRetainer: Uint32Array;
  /** Slot -> edge ordinal. */
  readonly retainingEdges: U32Store;
  /** The synthetic root (node 0 in V8 snapshots). */
  readonly rootIndex = 0;

  private idOrder: Uint32Array | null = null;
  private spare: WeakRef<Uint32Array> | null = null;
  private locationSorted: boolean | null = null;
  private locationByNode: Int32Array | null = null;
  /** @internal cached analyses (retainers.ts, dominators.ts) */
  cache: Record<string, unknown> = {};

  constructor(raw: RawSnapshot, opts: AllocOptions = {}) {
    const meta = raw.meta;
    this.meta = meta;
    this.nodeCount = raw.nodeCount;
    this.edgeCount = raw.edgeCount;
    this.nodes = raw.nodes;
    this.edges = raw.edges;
    this.nodeTypeColumn = raw.nodeType;
    this.nodeNameColumn = raw.nodeName;
    this.nodeIdColumn = raw.nodeId;
    this.selfSizeColumn = raw.nodeSelfSize;
    this.edgeTypeColumn = raw.edgeType;
    this.edgeNameColumn = raw.edgeName;
    this.edgeToColumn = raw.edgeTo;
    this.strings = raw.strings;
    this.locations = raw.locations;
    this.locationFieldCount = meta.location_fields?.length ?? 4;
    this.traceFunctionInfos = raw.traceFunctionInfos;
    this.traceNodes = raw.traceNodes;
    const nf = meta.node_fields;
    const ef = meta.edge_fields;
    this.nodeFieldCount = nf.length;
    this.edgeFieldCount = ef.length;
    this.nodeTypeOffset = nf.indexOf('type');
    this.nodeNameOffset = nf.indexOf('name');
    this.nodeIdOffset = nf.indexOf('id');
    this.nodeSelfSizeOffset = nf.indexOf('self_size');
    this.nodeEdgeCountOffset = nf.indexOf('edge_count');
    this.nodeTraceNodeIdOffset = nf.indexOf('trace_node_id');
    this.traceNodeIdColumn = this.nodeTraceNodeIdOffset < 0 ? null : (raw.nodeExtra[this.nodeTraceNodeIdOffset] ?? null);
    this.edgeTypeOffset = ef.indexOf('type');
    this.edgeNameOffset = ef.indexOf('name_or_index');
    this.edgeToOffset = ef.indexOf('to_node');
    for (const [k, v] of Object.entries({ type: this.nodeTypeOffset, name: this.nodeNameOffset, id: this.nodeIdOffset, self_size: this.nodeSelfSizeOffset, edge_type: this.edgeTypeOffset, name_or_index: this.edgeNameOffset })) {
      if (v < 0) throw new InvalidInputError(`heap snapshot: meta lacks the ${k} field`);
    }
    const nt = meta.node_types[this.nodeTypeOffset];
    const et = meta.edge_types[this.edgeTypeOffset];
    if (!Array.isArray(nt) || !Array.isArray(et)) throw new InvalidInputError('heap snapshot: meta lacks node or edge type names');
    this.nodeTypes = nt;
    this.edgeTypes = et;
    this.nodeTypeHidden = nt.indexOf('hidden');
    this.nodeTypeArray = nt.indexOf('array');
    this.nodeTypeString = nt.indexOf('string');
    this.nodeTypeObject = nt.indexOf('object');
    this.nodeTypeCode = nt.indexOf('code');
    this.nodeTypeClosure = nt.indexOf('closure');
    this.nodeTypeNative = nt.indexOf('native');
    this.nodeTypeSynthetic = nt.indexOf('synthetic');
    this.nodeTypeConsString = nt.indexOf('concatenated string');
    this.nodeTypeSlicedString = nt.indexOf('sliced string');
    this.nodeTypeObjectShape = nt.indexOf('object shape');
    this.edgeTypeContext = et.indexOf('context');
    this.edgeTypeElement = et.indexOf('element');
    this.edgeTypeProperty = et.indexOf('property');
    this.edgeTypeInternal = et.indexOf('internal');
    this.edgeTypeHidden = et.indexOf('hidden');
    this.edgeTypeShortcut = et.indexOf('shortcut');
    this.edgeTypeWeak = et.indexOf('weak');

    // The loader summed edge_count into firstEdge and counted retainers per target (first passes).
    const N = this.nodeCount;
    const E = this.edgeCount;
    const firstEdge = raw.firstEdge;
    if (firstEdge.length !== N + 1 || firstEdge[N] !== E) throw new InvalidInputError(`heap snapshot: nodes declare ${firstEdge[N]} edges, header says ${E}`);
    this.firstEdge = firstEdge;

    // Retainers, second pass. Counts become inclusive prefix sums (the end of each node's slots), then
    // edges are placed from the last one down with a pre-decrement, which leaves firstRetainer[i] at the
    // start of node i's slots and each node's retainers in ascending edge order.
    const firstRetainer = raw.retainerCount;
    if (firstRetainer.length !== N + 1 || firstRetainer[N] !== 0) throw new TypeError('RawSnapshot.retainerCount was already consumed by another HeapGraph');
    let sum = 0;
    for (let i = 0; i < N; i++) {
      sum += firstRetainer[i];
      firstRetainer[i] = sum;
    }
    if (sum !== E) throw new InvalidInputError(`heap snapshot: ${sum} edge targets, header says ${E} edges`);
    firstRetainer[N] = E;
    const retainingEdges = allocU32(E, opts);
    const to = this.edgeToColumn;
    for (let e = E - 1; e >= 0; e--) retainingEdges.set(--firstRetainer[to.get(e)], e);
    this.firstRetainer = firstRetainer;
    this.retainingEdges = retainingEdges;
  }

  /**
   * @internal Offers a scratch array that its phase no longer needs to the next phase (retainer tree ->
   * dominators and back), so the two do not hold a dead N-sized array each. Held weakly: if the GC takes
   * it first, {@link takeScratch} allocates.
   */
  offerScratch(a: Uint32Array): void {
    this.spare = new WeakRef(a);
  }

  /** @internal A zeroed Uint32Array of `length`: the offered scratch array if still alive and long enough. */
  takeScratch(length: number): Uint32Array {
    const a = this.spare?.deref();
    this.spare = null;
    if (a && a.length >= length) return a.subarray(0, length).fill(0);
    return new Uint32Array(length);
  }

  /** The node that owns (holds) edge `e`: a binary search over firstEdge. */
  edgeOwner(e: number): number {
    const fe = this.firstEdge;
    let lo = 0;
    let hi = this.nodeCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (fe[mid] <= e) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** A reusable cursor on node `index`. */
  cursor(index = 0): NodeCursor {
    return new NodeCursor(this, index);
  }

  nodeTypeIndex(i: number): number {
    return this.nodeTypeColumn.get(i);
  }
  /** `object`, `closure`, `string`, `hidden`, `code`, `synthetic`… */
  nodeType(i: number): string {
    return this.nodeTypes[this.nodeTypeIndex(i)] ?? 'unknown';
  }
  nodeNameIndex(i: number): number {
    return this.nodeNameColumn.get(i);
  }
  /** The node's name: constructor name for objects, function name for closures, contents for strings. */
  nodeName(i: number): string {
    return this.strings[this.nodeNameIndex(i)] ?? '';
  }
  /** The heap object id (stable across snapshots of one process; `HeapProfiler` ids). */
  nodeId(i: number): number {
    return this.nodeIdColumn.get(i);
  }
  selfSize(i: number): number {
    return this.selfSizeColumn.get(i);
  }
  /** The allocation trace node id, 0 when none. */
  traceNodeId(i: number): number {
    return this.traceNodeIdColumn === null ? 0 : this.traceNodeIdColumn.get(i);
  }

  edgeTypeIndex(e: number): number {
    return this.edgeTypeColumn.get(e);
  }
  edgeType(e: number): string {
    return this.edgeTypes[this.edgeTypeIndex(e)] ?? 'unknown';
  }
  /** Raw `name_or_index`: a string index, or the element index for `element`/`hidden` edges. */
  edgeNameOrIndex(e: number): number {
    return this.edgeNameColumn.get(e);
  }
  /** True when the edge's `name_or_index` is a number (element and hidden edges). */
  edgeHasIndex(e: number): boolean {
    const t = this.edgeTypeIndex(e);
    return t === this.edgeTypeElement || t === this.edgeTypeHidden;
  }
  /** The edge's name; element indexes as decimal strings. */
  edgeName(e: number): string {
    const v = this.edgeNameOrIndex(e);
    return this.edgeHasIndex(e) ? String(v) : (this.strings[v] ?? '');
  }
  /** The target node ordinal. */
  edgeTarget(e: number): number {
    return this.edgeToColumn.get(e);
  }
  isWeakEdge(e: number): boolean {
    return this.edgeTypeIndex(e) === this.edgeTypeWeak;
  }

  /** The first edge of `node` with this type and name, or -1. */
  findEdge(node: number, type: string, name: string): number {
    const t = this.edgeTypes.indexOf(type);
    const end = this.firstEdge[node + 1];
    for (let e = this.firstEdge[node]; e < end; e++) {
      if (this.edgeTypeIndex(e) === t && this.edgeName(e) === name) return e;
    }
    return -1;
  }

  /**
   * What `node` references. `which`: `strong` (every edge but weak ones), `weak` (only weak edges, e.g. a
   * `WeakRef`'s `target`), or `all`. Allocates: for callers outside hot loops.
   */
  references(node: number, which: 'strong' | 'weak' | 'all' = 'all'): EdgeInfo[] {
    const out: EdgeInfo[] = [];
    const end = this.firstEdge[node + 1];
    for (let e = this.firstEdge[node]; e < end; e++) {
      const weak = this.isWeakEdge(e);
      if ((which === 'weak' && !weak) || (which === 'strong' && weak)) continue;
      out.push({ edge: e, type: this.edgeType(e), name: this.edgeName(e), to: this.edgeTarget(e) });
    }
    return out;
  }

  /** Who references `node` (holder, edge). Allocates. */
  retainers(node: number, which: 'strong' | 'weak' | 'all' = 'all'): (EdgeInfo & { from: number })[] {
    const out: (EdgeInfo & { from: number })[] = [];
    const end = this.firstRetainer[node + 1];
    for (let s = this.firstRetainer[node]; s < end; s++) {
      const e = this.retainingEdges.get(s);
      const weak = this.isWeakEdge(e);
      if ((which === 'weak' && !weak) || (which === 'strong' && weak)) continue;
      out.push({ edge: e, type: this.edgeType(e), name: this.edgeName(e), to: node, from: this.edgeOwner(e) });
    }
    return out;
  }

  /**
   * The target of a `WeakRef`-like node (its weak `target` edge), or -1 when it has none (cleared, or not
   * a WeakRef).
   */
  weakRefTarget(node: number): number {
    const end = this.firstEdge[node + 1];
    for (let e = this.firstEdge[node]; e < end; e++) {
      if (this.isWeakEdge(e) && this.edgeName(e) === 'target') return this.edgeTarget(e);
    }
    return -1;
  }

  /**
   * The node ordinal with this heap object id (as `HeapProfiler.getHeapObjectId` / `@123` in DevTools),
   * or -1. The first call builds a sorted id index (radix sort, O(n)); later calls are binary searches.
   */
  findNodeById(id: number): number {
    const order = this.idOrder ?? (this.idOrder = this.buildIdOrder());
    let lo = 0;
    let hi = order.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.nodeId(order[mid]);
      if (v === id) return order[mid];
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private buildIdOrder(): Uint32Array {
    const N = this.nodeCount;
    let a: Uint32Array = new Uint32Array(N);
    let b: Uint32Array = this.takeScratch(N);
    for (let i = 0; i < N; i++) a[i] = i;
    const counts = new Uint32Array(65537);
    for (const shift of [0, 16]) {
      counts.fill(0);
      for (let i = 0; i < N; i++) counts[((this.nodeId(a[i]) >>> shift) & 0xffff) + 1]++;
      for (let d = 1; d <= 65536; d++) counts[d] += counts[d - 1];
      for (let i = 0; i < N; i++) b[counts[(this.nodeId(a[i]) >>> shift) & 0xffff]++] = a[i];
      const t = a;
      a = b;
      b = t;
    }
    return a;
  }

  /** The snapshot location of `node` (closures, generator objects, objects with a constructor), 0-based. */
  location(node: number): SnapshotLocation | null {
    const L = this.locations;
    const F = this.locationFieldCount;
    const rows = (L.length / F) | 0;
    if (rows === 0) return null;
    if (this.locationSorted === null) {
      let sorted = true;
      for (let r = 1; r < rows; r++) if (L[r * F] < L[(r - 1) * F]) { sorted = false; break; }
      this.locationSorted = sorted;
    }
    let row = -1;
    if (this.locationSorted) {
      let lo = 0;
      let hi = rows - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = L[mid * F];
        if (v === node) { row = mid; break; }
        if (v < node) lo = mid + 1;
        else hi = mid - 1;
      }
    } else {
      if (!this.locationByNode) {
        const m = new Int32Array(this.nodeCount).fill(-1);
        for (let r = 0; r < rows; r++) m[L[r * F]] = r;
        this.locationByNode = m;
      }
      row = this.locationByNode[node];
    }
    if (row < 0) return null;
    return { scriptId: L[row * F + 1], line: L[row * F + 2], column: L[row * F + 3] };
  }

  /** The allocation site of `node` from allocation traces (1-based line), when the snapshot has them. */
  allocationFunctionInfo(node: number): number {
    const t = this.traceNodeId(node);
    if (t === 0 || this.traceNodes.length === 0) return -1;
    const map = (this.cache.traceIndex as Map<number, number> | undefined) ?? this.buildTraceIndex();
    return map.get(t) ?? -1;
  }

  private buildTraceIndex(): Map<number, number> {
    // One entry per trace node (allocation stacks), not per heap node.
    const m = new Map<number, number>();
    const T = this.traceNodes;
    for (let i = 0; i + 1 < T.length; i += 2) m.set(T[i], T[i + 1]);
    this.cache.traceIndex = m;
    return m;
  }
}
