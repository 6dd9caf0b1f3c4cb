/**
 * Streaming `.heapsnapshot` loader.
 *
 * The file is read in chunks and scanned byte by byte by a small hand-written state machine; digits go
 * straight into preallocated typed arrays sized from the header's `node_count` / `edge_count`. Nothing
 * ever holds the whole file as one string or `JSON.parse`s it (V8 strings stop at ≈536 MB, and a parsed
 * JSON array of numbers costs ≈8x the file as heap numbers). Only the small header object and strings
 * containing escapes are handed to `JSON.parse`.
 *
 * ```
 * {"snapshot":{"meta":{…},"node_count":N,"edge_count":E,…},   <- header: collected, JSON.parse'd
 *  "nodes":[9,1,1,0,5,0,0,…],                                 <- NUMS  -> node columns (N each)
 *  "edges":[1,1,7,…],                                          <- NUMS  -> edge columns (E each)
 *  "trace_function_infos":[…], "trace_tree":[1,0,0,0,[…]],    <- NUMS  -> growable Int32 arrays
 *  "samples":[…], "locations":[…],                             <- NUMS
 *  "strings":["", "(GC roots)", …]}                            <- STRS  -> string[]
 * ```
 *
 * Numbers go column by column, each as narrow as its values (peak memory is what limits the size of
 * snapshot we can open; the file's row layout would cost 28 bytes per node and 12 per edge):
 *
 * ```
 *   node field      column                       bytes/node
 *   type            nodeType     U8Store          1
 *   name, id,       nodeName, nodeId,            4 + 4 + 4
 *   self_size       nodeSelfSize U32Store
 *   edge_count      firstEdge    Uint32Array(N+1) 4   prefix sums, written as the counts arrive
 *   other fields    nodeExtra[f]                 0   until one value is non-zero (trace_node_id: all 0
 *                                                    without allocation tracking), then 1 (U8Store),
 *                                                    4 from the first value above 255 (detachedness
 *                                                    stays at 1)
 *   edge field      column                       bytes/edge
 *   type            edgeType     U8Store          1
 *   name_or_index   edgeName     U32Store         4
 *   to_node         edgeTo       U32Store         4   a node *ordinal* (offset / node_fields)
 *   (per target)    retainerCount Uint32Array(N+1)   the retainer index's counting pass, done here
 * ```
 * The `object_index` of `locations` is converted to a node ordinal too. `RawSnapshot.nodes` / `.edges`
 * show the columns in the file's row layout again (read-only views, for tests).
 */
