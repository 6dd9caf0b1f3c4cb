import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { loadSnapshot, retainerPathRaw, retainerPath, dominatorTree, retainedSize, immediateDominator, UNREACHABLE, type HeapGraph } from '../../collector/snapshot';
import { SnapshotBuilder } from './snapshot-builder';

async function load(b: SnapshotBuilder, forceSplit = false): Promise<HeapGraph> {
  return loadSnapshot(Readable.from([Buffer.from(b.toString())]), { progress: false, forceSplit, splitShift: 2 });
}

test('graph: CSR edges and retainers, names, findNodeById, references and WeakRef targets', async () => {
  const b = new SnapshotBuilder();
  const h = b.gcRoot('(Global handles)');
  const a = b.node('A');
  const c = b.node('C');
  const wr = b.node('WeakRef');
  h.edge('element', 1, a).edge('element', 2, wr);
  a.edge('property', 'child', c);
  wr.edge('weak', 'target', c);
  const g = await load(b);
  assert.equal(g.nodeCount, b.nodes.length);
  assert.equal(g.nodeName(a.index), 'A');
  assert.equal(g.nodeType(a.index), 'object');
  assert.equal(g.findNodeById(c.id), c.index);
  assert.equal(g.findNodeById(c.id + 1), -1);
  assert.equal(g.weakRefTarget(wr.index), c.index);
  assert.equal(g.weakRefTarget(a.index), -1);
  assert.deepEqual(g.references(a.index, 'strong').map((e) => [e.type, e.name, e.to]), [['property', 'child', c.index]]);
  assert.deepEqual(g.references(wr.index, 'strong'), []);
  assert.deepEqual(g.retainers(c.index).map((r) => [r.from, r.type, r.name]).sort(), [[a.index, 'property', 'child'], [wr.index, 'weak', 'target']].sort());
});

test('retainers: shortest path skips weak edges; user objects preferred over system internals', async () => {
  const b = new SnapshotBuilder();
  const h = b.gcRoot('(Global handles)');
  const leak = b.node('Leak');
  const wr = b.node('WeakRef');
  const sys = b.node('system / Map', 'object shape');
  const holder = b.node('Holder');
  const mid = b.node('Mid');
  h.edge('element', 1, wr).edge('element', 2, sys).edge('element', 3, holder);
  wr.edge('weak', 'target', leak); // 2 hops, but weak
  sys.edge('internal', 'x', leak); // 2 hops, through a system node
  holder.edge('property', 'mid', mid);
  mid.edge('property', 'leak', leak); // 3 hops through user objects
  const g = await load(b);
  const raw = retainerPathRaw(g, leak.index);
  assert.ok(raw);
  assert.deepEqual(raw.nodes, [0, 1, h.index, holder.index, mid.index, leak.index]);
  const steps = retainerPath(g, leak.index);
  assert.deepEqual(steps.map((s) => s.name), ['GC root (Global handles)', 'property mid of Holder', 'property leak of Mid', 'Leak']);
  // Only a weak path: unreachable.
  const b2 = new SnapshotBuilder();
  const w2 = b2.node('WeakRef');
  const l2 = b2.node('Leak');
  b2.gcRoot('(Global handles)').edge('element', 1, w2);
  w2.edge('weak', 'target', l2);
  const g2 = await load(b2, true);
  assert.equal(retainerPathRaw(g2, l2.index), null);
  assert.deepEqual(retainerPath(g2, l2.index), []);
  assert.equal(dominatorTree(g2).dominator[l2.index], UNREACHABLE);
});

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Brute force: d dominates v iff v is unreachable from the root once d is removed. */
function bruteIdom(n: number, adj: number[][], root: number): number[] {
  const reach = (removed: number): boolean[] => {
    const seen = new Array<boolean>(n).fill(false);
    if (removed === root) return seen;
    const stack = [root];
    seen[root] = true;
    while (stack.length) {
      const v = stack.pop() as number;
      for (const w of adj[v]) if (w !== removed && !seen[w]) { seen[w] = true; stack.push(w); }
    }
    return seen;
  };
  const all = reach(-1);
  const doms: Set<number>[] = [];
  for (let v = 0; v < n; v++) doms.push(new Set(all[v] ? [v] : []));
  for (let d = 0; d < n; d++) {
    const r = reach(d);
    for (let v = 0; v < n; v++) if (all[v] && !r[v] && v !== d) doms[v].add(d);
  }
  const idom = new Array<number>(n).fill(-1);
  for (let v = 0; v < n; v++) {
    if (!all[v] || v === root) continue;
    const strict = [...doms[v]].filter((d) => d !== v);
    // The immediate dominator is the strict dominator dominated by all the others.
    idom[v] = strict.find((d) => strict.every((o) => doms[d].has(o))) as number;
  }
  return idom;
}

test('dominators: Lengauer-Tarjan equals a brute-force check on random graphs; retained sizes sum the dominated subtree', async () => {
  const rand = rng(42);
  for (let round = 0; round < 60; round++) {
    const b = new SnapshotBuilder();
    const extra = 3 + Math.floor(rand() * 25);
    const ns = [b.root, b.gcRoots];
    for (let i = 0; i < extra; i++) ns.push(b.node(`N${i}`, 'object', 1 + Math.floor(rand() * 100)));
    const n = ns.length;
    const adj: number[][] = ns.map(() => []);
    adj[0].push(1);
    const edgesWanted = Math.floor(n * (1 + rand() * 2));
    let el = 100;
    for (let k = 0; k < edgesWanted; k++) {
      const from = 1 + Math.floor(rand() * (n - 1));
      const to = 1 + Math.floor(rand() * (n - 1));
      if (rand() < 0.15) {
        ns[from].edge('weak', 'w', ns[to]); // never counted
        continue;
      }
      ns[from].edge('element', el++, ns[to]);
      adj[from].push(to);
    }
    const g = await load(b, round % 2 === 1);
    const tree = dominatorTree(g);
    const want = bruteIdom(n, adj, 0);
    for (let v = 1; v < n; v++) {
      if (want[v] === -1) assert.equal(tree.dominator[v], UNREACHABLE, `round ${round} node ${v} unreachable`);
      else assert.equal(immediateDominator(g, v), want[v], `round ${round} node ${v}`);
    }
    // Retained size = sum of self sizes of nodes whose dominator chain passes through v.
    for (let v = 0; v < n; v++) {
      if (want[v] === -1 && v !== 0) continue;
      let sum = 0;
      for (let u = 0; u < n; u++) {
        if (u !== 0 && want[u] === -1) continue;
        let x = u;
        while (x !== v && x !== 0) x = want[x];
        if (x === v) sum += g.selfSize(u);
      }
      assert.equal(retainedSize(g, v), sum, `round ${round} retained of ${v}`);
    }
  }
});
