/**
 * A heap snapshot of the main thread streamed over CDP straight into the collector's loader, so the agent
 * worker never holds the snapshot as text. The snapshot itself still pauses the main thread while V8
 * writes it (seconds for large heaps): callers bound how often they ask.
 * @internal
 */
import type { CdpClient } from './cdp/client';
import { loadSnapshot, type HeapGraph } from '../collector/snapshot';

/** A push-to-pull byte queue: CDP events push chunks, the loader pulls them. */
class ChunkQueue implements AsyncIterable<Uint8Array> {
  readonly #chunks: Uint8Array[] = [];
  #done = false;
  #wake: (() => void) | null = null;

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#wake?.();
  }

  end(): void {
    this.#done = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk) {
        yield chunk;
        continue;
      }
      if (this.#done) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
  }
}

/**
 * Takes a snapshot of the target through `cdp` and returns it parsed. HeapProfiler stays enabled (heap
 * object ids resolve only while it is): the caller disables it when done with the ids.
 */
export async function snapshotOverCdp(cdp: CdpClient): Promise<HeapGraph> {
  const queue = new ChunkQueue();
  const off = cdp.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => queue.push(Buffer.from(chunk, 'utf8')));
  const parsed = loadSnapshot(queue, { progress: false });
  try {
    await cdp.send('HeapProfiler.enable');
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    // Chunk events are delivered on nextTick: let the last ones land before closing the queue.
    await new Promise((resolve) => setImmediate(resolve));
    off();
    queue.end();
  }
  return parsed;
}
