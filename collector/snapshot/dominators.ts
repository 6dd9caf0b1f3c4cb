/**
 * Dominator tree and retained sizes: Lengauer–Tarjan (the "simple" version with path compression,
 * O(E log N)), iterative, on typed arrays. Unlike the iterative Cooper–Harvey–Kennedy scheme it has no
 * quadratic worst case, so it stays near-linear on 10M+ node heaps.
 *
 * Weak edges are not followed (they do not keep anything alive). Everything works in DFS-number space
 * (1..n, the root is 1, 0 means "none"). Peak memory is what limits the size of snapshot we can open, so
 * the textbook's ten per-node arrays are folded into six, each slot reused once its first use is over:
 *
 * ```
 * array      steps 1 (DFS)          2 (semidominators)               3         4 (sizes)     result
 * dfnOf      node -> dfn            node -> dfn                      .         .             dominator (node space)
 * vertex     dfn -> node            dfn -> node                      .         dfn -> node   (offered as scratch)
 * anc        DFS-tree parent        parent, then forest ancestor     .         ┐
 * label      DFS stack (nodes)      forest label                     .         ┘ one buffer: retained (Float64, node space)
 * semi       .                      semi(w) once w is processed,     semi      .
 *                                   bucket head of w before
 * idom       DFS stack (next edge)  bucket link while in a bucket,   idom      idom
 *                                   then relative idom
 * ```
 * Why the sharing is sound, processing w = n .. 2:
 * - `anc`: a vertex is linked into the forest exactly when it has been processed, i.e. iff its dfn is
 *   above the current w; the parent array is only read for w itself before w is linked, so it doubles as
 *   the ancestor array and "linked" is a comparison, not a zero test.
 * - `semi`/bucket heads: semi(v) is only read for linked (processed) vertices; bucket(v) only holds
 *   vertices while v is unprocessed, and is empty when v is processed (every member lies in the subtree
 *   of a child of v, and each child drains its parent's bucket).
 * - `idom`/bucket links: idom(v) is set when v leaves its bucket, after its link is read.
 * - Path compression climbs with pointer reversal through `anc`, so it needs no stack.
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
  const eType = graph.edgeTypeColumn;
  const eTo = graph.edgeToColumn;
  const weak = graph.edgeTypeWeak;
  const firstEdge = graph.firstEdge;
  const firstRetainer = graph.firstRetainer;
  const retainingEdges = graph.retainingEdges;

  const dfnOf = graph.takeScratch(N); // the retainer tree's queue, when it ran first
  const vertex = new Uint32Array(N + 1);
  const semi = new Uint32Array(N + 1);
  const idom = new Uint32Array(N + 1);
  // label and anc in one buffer that holds the Float64 retained sizes once both are dead (step 4).
  const pair = new ArrayBuffer(8 * (N + 1));
  const label = new Uint32Array(pair, 0, N + 1);
  const anc = new Uint32Array(pair, 4 * (N + 1), N + 1);

  // 1. Iterative DFS from the root over strong edges. `label` holds the stack of nodes and `idom` the
  //    next edge to look at for each stack entry (both are free until step 2). anc[dfn] = parent's dfn.
  let n = 0;
  const root = graph.rootIndex;
  let sp = 0;
  label[0] = root;
  idom[0] = firstEdge[root];
  dfnOf[root] = ++n;
  vertex[n] = root;
  anc[n] = 0;
  while (sp >= 0) {
    const v = label[sp];
    let e = idom[sp];
    const end = firstEdge[v + 1];
    let pushed = false;
    for (; e < end; e++) {
      if (eType.get(e) === weak) continue;
      const w = eTo.get(e);
      if (dfnOf[w] !== 0) continue;
      dfnOf[w] = ++n;
      vertex[n] = w;
      anc[n] = dfnOf[v];
      idom[sp] = e + 1;
      sp++;
      label[sp] = w;
      idom[sp] = firstEdge[w];
      pushed = true;
      break;
    }
    if (!pushed) sp--;
  }
  for (let i = 0; i <= n; i++) {
    label[i] = i;
    idom[i] = 0;
  }

  // eval with path compression (Appel's AncestorWithLowestSemi). Vertices >= lo are linked. The climb
  // reverses the `anc` links behind it (prev chain, 0-terminated), the way down restores them compressed.
  const evalLowest = (v: number, lo: number): number => {
    let u = v;
    let prev = 0;
    while (anc[u] >= lo) {
      const next = anc[u];
      anc[u] = prev;
      prev = u;
      u = next;
    }
    const top = anc[u]; // the forest root above the path
    let a = u;
    while (prev !== 0) {
      const cur = prev;
      prev = anc[cur];
      const b = label[a];
      if (semi[b] < semi[label[cur]]) label[cur] = b;
      anc[cur] = top;
      a = cur;
    }
    return label[v];
  };

  // 2. Semidominators, implicit immediate dominators, in reverse DFS order.
  for (let w = n; w >= 2; w--) {
    const p = anc[w]; // w is not linked yet: still its DFS parent
    let s = p;
    const node = vertex[w];
    const rEnd = firstRetainer[node + 1];
    for (let slot = firstRetainer[node]; slot < rEnd; slot++) {
      const e = retainingEdges.get(slot);
      if (eType.get(e) === weak) continue;
      const dv = dfnOf[graph.edgeOwner(e)];
      if (dv === 0) continue; // holder unreachable from the root
      const cand = dv <= w ? dv : semi[evalLowest(dv, w + 1)];
      if (cand < s) s = cand;
    }
    semi[w] = s; // bucket(w) is empty now
    idom[w] = semi[s]; // into bucket(s): s < w is unprocessed, so semi[s] is its bucket head
    semi[s] = w;
    // link(p, w): anc[w] is p already; from now on vertices >= w are linked.
    for (let v = semi[p]; v !== 0; ) {
      const next = idom[v];
      const y = evalLowest(v, w);
      idom[v] = semi[y] < semi[v] ? y : p;
      v = next;
    }
    semi[p] = 0;
  }
  // 3. Explicit immediate dominators, in DFS order.
  for (let w = 2; w <= n; w++) if (idom[w] !== semi[w]) idom[w] = idom[idom[w]];
  idom[1] = 1;

  // 4. Retained sizes, one pass in reverse DFS order, into the buffer of the dead label and anc arrays.
  const retained = new Float64Array(pair, 0, N).fill(0);
  for (let w = 1; w <= n; w++) retained[vertex[w]] = graph.selfSize(vertex[w]);
  for (let w = n; w >= 2; w--) retained[vertex[idom[w]]] += retained[vertex[w]];

  // 5. Node-space dominators, written over dfnOf.
  const dominator = dfnOf;
  for (let i = 0; i < N; i++) {
    const d = dfnOf[i];
    dominator[i] = d === 0 ? UNREACHABLE : vertex[idom[d]];
  }
  graph.offerScratch(vertex);
  return { dominator, retained, reachable: n };
}
