/**
 * Heap snapshot analysis: the public entry points.
 *
 * ```ts
 * const graph = await loadSnapshot('app.heapsnapshot');
 * const node = graph.findNodeById(4711);                 // a HeapProfiler object id
 * const path = retainerPath(graph, node);                // RetainerStep[], root first, the object last
 * const bytes = retainedSize(graph, node);
 * const target = graph.weakRefTarget(weakRefNode);       // what a WeakRef points at (-1 if cleared)
 * const strong = graph.references(node, 'strong');       // what it holds
 * ```
 */
import type { Readable } from 'node:stream';
import { HeapGraph } from './graph';
import { loadRawSnapshot, type LoadOptions } from './loader';

export { HeapGraph, NodeCursor, type EdgeInfo, type SnapshotLocation } from './graph';
export type { LoadOptions, RawSnapshot, SnapshotMeta } from './loader';
export { retainerPath, retainerPathRaw, retainerTree, throughMomentaryRoot, type RawPath, type RetainerTree } from './retainers';
export { dominatorTree, retainedSize, immediateDominator, UNREACHABLE, type DominatorTree } from './dominators';
export { describeNode, isPromiseNode, isGeneratorObject, allocationSite, siteOf, type NamingOptions } from './naming';

/**
 * Loads a `.heapsnapshot` (path, readable stream, or async iterable of byte chunks) and indexes it.
 * Streams the file; never holds it as one string. Rejects with `FileNotFoundError` (missing file) or
 * `InvalidInputError` (not a heap snapshot, truncated).
 *
 * @param source a file path, or a stream of the snapshot's bytes (e.g. `HeapProfiler.addHeapSnapshotChunk` data)
 * @param opts `progress` (stderr, default: only when it is a TTY); `forceSplit` (test hook: split arrays)
 */
export async function loadSnapshot(source: string | Readable | AsyncIterable<Uint8Array>, opts: LoadOptions = {}): Promise<HeapGraph> {
  const raw = await loadRawSnapshot(source, opts);
  return new HeapGraph(raw, opts);
}
