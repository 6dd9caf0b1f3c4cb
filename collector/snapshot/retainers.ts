/**
 * Shortest retainer paths from the GC roots, skipping weak edges and preferring paths through user
 * objects over V8/system internals.
 *
 * One breadth-first search over the whole graph (preallocated typed queue, bit vector for "visited"),
 * in two phases:
 *   A. from the root, entering only nodes that are not system internals (code, object shapes, hidden
 *      `system / …` objects other than contexts), so user objects get paths made of user objects;
 *   B. continuing from every node reached so far, in the same BFS order, now entering anything.
 * The result is a shortest-path tree stored as one parent-edge array (the parent node is the edge's
 * owner); any node's path is read back in O(path length * log N).
 *
 * ```
 * queue:      [ root | a | b | … ]        Uint32Array(nodeCount), each node enqueued once; handed on to
 *                                         the dominator pass afterwards (HeapGraph.offerScratch)
 * visited:    bit vector, nodeCount bits
 * parentEdge: Uint32Array(nodeCount)      edge ordinal from the parent; NONE for the root and unreachable nodes
 * parentNode: Uint32Array(nodeCount)      built from parentEdge on first use only (one pass over the edges)
 * ```
 */
import type { RetainerStep } from '../report-model';
import type { HeapGraph } from './graph';
import { nameRetainerPath, type NamingOptions } from './naming';

/** No parent: unreachable through strong edges. */
export const NONE = 0xffffffff;

/** The shortest-retainer tree of a graph. */
export interface RetainerTree {
  /** Node ordinal -> its parent on the shortest path; the root is its own parent; NONE when unreachable. Built on first read. */
  readonly parentNode: Uint32Array;
  /** Node ordinal -> the edge from its parent; NONE for the root and unreachable nodes. */
  readonly parentEdge: Uint32Array;
}

/** @internal */
class ShortestPathTree implements RetainerTree {
  private parents: Uint32Array | null = null;
  constructor(
    private readonly graph: HeapGraph,
    readonly parentEdge: Uint32Array,
  ) {}

  get parentNode(): Uint32Array {
    if (this.parents) return this.parents;
    const g = this.graph;
    const N = g.nodeCount;
    const parentEdge = this.parentEdge;
    const to = g.edgeToColumn;
    const firstEdge = g.firstEdge;
    const parents = new Uint32Array(N).fill(NONE);
    for (let v = 0; v < N; v++) {
      const end = firstEdge[v + 1];
      for (let e = firstEdge[v]; e < end; e++) {
        const w = to.get(e);
        if (parentEdge[w] === e) parents[w] = v;
      }
    }
    parents[g.rootIndex] = g.rootIndex;
    return (this.parents = parents);
  }
}

/** A raw path: `nodes[0]` is the root, `edges[i]` leads from `nodes[i]` to `nodes[i + 1]`. */
export interface RawPath {
  nodes: number[];
  edges: number[];
}

/** GC root categories whose references are momentary (see retainerTree). */
const MOMENTARY_ROOTS = new Set(['(Strong roots)', '(Stack roots)', '(Handle scope)', '(Eternal handles)', '(Traced handles)']);

/** True for a GC root category whose references are momentary (see MOMENTARY_ROOTS). */
function isMomentaryRoot(graph: HeapGraph, node: number): boolean {
  return graph.nodeType(node) === 'synthetic' && MOMENTARY_ROOTS.has(graph.nodeName(node));
}

/** @internal True for V8 internals a human would not call "what holds it". */
export function isSystemNode(graph: HeapGraph, node: number): boolean {
  const t = graph.nodeTypeIndex(node);
  if (t === graph.nodeTypeCode || t === graph.nodeTypeObjectShape || t === graph.nodeTypeHidden) return true;
  if (t === graph.nodeTypeObject) {
    const name = graph.nodeName(node);
    return name.startsWith('system / ') && name !== 'system / Context';
  }
  return false;
}

/** Builds (once, then cached on the graph) the shortest-retainer tree. */
export function retainerTree(graph: HeapGraph): RetainerTree {
  const cached = graph.cache.retainerTree as RetainerTree | undefined;
  if (cached) return cached;
  const N = graph.nodeCount;
  const eType = graph.edgeTypeColumn;
  const eTo = graph.edgeToColumn;
  const weak = graph.edgeTypeWeak;
  const firstEdge = graph.firstEdge;
  const queue = graph.takeScratch(N);
  const visited = new Uint8Array((N + 7) >>> 3);
  const parentEdge = new Uint32Array(N).fill(NONE);
  let tail = 0;
  const root = graph.rootIndex;
  queue[tail++] = root;
  visited[root >>> 3] |= 1 << (root & 7);

  // Roots that hold objects only for the moment (the frames running now, the handles they opened, and the
  // WeakRef "keep during job" set: whatever code just dereferenced) are entered last, so that an object
  // held by a Map or a closure is explained by that, not by the code that looked at it.
  const expand = (head: number, allowSystem: boolean, allowMomentary = true): number => {
    for (; head < tail; head++) {
      const v = queue[head];
      const end = firstEdge[v + 1];
      for (let e = firstEdge[v]; e < end; e++) {
        if (eType.get(e) === weak) continue;
        const w = eTo.get(e);
        if (visited[w >>> 3] & (1 << (w & 7))) continue;
        if (!allowSystem && isSystemNode(graph, w)) continue;
        if (!allowMomentary && isMomentaryRoot(graph, w)) continue;
        visited[w >>> 3] |= 1 << (w & 7);
        parentEdge[w] = e;
        queue[tail++] = w;
      }
    }
    return head;
  };
  expand(0, false, false);
  expand(0, true, false);
  expand(0, true, true);
  graph.offerScratch(queue);
  const tree = new ShortestPathTree(graph, parentEdge);
  graph.cache.retainerTree = tree;
  return tree;
}

/**
 * True when a shortest path goes through a momentary root. Those are entered last (see retainerTree), so
 * its node is reached by nothing else: only by the frames running when the snapshot was taken, their
 * handles, or the WeakRef "keep during job" set, which holds what the agent's own read dereferenced just
 * before. Nothing of the app holds such a node any more.
 */
export function throughMomentaryRoot(graph: HeapGraph, path: RawPath): boolean {
  return path.nodes.some((n) => isMomentaryRoot(graph, n));
}

/** The raw shortest retainer path of `node` (root first), or null when no strong path reaches it. */
export function retainerPathRaw(graph: HeapGraph, node: number): RawPath | null {
  const { parentEdge } = retainerTree(graph);
  const root = graph.rootIndex;
  if (node !== root && parentEdge[node] === NONE) return null;
  const nodes: number[] = [];
  const edgesOut: number[] = [];
  let v = node;
  while (v !== root) {
    const e = parentEdge[v];
    nodes.push(v);
    edgesOut.push(e);
    v = graph.edgeOwner(e);
  }
  nodes.push(v);
  nodes.reverse();
  edgesOut.reverse();
  return { nodes, edges: edgesOut };
}

/**
 * The shortest retainer path of `node`, each step named for a human, root first and the leaked object
 * last. Empty when no strong path reaches the node (it is garbage, or only weakly held).
 */
export function retainerPath(graph: HeapGraph, node: number, opts: NamingOptions = {}): RetainerStep[] {
  const raw = retainerPathRaw(graph, node);
  return raw ? nameRetainerPath(graph, raw, opts) : [];
}