import { createReadStream, promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { FileNotFoundError, InvalidInputError } from '../../cli/errors';
import { allocU32, allocU8, FlatU8, GrowableI32, RowsView, SplitU8, type AllocOptions, type U32Store, type U8Store } from './store';

/** The `snapshot.meta` object of a heap snapshot. */
export interface SnapshotMeta {
  node_fields: string[];
  node_types: (string[] | string)[];
  edge_fields: string[];
  edge_types: (string[] | string)[];
  trace_function_info_fields?: string[];
  trace_node_fields?: string[];
  location_fields?: string[];
  sample_fields?: string[];
}

/** What the loader produces: raw columns, not yet indexed (see `HeapGraph`). */
export interface RawSnapshot {
  meta: SnapshotMeta;
  nodeCount: number;
  edgeCount: number;
  /** Node `type` field, per node ordinal. */
  nodeType: U8Store;
  /** Node `name` field (a string index). */
  nodeName: U32Store;
  /** Node `id` field (the heap object id). */
  nodeId: U32Store;
  /** Node `self_size` field. */
  nodeSelfSize: U32Store;
  /** Edge ordinals of node i: `firstEdge[i] .. firstEdge[i + 1] - 1` (the `edge_count` field, summed). Length N + 1. */
  firstEdge: Uint32Array;
  /** Any other node field (`trace_node_id`, `detachedness`, …) by field index; null while all its values are 0, bytes while all are below 256. */
  nodeExtra: (U32Store | null)[];
  /** Edge `type` field, per edge ordinal. */
  edgeType: U8Store;
  /** Edge `name_or_index` field. */
  edgeName: U32Store;
  /** Edge `to_node` field as a node ordinal. */
  edgeTo: U32Store;
  /** Any other edge field by field index; null while all its values are 0, bytes while all are below 256. */
  edgeExtra: (U32Store | null)[];
  /**
   * How many edges point at each node (length N + 1, the last entry 0): the first counting pass of the
   * retainer index. `HeapGraph` turns it into `firstRetainer` in place (it consumes the array).
   */
  retainerCount: Uint32Array;
  /** Read-only view: `nodeCount * node_fields.length` values in `meta.node_fields` order (the file's layout). */
  nodes: U32Store;
  /** Read-only view: `edgeCount * edge_fields.length` values; the `to_node` field holds a node ordinal. */
  edges: U32Store;
  strings: string[];
  /** `locations` rows in `meta.location_fields` order; `object_index` converted to a node ordinal. */
  locations: Int32Array;
  /** `trace_function_infos` rows, when the snapshot was taken with allocation tracking. */
  traceFunctionInfos: Int32Array;
  /** Flattened trace tree: pairs `(trace node id, function info index)`. */
  traceNodes: Int32Array;
  /** Bytes read. */
  bytes: number;
}

/** Options for {@link loadRawSnapshot}. */
export interface LoadOptions extends AllocOptions {
  /** Progress on stderr: default only when `process.stderr.isTTY`. */
  progress?: boolean;
  /** Read size in bytes (default 4 MB). Tests use tiny chunks to split numbers and strings. */
  chunkSize?: number;
}

const enum Mode {
  Header,
  Top,
  Nums,
  Strs,
  Skip,
  Done,
}

const enum Section {
  Nodes,
  Edges,
  Locations,
  TraceFunctionInfos,
  TraceTree,
  Discard,
}

/** What a node field is stored as. */
const enum NodeField {
  Type,
  Name,
  Id,
  SelfSize,
  EdgeCount,
  Extra,
}

/** What an edge field is stored as. */
const enum EdgeField {
  Type,
  Name,
  To,
  Extra,
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const LBRACKET = 91;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * The scanner. Feed it chunks in order with {@link SnapshotScanner.feed}, then call
 * {@link SnapshotScanner.finish}. Chunks may split anything (numbers, strings, escapes, UTF-8 sequences).
 * A chunk may be reused by the caller after `feed` returns.
 * @internal
 */
export class SnapshotScanner {
  private mode = Mode.Header;
  private bytes = 0;
  // header
  private headerParts: Buffer[] = [];
  private hDepth = 0;
  private hInString = false;
  private hEscape = false;
  private hSeenObject = false;
  // top level
  private key: string | null = null;
  private keyBytes: number[] = [];
  private inKey = false;
  private afterColon = false;
  // numbers
  private section = Section.Discard;
  private num = 0;
  private inNum = false;
  private neg = false;
  private depth = 0;
  private k = 0; // values read in the nodes/edges section
  private field = 0;
  private row = 0;
  private edgeSum = 0; // running sum of edge_count: firstEdge[row]
  private traceCounters: number[] = [];
  // strings
  private inStr = false;
  private strEscape = false;
  private strHasEscape = false;
  private strParts: Buffer[] = [];
  // skip
  private skipDepth = 0;
  private skipInString = false;
  private skipEscape = false;
  // output
  meta!: SnapshotMeta;
  nodeCount = 0;
  edgeCount = 0;
  nodeFieldCount = 0;
  edgeFieldCount = 0;
  private nodeKinds = new Uint8Array(0);
  private edgeKinds = new Uint8Array(0);
  private locObjectField = 0;
  private locFieldCount = 4;
  private traceIdField = 0;
  private traceFiField = 1;
  private traceFieldCount = 5;
  nodeType!: U8Store;
  nodeName!: U32Store;
  nodeId!: U32Store;
  nodeSelfSize!: U32Store;
  firstEdge!: Uint32Array;
  nodeExtra: (U32Store | null)[] = [];
  edgeType!: U8Store;
  edgeName!: U32Store;
  edgeTo!: U32Store;
  edgeExtra: (U32Store | null)[] = [];
  retainerCount!: Uint32Array;
  readonly strings: string[] = [];
  private locations = new GrowableI32(4096);
  private traceFunctionInfos = new GrowableI32(16);
  private traceNodes = new GrowableI32(16);
  private discard = 0;
  private seen = new Set<string>();

  constructor(private readonly alloc: AllocOptions = {}) {}

  /** Scans one chunk. */
  feed(buf: Uint8Array): void {
    const n = buf.length;
    let i = 0;
    this.bytes += n;
    while (i < n) {
      switch (this.mode) {
        case Mode.Header:
          i = this.scanHeader(buf, i);
          break;
        case Mode.Top:
          i = this.scanTop(buf, i);
          break;
        case Mode.Nums:
          if (this.section === Section.Nodes) i = this.scanNodes(buf, i);
          else if (this.section === Section.Edges) i = this.scanEdges(buf, i);
          else i = this.scanSmall(buf, i);
          break;
        case Mode.Strs:
          i = this.scanStrings(buf, i);
          break;
        case Mode.Skip:
          i = this.scanSkip(buf, i);
          break;
        case Mode.Done:
          for (; i < n; i++) if (!isSpace(buf[i])) throw new InvalidInputError('heap snapshot: data after the end of the top-level object');
          break;
      }
    }
  }

  /** Checks that everything arrived and returns the columns. */
  finish(): RawSnapshot {
    if (this.mode !== Mode.Done) throw new InvalidInputError('heap snapshot is truncated (the top-level object never closed)');
    const nf = this.nodeFieldCount;
    for (const s of ['nodes', 'edges', 'strings']) {
      if (!this.seen.has(s)) throw new InvalidInputError(`heap snapshot has no "${s}" section`);
    }
    const N = this.nodeCount;
    const firstEdge = this.firstEdge;
    if (this.edgeSum !== this.edgeCount) throw new InvalidInputError(`heap snapshot: nodes declare ${this.edgeSum} edges, header says ${this.edgeCount}`);
    firstEdge[N] = this.edgeSum;
    const locations = this.locations.trimmed();
    for (let r = this.locObjectField; r < locations.length; r += this.locFieldCount) locations[r] = (locations[r] / nf) | 0;
    // Row-major views for tests and debugging (closures over the columns, not over the scanner, which
    // must be free to go: its growable arrays hold up to twice the small sections).
    const { nodeType, nodeName, nodeId, nodeSelfSize, nodeExtra, edgeType, edgeName, edgeTo, edgeExtra } = this;
    const nodeRead = [...this.nodeKinds].map((kind, f): ((r: number) => number) => {
      switch (kind) {
        case NodeField.Type: return (r) => nodeType.get(r);
        case NodeField.Name: return (r) => nodeName.get(r);
        case NodeField.Id: return (r) => nodeId.get(r);
        case NodeField.SelfSize: return (r) => nodeSelfSize.get(r);
        case NodeField.EdgeCount: return (r) => firstEdge[r + 1] - firstEdge[r];
        default: {
          const col = nodeExtra[f];
          return col ? (r) => col.get(r) : () => 0;
        }
      }
    });
    const edgeRead = [...this.edgeKinds].map((kind, f): ((r: number) => number) => {
      switch (kind) {
        case EdgeField.Type: return (r) => edgeType.get(r);
        case EdgeField.Name: return (r) => edgeName.get(r);
        case EdgeField.To: return (r) => edgeTo.get(r);
        default: {
          const col = edgeExtra[f];
          return col ? (r) => col.get(r) : () => 0;
        }
      }
    });
    return {
      meta: this.meta,
      nodeCount: N,
      edgeCount: this.edgeCount,
      nodeType: this.nodeType,
      nodeName: this.nodeName,
      nodeId: this.nodeId,
      nodeSelfSize: this.nodeSelfSize,
      firstEdge,
      nodeExtra: this.nodeExtra,
      edgeType: this.edgeType,
      edgeName: this.edgeName,
      edgeTo: this.edgeTo,
      edgeExtra: this.edgeExtra,
      retainerCount: this.retainerCount,
      nodes: new RowsView(N, nodeRead, this.nodeName.split),
      edges: new RowsView(this.edgeCount, edgeRead, this.edgeName.split),
      strings: this.strings,
      locations,
      traceFunctionInfos: this.traceFunctionInfos.trimmed(),
      traceNodes: this.traceNodes.trimmed(),
      bytes: this.bytes,
    };
  }

  private scanHeader(buf: Uint8Array, i: number): number {
    const start = i;
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf[i];
      if (this.hInString) {
        if (this.hEscape) this.hEscape = false;
        else if (c === BACKSLASH) this.hEscape = true;
        else if (c === QUOTE) this.hInString = false;
        continue;
      }
      if (c === QUOTE) this.hInString = true;
      else if (c === LBRACE || c === LBRACKET) {
        this.hDepth++;
        if (this.hDepth === 2) this.hSeenObject = true;
      } else if (c === RBRACE || c === RBRACKET) {
        this.hDepth--;
        if (this.hDepth === 1 && this.hSeenObject) {
          this.headerParts.push(Buffer.from(buf.subarray(start, i + 1)));
          this.parseHeader();
          this.mode = Mode.Top;
          return i + 1;
        }
        if (this.hDepth < 1) throw new InvalidInputError('heap snapshot: no "snapshot" header object');
      } else if (this.hDepth === 0 && !isSpace(c)) {
        throw new InvalidInputError('not a heap snapshot (expected a JSON object)');
      }
    }
    this.headerParts.push(Buffer.from(buf.subarray(start, n)));
    if (this.headerParts.reduce((a, b) => a + b.length, 0) > 16 * 1024 * 1024) {
      throw new InvalidInputError('heap snapshot: header larger than 16 MB');
    }
    return n;
  }

  private parseHeader(): void {
    const text = Buffer.concat(this.headerParts).toString('utf8') + '}';
    this.headerParts = [];
    let parsed: { snapshot?: { meta?: SnapshotMeta; node_count?: number; edge_count?: number } };
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new InvalidInputError('heap snapshot: malformed header', { cause });
    }
    const snap = parsed.snapshot;
    const meta = snap?.meta;
    if (!snap || !meta || !Array.isArray(meta.node_fields) || !Array.isArray(meta.edge_fields)) {
      throw new InvalidInputError('heap snapshot: header has no snapshot.meta with node_fields and edge_fields');
    }
    if (!Number.isInteger(snap.node_count) || !Number.isInteger(snap.edge_count)) {
      throw new InvalidInputError('heap snapshot: header has no node_count/edge_count');
    }
    this.meta = meta;
    this.nodeCount = snap.node_count as number;
    this.edgeCount = snap.edge_count as number;
    this.nodeFieldCount = meta.node_fields.length;
    this.edgeFieldCount = meta.edge_fields.length;
    if (meta.edge_fields.indexOf('to_node') < 0 || meta.node_fields.indexOf('edge_count') < 0) {
      throw new InvalidInputError('heap snapshot: meta lacks to_node or edge_count fields');
    }
    const nodeKind: Record<string, NodeField> = { type: NodeField.Type, name: NodeField.Name, id: NodeField.Id, self_size: NodeField.SelfSize, edge_count: NodeField.EdgeCount };
    const edgeKind: Record<string, EdgeField> = { type: EdgeField.Type, name_or_index: EdgeField.Name, to_node: EdgeField.To };
    for (const f of ['type', 'name', 'id', 'self_size']) {
      if (meta.node_fields.indexOf(f) < 0) throw new InvalidInputError(`heap snapshot: meta lacks the ${f} field`);
    }
    if (meta.edge_fields.indexOf('type') < 0) throw new InvalidInputError('heap snapshot: meta lacks the edge_type field');
    if (meta.edge_fields.indexOf('name_or_index') < 0) throw new InvalidInputError('heap snapshot: meta lacks the name_or_index field');
    // A field named twice is stored once (the first, as indexOf finds it); the rest are extra columns.
    this.nodeKinds = Uint8Array.from(meta.node_fields, (f, i) => (Object.hasOwn(nodeKind, f) && meta.node_fields.indexOf(f) === i ? nodeKind[f] : NodeField.Extra));
    this.edgeKinds = Uint8Array.from(meta.edge_fields, (f, i) => (Object.hasOwn(edgeKind, f) && meta.edge_fields.indexOf(f) === i ? edgeKind[f] : EdgeField.Extra));
    this.nodeExtra = meta.node_fields.map(() => null);
    this.edgeExtra = meta.edge_fields.map(() => null);
    const lf = meta.location_fields ?? ['object_index', 'script_id', 'line', 'column'];
    this.locFieldCount = lf.length;
    this.locObjectField = Math.max(0, lf.indexOf('object_index'));
    const tf = meta.trace_node_fields ?? ['id', 'function_info_index', 'count', 'size', 'children'];
    this.traceFieldCount = tf.length;
    this.traceIdField = Math.max(0, tf.indexOf('id'));
    this.traceFiField = Math.max(0, tf.indexOf('function_info_index'));
    const N = this.nodeCount;
    const E = this.edgeCount;
    this.nodeType = allocU8(N, this.alloc);
    this.nodeName = allocU32(N, this.alloc);
    this.nodeId = allocU32(N, this.alloc);
    this.nodeSelfSize = allocU32(N, this.alloc);
    this.firstEdge = new Uint32Array(N + 1);
    this.edgeType = allocU8(E, this.alloc);
    this.edgeName = allocU32(E, this.alloc);
    this.edgeTo = allocU32(E, this.alloc);
    this.retainerCount = new Uint32Array(N + 1);
  }

  private scanTop(buf: Uint8Array, i: number): number {
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf[i];
      if (this.inKey) {
        if (c === QUOTE) {
          this.inKey = false;
          this.key = Buffer.from(this.keyBytes).toString('utf8');
          this.keyBytes = [];
        } else this.keyBytes.push(c);
        continue;
      }
      if (isSpace(c) || c === COMMA) continue;
      if (this.key === null) {
        if (c === QUOTE) this.inKey = true;
        else if (c === RBRACE) {
          this.mode = Mode.Done;
          return i + 1;
        } else throw new InvalidInputError(`heap snapshot: unexpected byte ${JSON.stringify(String.fromCharCode(c))} between sections`);
        continue;
      }
      if (!this.afterColon) {
        if (c !== COLON) throw new InvalidInputError('heap snapshot: expected ":" after a section name');
        this.afterColon = true;
        continue;
      }
      const key = this.key;
      this.key = null;
      this.afterColon = false;
      if ((key === 'nodes' || key === 'edges') && this.seen.has(key)) throw new InvalidInputError(`heap snapshot: two "${key}" sections`);
      this.seen.add(key);
      if (c !== LBRACKET) {
        // An unknown non-array value: skip it generically.
        this.mode = Mode.Skip;
        this.skipDepth = 0;
        this.skipInString = false;
        return i; // re-scan this byte in Skip mode
      }
      this.num = 0;
      this.inNum = false;
      this.neg = false;
      this.depth = 0;
      this.k = 0;
      this.field = 0;
      this.row = 0;
      switch (key) {
        case 'nodes':
          this.mode = Mode.Nums;
          this.section = Section.Nodes;
          break;
        case 'edges':
          this.mode = Mode.Nums;
          this.section = Section.Edges;
          break;
        case 'locations':
          this.mode = Mode.Nums;
          this.section = Section.Locations;
          break;
        case 'trace_function_infos':
          this.mode = Mode.Nums;
          this.section = Section.TraceFunctionInfos;
          break;
        case 'trace_tree':
          this.mode = Mode.Nums;
          this.section = Section.TraceTree;
          this.traceCounters = [0];
          break;
        case 'strings':
          this.mode = Mode.Strs;
          this.inStr = false;
          break;
        default:
          this.mode = Mode.Skip;
          this.skipDepth = 0;
          this.skipInString = false;
          return i;
      }
      return i + 1;
    }
    return n;
  }

  /**
   * A non-zero value of an extra field (trace_node_id, detachedness, …). Its column is allocated on the
   * first one, as bytes; it is widened to 32 bits (one copy) on the first value above 255.
   */
  private setExtra(cols: (U32Store | null)[], field: number, row: number, v: number, length: number): void {
    let col = cols[field];
    if (col === null) col = cols[field] = allocU8(length, this.alloc);
    if (v > 255 && (col instanceof FlatU8 || col instanceof SplitU8)) {
      const wide = allocU32(length, this.alloc);
      for (let r = 0; r < row; r++) wide.set(r, col.get(r));
      col = cols[field] = wide;
    }
    col.set(row, v);
  }

  /** A hot loop: digits of `nodes` straight into the node columns. */
  private scanNodes(buf: Uint8Array, i: number): number {
    const n = buf.length;
    let num = this.num;
    let inNum = this.inNum;
    let k = this.k;
    let field = this.field;
    let row = this.row;
    let edgeSum = this.edgeSum;
    const F = this.nodeFieldCount;
    const cap = this.nodeCount * F;
    const kinds = this.nodeKinds;
    const type = this.nodeType;
    const name = this.nodeName;
    const id = this.nodeId;
    const size = this.nodeSelfSize;
    const firstEdge = this.firstEdge;
    for (; i < n; i++) {
      const c = buf[i];
      if (c >= ZERO && c <= NINE) {
        num = num * 10 + (c - ZERO);
        inNum = true;
        continue;
      }
      if (inNum) {
        if (k >= cap) throw new InvalidInputError("heap snapshot: more nodes than the header's count");
        switch (kinds[field]) {
          case NodeField.Type:
            if (num > 255) throw new InvalidInputError(`heap snapshot: node type ${num} out of range`);
            type.set(row, num);
            break;
          case NodeField.Name:
            name.set(row, num);
            break;
          case NodeField.Id:
            id.set(row, num);
            break;
          case NodeField.SelfSize:
            size.set(row, num);
            break;
          case NodeField.EdgeCount:
            firstEdge[row] = edgeSum;
            edgeSum += num;
            break;
          default:
            if (num !== 0) this.setExtra(this.nodeExtra, field, row, num, this.nodeCount);
        }
        k++;
        if (++field === F) {
          field = 0;
          row++;
        }
        num = 0;
        inNum = false;
      }
      if (c === RBRACKET) {
        if (k !== cap) throw new InvalidInputError(`heap snapshot: nodes section has ${k} values, header says ${cap}`);
        this.mode = Mode.Top;
        i++;
        break;
      }
      if (c !== COMMA && !isSpace(c)) throw new InvalidInputError(`heap snapshot: unexpected byte ${JSON.stringify(String.fromCharCode(c))} in a number array`);
    }
    this.num = num;
    this.inNum = inNum;
    this.k = k;
    this.field = field;
    this.row = row;
    this.edgeSum = edgeSum;
    return i;
  }

  /** A hot loop: digits of `edges` straight into the edge columns; counts retainers per target. */
  private scanEdges(buf: Uint8Array, i: number): number {
    const n = buf.length;
    let num = this.num;
    let inNum = this.inNum;
    let k = this.k;
    let field = this.field;
    let row = this.row;
    const F = this.edgeFieldCount;
    const cap = this.edgeCount * F;
    const nf = this.nodeFieldCount;
    const N = this.nodeCount;
    const kinds = this.edgeKinds;
    const type = this.edgeType;
    const name = this.edgeName;
    const to = this.edgeTo;
    const retainerCount = this.retainerCount;
    for (; i < n; i++) {
      const c = buf[i];
      if (c >= ZERO && c <= NINE) {
        num = num * 10 + (c - ZERO);
        inNum = true;
        continue;
      }
      if (inNum) {
        if (k >= cap) throw new InvalidInputError("heap snapshot: more edges than the header's count");
        switch (kinds[field]) {
          case EdgeField.Type:
            if (num > 255) throw new InvalidInputError(`heap snapshot: edge type ${num} out of range`);
            type.set(row, num);
            break;
          case EdgeField.Name:
            name.set(row, num);
            break;
          case EdgeField.To: {
            if (num % nf !== 0) throw new InvalidInputError('heap snapshot: edge to_node is not a node offset');
            const t = num / nf;
            if (t >= N) throw new InvalidInputError(`heap snapshot: edge ${row} points past the last node`);
            to.set(row, t);
            retainerCount[t]++;
            break;
          }
          default:
            if (num !== 0) this.setExtra(this.edgeExtra, field, row, num, this.edgeCount);
        }
        k++;
        if (++field === F) {
          field = 0;
          row++;
        }
        num = 0;
        inNum = false;
      }
      if (c === RBRACKET) {
        if (k !== cap) throw new InvalidInputError(`heap snapshot: edges section has ${k} values, header says ${cap}`);
        this.mode = Mode.Top;
        i++;
        break;
      }
      if (c !== COMMA && !isSpace(c)) throw new InvalidInputError(`heap snapshot: unexpected byte ${JSON.stringify(String.fromCharCode(c))} in a number array`);
    }
    this.num = num;
    this.inNum = inNum;
    this.k = k;
    this.field = field;
    this.row = row;
    return i;
  }

  private emitSmall(v: number): void {
    switch (this.section) {
      case Section.Locations:
        this.locations.push(v);
        break;
      case Section.TraceFunctionInfos:
        this.traceFunctionInfos.push(v);
        break;
      case Section.TraceTree: {
        const d = this.depth;
        const f = this.traceCounters[d];
        if (f === this.traceIdField) this.traceNodes.push(v);
        else if (f === this.traceFiField) this.traceNodes.push(v);
        this.traceCounters[d] = f + 1;
        break;
      }
      default:
        this.discard++;
    }
  }

  /** Small numeric sections, possibly nested (`trace_tree`), possibly negative. */
  private scanSmall(buf: Uint8Array, i: number): number {
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf[i];
      if (c >= ZERO && c <= NINE) {
        this.num = this.num * 10 + (c - ZERO);
        this.inNum = true;
        continue;
      }
      if (c === MINUS) {
        this.neg = true;
        continue;
      }
      if (this.inNum) {
        this.emitSmall(this.neg ? -this.num : this.num);
        this.num = 0;
        this.inNum = false;
        this.neg = false;
      }
      if (c === RBRACKET) {
        if (this.depth === 0) {
          this.mode = Mode.Top;
          return i + 1;
        }
        this.depth--;
      } else if (c === LBRACKET) {
        // trace_tree: the children array is the last field of the node at this depth.
        if (this.section === Section.TraceTree) {
          this.traceCounters[this.depth] = 0;
          this.depth++;
          this.traceCounters[this.depth] = 0;
        } else this.depth++;
      } else if (c !== COMMA && !isSpace(c)) {
        throw new InvalidInputError(`heap snapshot: unexpected byte ${JSON.stringify(String.fromCharCode(c))} in a number array`);
      }
    }
    return n;
  }

  private endString(buf: Uint8Array, start: number, end: number): void {
    let s: string;
    if (this.strParts.length === 0) s = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
    else {
      this.strParts.push(Buffer.from(buf.subarray(start, end)));
      s = Buffer.concat(this.strParts).toString('utf8');
      this.strParts = [];
    }
    if (this.strHasEscape) {
      try {
        s = JSON.parse('"' + s + '"') as string;
      } catch (cause) {
        throw new InvalidInputError('heap snapshot: malformed string escape', { cause });
      }
    }
    this.strings.push(s);
  }

  private scanStrings(buf: Uint8Array, i: number): number {
    const n = buf.length;
    while (i < n) {
      if (!this.inStr) {
        const c = buf[i];
        if (c === QUOTE) {
          this.inStr = true;
          this.strHasEscape = false;
          this.strEscape = false;
          i++;
          continue;
        }
        if (c === RBRACKET) {
          this.mode = Mode.Top;
          return i + 1;
        }
        if (c !== COMMA && !isSpace(c)) throw new InvalidInputError('heap snapshot: unexpected byte in the strings array');
        i++;
        continue;
      }
      const start = i;
      let escape = this.strEscape;
      for (; i < n; i++) {
        const c = buf[i];
        if (escape) escape = false;
        else if (c === BACKSLASH) {
          escape = true;
          this.strHasEscape = true;
        } else if (c === QUOTE) break;
      }
      this.strEscape = escape;
      if (i < n) {
        this.endString(buf, start, i);
        this.inStr = false;
        i++;
      } else {
        // The string continues in the next chunk (possibly mid UTF-8 sequence): keep its bytes.
        this.strParts.push(Buffer.from(buf.subarray(start, n)));
      }
    }
    return n;
  }

  private scanSkip(buf: Uint8Array, i: number): number {
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf[i];
      if (this.skipInString) {
        if (this.skipEscape) this.skipEscape = false;
        else if (c === BACKSLASH) this.skipEscape = true;
        else if (c === QUOTE) {
          this.skipInString = false;
          if (this.skipDepth === 0) {
            this.mode = Mode.Top;
            return i + 1;
          }
        }
        continue;
      }
      if (c === QUOTE) this.skipInString = true;
      else if (c === LBRACE || c === LBRACKET) this.skipDepth++;
      else if (c === RBRACE || c === RBRACKET) {
        if (this.skipDepth === 0) {
          // The end of the enclosing object: a scalar value ended right before it.
          this.mode = Mode.Top;
          return i;
        }
        this.skipDepth--;
        if (this.skipDepth === 0) {
          this.mode = Mode.Top;
          return i + 1;
        }
      } else if (c === COMMA && this.skipDepth === 0) {
        this.mode = Mode.Top;
        return i + 1;
      }
    }
    return n;
  }
}

