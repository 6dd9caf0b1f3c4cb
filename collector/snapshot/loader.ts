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
 *  "nodes":[9,1,1,0,5,0,0,…],                                 <- NUMS  -> nodes  (U32Store, N*node_fields)
 *  "edges":[1,1,7,…],                                          <- NUMS  -> edges  (U32Store, E*edge_fields)
 *  "trace_function_infos":[…], "trace_tree":[1,0,0,0,[…]],    <- NUMS  -> growable Int32 arrays
 *  "samples":[…], "locations":[…],                             <- NUMS
 *  "strings":["", "(GC roots)", …]}                            <- STRS  -> string[]
 * ```
 *
 * Two conversions happen on the way in, once: the edge `to_node` field (a node *offset* in the file) is
 * stored as a node *ordinal* (offset / node_fields), and so is the `object_index` of `locations`.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { FileNotFoundError, InvalidInputError } from '../../cli/errors';
import { allocU32, GrowableI32, type AllocOptions, type U32Store } from './store';

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
  /** `nodeCount * node_fields.length` values, in `meta.node_fields` order. */
  nodes: U32Store;
  /** `edgeCount * edge_fields.length` values; the `to_node` field holds a node ordinal. */
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
  private k = 0; // write index into nodes/edges
  private field = 0;
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
  private toNodeField = -1;
  private locObjectField = 0;
  private locFieldCount = 4;
  private traceIdField = 0;
  private traceFiField = 1;
  private traceFieldCount = 5;
  nodes!: U32Store;
  edges!: U32Store;
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
          if (this.section === Section.Nodes) i = this.scanInto(buf, i, this.nodes, -1);
          else if (this.section === Section.Edges) i = this.scanInto(buf, i, this.edges, this.toNodeField);
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
    if (this.nodes.length !== this.nodeCount * nf) throw new InvalidInputError('heap snapshot: node count mismatch');
    const locations = this.locations.trimmed();
    for (let r = this.locObjectField; r < locations.length; r += this.locFieldCount) locations[r] = (locations[r] / nf) | 0;
    return {
      meta: this.meta,
      nodeCount: this.nodeCount,
      edgeCount: this.edgeCount,
      nodes: this.nodes,
      edges: this.edges,
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
    this.toNodeField = meta.edge_fields.indexOf('to_node');
    if (this.toNodeField < 0 || meta.node_fields.indexOf('edge_count') < 0) {
      throw new InvalidInputError('heap snapshot: meta lacks to_node or edge_count fields');
    }
    const lf = meta.location_fields ?? ['object_index', 'script_id', 'line', 'column'];
    this.locFieldCount = lf.length;
    this.locObjectField = Math.max(0, lf.indexOf('object_index'));
    const tf = meta.trace_node_fields ?? ['id', 'function_info_index', 'count', 'size', 'children'];
    this.traceFieldCount = tf.length;
    this.traceIdField = Math.max(0, tf.indexOf('id'));
    this.traceFiField = Math.max(0, tf.indexOf('function_info_index'));
    this.nodes = allocU32(this.nodeCount * this.nodeFieldCount, this.alloc);
    this.edges = allocU32(this.edgeCount * this.edgeFieldCount, this.alloc);
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

  /** The hot loop: digits of `nodes` or `edges` straight into their store. */
  private scanInto(buf: Uint8Array, i: number, store: U32Store, toField: number): number {
    const n = buf.length;
    let num = this.num;
    let inNum = this.inNum;
    let k = this.k;
    let field = this.field;
    const fields = this.section === Section.Nodes ? this.nodeFieldCount : this.edgeFieldCount;
    const nf = this.nodeFieldCount;
    const cap = store.length;
    for (; i < n; i++) {
      const c = buf[i];
      if (c >= ZERO && c <= NINE) {
        num = num * 10 + (c - ZERO);
        inNum = true;
        continue;
      }
      if (inNum) {
        if (k >= cap) throw new InvalidInputError(`heap snapshot: more ${this.section === Section.Nodes ? 'nodes' : 'edges'} than the header's count`);
        if (field === toField) {
          if (num % nf !== 0) throw new InvalidInputError('heap snapshot: edge to_node is not a node offset');
          num = num / nf;
        }
        store.set(k++, num);
        if (++field === fields) field = 0;
        num = 0;
        inNum = false;
      }
      if (c === RBRACKET) {
        if (k !== cap) throw new InvalidInputError(`heap snapshot: ${this.section === Section.Nodes ? 'nodes' : 'edges'} section has ${k} values, header says ${cap}`);
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
