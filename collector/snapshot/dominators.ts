/**
 * Dominator tree and retained sizes: Lengauer–Tarjan (the "simple" version with path compression,
 * O(E log N)), iterative, on typed arrays. Unlike the iterative Cooper–Harvey–Kennedy scheme it has no
 * quadratic worst case, so it stays near-linear on 10M+ node heaps.
 *
 * Weak edges are not followed (they do not keep anything alive). Everything works in DFS-number space
 * (1..n, the root is 1, 0 means "none"):
 *
 * ```
 * dfnOf[node] -> dfn      vertex[dfn] -> node     parent[dfn] -> dfn of DFS-tree parent
 * semi, label, ancestor   (the forest with path compression)
 * bucketHead[dfn], bucketNext[dfn]                 (vertices whose semidominator is dfn, a linked list)
 * idom[dfn]                                        (immediate dominator, dfn space)
 * ```
 * Retained sizes then need no tree: idom(w) < w in DFS order, so one pass from the last DFS number down
 * adds each node's retained size to its dominator's.
 */
import type { HeapGraph } from './graph';

/** Dominator tree of a heap graph. */
export interface DominatorTree {
  /** Node ordinal -> immediate dominator's node ordinal (the root dominates itself); UNREACHABLE if not reachable. */
  dominator: Uint32Array;
  /** Node ordinal -> retained size in bytes (self size plus everything it alone keeps alive); 0 if unreachable. */
  retained: Float64Array;
  /** How many nodes are reachable from the root through strong edges. */
  reachable: number;
}

/** Marks nodes not reachable from the root through strong edges. */
export const UNREACHABLE = 0xffffffff;

/** Builds (once, then cached on the graph) the dominator tree and retained sizes. */
export function dominatorTree(graph: HeapGraph): DominatorTree {
  const cached = graph.cache.dominators as DominatorTree | undefined;
  if (cached) return cached;
  const result = build(graph);
  graph.cache.dominators = result;
  return result;
}

/** Bytes retained by `node`: its own size plus everything reachable only through it. */
export function retainedSize(graph: HeapGraph, node: number): number {
  return dominatorTree(graph).retained[node];
}

/** The immediate dominator of `node`, or -1 for the root or an unreachable node. */
export function immediateDominator(graph: HeapGraph, node: number): number {
  const d = dominatorTree(graph).dominator[node];
  return d === UNREACHABLE || node === graph.rootIndex ? -1 : d;
}

function build(graph: HeapGraph): DominatorTree {
  const N = graph.nodeCount;
  const edges = graph.edges;
  const EF = graph.edgeFieldCount;
  const toOff = graph.edgeToOffset;
  const typeOff = graph.edgeTypeOffset;
  const weak = graph.edgeTypeWeak;
  const firstEdge = graph.firstEdge;
  const firstRetainer = graph.firstRetainer;
  const retainingEdges = graph.retainingEdges;

  const dfnOf = new Uint32Array(N);
  const vertex = new Uint32Array(N + 1);
  const parent = new Uint32Array(N + 1);
  const semi = new Uint32Array(N + 1);
  const ancestor = new Uint32Array(N + 1);
  const label = new Uint32Array(N + 1);
  const idom = new Uint32Array(N + 1);
  const bucketHead = new Uint32Array(N + 1);
  const bucketNext = new Uint32Array(N + 1);
  const stack = new Uint32Array(N + 1);

  // 1. Iterative DFS from the root over strong edges. `label` holds the stack of nodes and `idom` the
  //    next edge to look at for each stack entry (both are free until step 2).
  let n = 0;
  const root = graph.rootIndex;
  let sp = 0;
  label[0] = root;
  idom[0] = firstEdge[root];
  dfnOf[root] = ++n;
  vertex[n] = root;
  parent[n] = 0;
  while (sp >= 0) {
    const v = label[sp];
    let e = idom[sp];
    const end = firstEdge[v + 1];
    let pushed = false;
    for (; e < end; e++) {
      const base = e * EF;
      if (edges.get(base + typeOff) === weak) continue;
      const w = edges.get(base + toOff);
      if (dfnOf[w] !== 0) continue;
      dfnOf[w] = ++n;
      vertex[n] = w;
      parent[n] = dfnOf[v];
      idom[sp] = e + 1;
      sp++;
      label[sp] = w;
      idom[sp] = firstEdge[w];
      pushed = true;
      break;
    }
    if (!pushed) sp--;
  }
  for (let i = 1; i <= n; i++) {
    semi[i] = i;
    label[i] = i;
    ancestor[i] = 0;
    idom[i] = 0;
  }

  // eval with path compression (Appel's AncestorWithLowestSemi, iterative).
  const evalLowest = (v: number): number => {
    let top = 0;
    let u = v;
    while (ancestor[ancestor[u]] !== 0) {
      stack[top++] = u;
      u = ancestor[u];
    }
    while (top > 0) {
      u = stack[--top];
      const a = ancestor[u];
      const b = label[a];
      ancestor[u] = ancestor[a];
      if (semi[b] < semi[label[u]]) label[u] = b;
    }
    return label[v];
  };

  // 2. Semidominators, implicit immediate dominators, in reverse DFS order.
  for (let w = n; w >= 2; w--) {
    const p = parent[w];
    let s = p;
    const node = vertex[w];
    const rEnd = firstRetainer[node + 1];
    for (let slot = firstRetainer[node]; slot < rEnd; slot++) {
      const e = retainingEdges.get(slot);
      if (edges.get(e * EF + typeOff) === weak) continue;
      const dv = dfnOf[graph.edgeOwner(e)];
      if (dv === 0) continue; // holder unreachable from the root
      const cand = dv <= w ? dv : semi[evalLowest(dv)];
      if (cand < s) s = cand;
    }
    semi[w] = s;
    bucketNext[w] = bucketHead[s];
    bucketHead[s] = w;
    ancestor[w] = p;
    for (let v = bucketHead[p]; v !== 0; v = bucketNext[v]) {
      const y = evalLowest(v);
      idom[v] = semi[y] < semi[v] ? y : p;
    }
    bucketHead[p] = 0;
  }
  // 3. Explicit immediate dominators, in DFS order.
  for (let w = 2; w <= n; w++) if (idom[w] !== semi[w]) idom[w] = idom[idom[w]];
  idom[1] = 1;

  // 4. Retained sizes, one pass in reverse DFS order.
  const retained = new Float64Array(N);
  for (let w = 1; w <= n; w++) retained[vertex[w]] = graph.selfSize(vertex[w]);
  for (let w = n; w >= 2; w--) retained[vertex[idom[w]]] += retained[vertex[w]];

  // 5. Node-space dominators, written over dfnOf.
  const dominator = dfnOf;
  for (let i = 0; i < N; i++) {
    const d = dfnOf[i];
    dominator[i] = d === 0 ? UNREACHABLE : vertex[idom[d]];
  }
  return { dominator, retained, reachable: n };
}