function isReadable(x: unknown): x is Readable {
  return typeof x === 'object' && x !== null && typeof (x as Readable).pipe === 'function';
}

/**
 * Loads a heap snapshot from a path or a readable stream into raw typed columns.
 * Rejects with `FileNotFoundError` for a missing file, `InvalidInputError` for anything not a snapshot.
 */
export async function loadRawSnapshot(source: string | Readable | AsyncIterable<Uint8Array>, opts: LoadOptions = {}): Promise<RawSnapshot> {
  const scanner = new SnapshotScanner(opts);
  const showProgress = opts.progress ?? process.stderr.isTTY === true;
  let total = 0;
  let nextReport = 0;
  const report = (done: number): void => {
    if (!showProgress || total === 0 || done < nextReport) return;
    nextReport = done + total / 20;
    process.stderr.write(`\rloading heap snapshot ${Math.floor((done / total) * 100)}% (${(done / 1048576).toFixed(0)} of ${(total / 1048576).toFixed(0)} MB)`);
  };
  if (typeof source === 'string') {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(source, 'r');
    } catch (cause) {
      throw new FileNotFoundError(`cannot open heap snapshot ${source}`, { cause, context: { file: source } });
    }
    try {
      total = (await fh.stat()).size;
      const size = opts.chunkSize ?? 4 * 1024 * 1024;
      const buf = Buffer.allocUnsafe(size);
      let done = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, size, null);
        if (bytesRead === 0) break;
        scanner.feed(bytesRead === size ? buf : buf.subarray(0, bytesRead));
        done += bytesRead;
        report(done);
      }
    } finally {
      await fh.close();
    }
  } else {
    const stream = isReadable(source) || Symbol.asyncIterator in (source as object) ? source : createReadStream(source as never);
    let done = 0;
    for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (opts.chunkSize && bytes.length > opts.chunkSize) {
        for (let o = 0; o < bytes.length; o += opts.chunkSize) scanner.feed(bytes.subarray(o, o + opts.chunkSize));
      } else scanner.feed(bytes);
      done += bytes.length;
    }
    void done;
  }
  if (showProgress && total > 0) process.stderr.write('\r\x1b[K');
  return scanner.finish();
}
