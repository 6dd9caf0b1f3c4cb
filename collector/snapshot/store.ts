/**
 * Storage for the big columns of a heap snapshot (one column per node or edge field).
 *
 * One typed array is the fast and normal case. When one allocation of that size fails (very large
 * snapshots on a fragmented or limited address space), the same data is kept in fixed-size chunks behind
 * the same tiny `get`/`set` interface (the DevTools heap_snapshot_worker does the same). Hot loops call
 * `get`/`set` on one class at a time, so V8 keeps the call sites monomorphic and inlines them.
 *
 * ```
 *   FlatU32:  [..................................]  one Uint32Array      (FlatU8: one Uint8Array)
 *   SplitU32: [........][........][........][....]  chunks of 2^chunkShift elements (SplitU8 alike)
 *             index i -> chunks[i >>> shift][i & mask]
 * ```
 * Columns are as narrow as their values allow: node and edge types are bytes (`Uint8`), everything else
 * 32 bits. {@link RowsView} shows columns in the file's row-major layout again (tests, debugging).
 */

/** A fixed-length array of unsigned 32-bit integers. */
export interface U32Store {
  readonly length: number;
  get(i: number): number;
  set(i: number, v: number): void;
  /** True when the data is split in chunks (the fallback path). */
  readonly split: boolean;
}

/** @internal One contiguous typed array. */
export class FlatU32 implements U32Store {
  readonly length: number;
  readonly split = false;
  constructor(readonly array: Uint32Array) {
    this.length = array.length;
  }
  get(i: number): number {
    return this.array[i];
  }
  set(i: number, v: number): void {
    this.array[i] = v;
  }
}

/** @internal Chunks of 2^shift elements. */
export class SplitU32 implements U32Store {
  readonly split = true;
  readonly chunks: Uint32Array[] = [];
  readonly mask: number;
  constructor(readonly length: number, readonly shift: number) {
    this.mask = (1 << shift) - 1;
    const size = 1 << shift;
    for (let left = length; left > 0; left -= size) this.chunks.push(new Uint32Array(Math.min(size, left)));
  }
  get(i: number): number {
    return this.chunks[i >>> this.shift][i & this.mask];
  }
  set(i: number, v: number): void {
    this.chunks[i >>> this.shift][i & this.mask] = v;
  }
}

/** Options for {@link allocU32}. */
export interface AllocOptions {
  /** Test hook: always take the split-array path. */
  forceSplit?: boolean;
  /** log2 of the chunk length of split arrays (default 24: 16M elements, 64 MB per chunk). */
  splitShift?: number;
}

/** Allocates a zeroed store of `length` elements, falling back to chunks when one allocation fails. */
export function allocU32(length: number, opts: AllocOptions = {}): U32Store {
  const shift = opts.splitShift ?? 24;
  if (!opts.forceSplit) {
    try {
      return new FlatU32(new Uint32Array(length));
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
    }
  }
  return new SplitU32(length, shift);
}

/** A fixed-length array of bytes (node and edge type indexes). Same interface as {@link U32Store}. */
export interface U8Store {
  readonly length: number;
  get(i: number): number;
  /** Stores `v & 0xff`: callers check the range. */
  set(i: number, v: number): void;
  readonly split: boolean;
}

/** @internal One contiguous Uint8Array. */
export class FlatU8 implements U8Store {
  readonly length: number;
  readonly split = false;
  constructor(readonly array: Uint8Array) {
    this.length = array.length;
  }
  get(i: number): number {
    return this.array[i];
  }
  set(i: number, v: number): void {
    this.array[i] = v;
  }
}

/** @internal Chunks of 2^shift bytes. */
export class SplitU8 implements U8Store {
  readonly split = true;
  readonly chunks: Uint8Array[] = [];
  readonly mask: number;
  constructor(readonly length: number, readonly shift: number) {
    this.mask = (1 << shift) - 1;
    const size = 1 << shift;
    for (let left = length; left > 0; left -= size) this.chunks.push(new Uint8Array(Math.min(size, left)));
  }
  get(i: number): number {
    return this.chunks[i >>> this.shift][i & this.mask];
  }
  set(i: number, v: number): void {
    this.chunks[i >>> this.shift][i & this.mask] = v;
  }
}

/** Allocates a zeroed byte store of `length` elements, falling back to chunks when one allocation fails. */
export function allocU8(length: number, opts: AllocOptions = {}): U8Store {
  const shift = opts.splitShift ?? 24;
  if (!opts.forceSplit) {
    try {
      return new FlatU8(new Uint8Array(length));
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
    }
  }
  return new SplitU8(length, shift);
}

/**
 * A read-only row-major view over columns: element `row * fields + f` is `read[f](row)`. This is how the
 * file lays out `nodes` and `edges`; the graph itself never reads through it (tests and debugging do).
 * @internal
 */
export class RowsView implements U32Store {
  readonly length: number;
  constructor(
    readonly rows: number,
    private readonly read: ((row: number) => number)[],
    readonly split: boolean,
  ) {
    this.length = rows * read.length;
  }
  get(i: number): number {
    const f = this.read.length;
    const row = Math.floor(i / f);
    return this.read[i - row * f](row);
  }
  set(): void {
    throw new TypeError('RowsView is read-only: write the columns');
  }
}

/** A growable Int32 array for the small numeric sections (locations, trace tree, function infos). */
export class GrowableI32 {
  array: Int32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.array = new Int32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.array.length) {
      const next = new Int32Array(this.array.length * 2);
      next.set(this.array);
      this.array = next;
    }
    this.array[this.length++] = v;
  }
  /** The used part, trimmed to its length (copies once). */
  trimmed(): Int32Array {
    return this.array.slice(0, this.length);
  }
}
