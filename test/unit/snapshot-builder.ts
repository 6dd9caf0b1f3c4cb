/**
 * A small builder of synthetic `.heapsnapshot` files, so graph algorithms are tested on graphs one can read:
 *
 * ```ts
 * const b = new SnapshotBuilder();
 * const map = b.node('Map');
 * b.gcRoot('(Global handles)').edge('element', 1, map);
 * map.edge('internal', 'table', b.node('', 'array', 152));
 * writeFileSync(path, b.toString());
 * ```
 * Node 0 is the synthetic root and node 1 is "(GC roots)", as in V8 snapshots.
 */
import { writeFileSync } from 'node:fs';

export const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape', 'wasm object'];
export const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];

export class BNode {
  readonly edges: { type: string; name: string | number; to: BNode }[] = [];
  loc: { scriptId: number; line: number; column: number } | null = null;
  constructor(readonly index: number, readonly type: string, readonly name: string, readonly selfSize: number, public id: number) {}
  /** Adds an edge; element and hidden edges take a number, the others a name. */
  edge(type: string, name: string | number, to: BNode): this {
    this.edges.push({ type, name, to });
    return this;
  }
  /** A 0-based source location (as V8 writes them). */
  location(scriptId: number, line: number, column: number): this {
    this.loc = { scriptId, line, column };
    return this;
  }
}

export class SnapshotBuilder {
  readonly nodes: BNode[] = [];
  readonly root: BNode;
  readonly gcRoots: BNode;
  private nextId = 1;
  private subRoots = new Map<string, BNode>();

  constructor() {
    this.root = this.node('', 'synthetic', 0);
    this.gcRoots = this.node('(GC roots)', 'synthetic', 0);
    this.root.edge('element', 1, this.gcRoots);
  }

  /** A new node (default: an object of 16 bytes). */
  node(name: string, type = 'object', selfSize = 16): BNode {
    if (!NODE_TYPES.includes(type)) throw new Error(`unknown node type ${type}`);
    const n = new BNode(this.nodes.length, type, name, selfSize, this.nextId);
    this.nextId += 2;
    this.nodes.push(n);
    return n;
  }

  /** A GC root category under "(GC roots)", e.g. "(Global handles)". */
  gcRoot(name: string): BNode {
    let r = this.subRoots.get(name);
    if (!r) {
      r = this.node(name, 'synthetic', 0);
      this.gcRoots.edge('element', this.subRoots.size + 1, r);
      this.subRoots.set(name, r);
    }
    return r;
  }

  /** The snapshot as a plain object (the shape V8 writes). */
  toJSON(): Record<string, unknown> {
    const strings: string[] = [];
    const index = new Map<string, number>();
    const str = (s: string): number => {
      let i = index.get(s);
      if (i === undefined) {
        i = strings.length;
        strings.push(s);
        index.set(s, i);
      }
      return i;
    };
    str('');
    const nodeFields = ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'];
    const NF = nodeFields.length;
    const nodes: number[] = [];
    const edges: number[] = [];
    const locations: number[] = [];
    let edgeCount = 0;
    for (const n of this.nodes) {
      nodes.push(NODE_TYPES.indexOf(n.type), str(n.name), n.id, n.selfSize, n.edges.length, 0, 0);
      for (const e of n.edges) {
        const numeric = e.type === 'element' || e.type === 'hidden';
        if (numeric !== (typeof e.name === 'number')) throw new Error(`edge ${e.type} ${e.name}: element/hidden edges take numbers, others names`);
        edges.push(EDGE_TYPES.indexOf(e.type), numeric ? (e.name as number) : str(e.name as string), e.to.index * NF);
        edgeCount++;
      }
      if (n.loc) locations.push(n.index * NF, n.loc.scriptId, n.loc.line, n.loc.column);
    }
    return {
      snapshot: {
        meta: {
          node_fields: nodeFields,
          node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
          edge_fields: ['type', 'name_or_index', 'to_node'],
          edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
          trace_function_info_fields: ['function_id', 'name', 'script_name', 'script_id', 'line', 'column'],
          trace_node_fields: ['id', 'function_info_index', 'count', 'size', 'children'],
          sample_fields: ['timestamp_us', 'last_assigned_id'],
          location_fields: ['object_index', 'script_id', 'line', 'column'],
        },
        node_count: this.nodes.length,
        edge_count: edgeCount,
        trace_function_count: 0,
      },
      nodes,
      edges,
      trace_function_infos: [],
      trace_tree: [],
      samples: [],
      locations,
      strings,
    };
  }

  toString(): string {
    return JSON.stringify(this.toJSON());
  }

  write(path: string): string {
    writeFileSync(path, this.toString());
    return path;
  }
}
