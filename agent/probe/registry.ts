/**
 * The registry: one record per tracked live handle, counters per site, and nothing that keeps the app's
 * objects alive. Objects are held through `WeakRef`s and watched with a `FinalizationRegistry`; a handle
 * collected while still pending is counted as abandoned (Netty-style) and its record dropped.
 *
 * Records are only read (`read()`) when a report or a threshold check asks, so the hot path (`track`,
 * `settle`) does no more than a Map insert and a few field writes.
 * @internal
 */
import type { HandleRecord, HandleState, HandleType, Level, ProbeState, SiteCounters } from '../../collector/probe-state';
import type { SiteTable } from './sites';

/** What a live object says about itself when a read asks (called only at read time, never on the hot path). */
export interface LiveState {
  state?: HandleState;
  keepsProcessAlive?: boolean;
  threads?: number;
  error?: string;
  detail?: string;
  /** For timers: the delay, ms. */
  delayMs?: number;
}

/** A kind of handle: its type, library, and how to read its live state. */
export interface HandleKind {
  type: HandleType;
  library: string;
  /** Reads live state from the object. May be called with the object only; must not change it. */
  inspect?(obj: object): LiveState | undefined;
  /**
   * True when settlement/release is seen as it happens (events, hooks, the library's own thenable), so that
   * a handle collected while still pending really was abandoned. False when state is only read lazily.
   */
  observed: boolean;
  /**
   * True for kinds whose objects are new at every track (timers) and never looked up by object: no
   * object-to-record map entry (memory per tracked handle).
   */
  unique?: boolean;
  /**
   * For `unique` kinds: a cheap "is it over" check (a fired or cleared timer). Their records are swept a
   * couple at a time as new ones come in, instead of one FinalizationRegistry cell each (≈ 60 B).
   */
  done?(obj: object): boolean;
  /**
   * For `observed` kinds whose settlement is seen by the `full` level's `settled` promise hook, which is off
   * while promises come faster than it can afford (promises.ts): only records made while it was on count
   * as observed (see `Registry.settledHook`).
   */
  observedByHook?: boolean;
  /**
   * Collected while pending, it counts as abandoned only if something waited for it (a `then` or an
   * `await`: `Registry.react`). For the promises a library makes for its own bookkeeping: tarn's deferred
   * for each free resource is never settled and goes with the pool at `destroy()`, which nothing waits for.
   */
  abandonedOnlyIfAwaited?: boolean;
}

const DONE_STATES: ReadonlySet<HandleState> = new Set(['fulfilled', 'rejected', 'released', 'closed', 'destroyed']);
/**
 * OS handles and resources are uninteresting once closed: their records go. A destroyed pool stays, so
 * that later calls on it do not register it anew.
 */
const FORGET_WHEN_DONE: ReadonlySet<HandleType> = new Set([
  'timer', 'interval', 'server', 'socket', 'worker', 'child-process', 'listener', 'resource',
]);
/** Kinds whose collection while pending means work was abandoned. */
const ABANDON_KINDS: ReadonlySet<HandleType> = new Set(['task', 'resource', 'promise']);

/** Times are kept relative to this (small integers: no boxed number per record). */
const EPOCH = Date.now();

/** Fields most records never use, kept out of the record itself (memory per tracked handle). */
interface EntryExtra {
  error?: string;
  detail?: string;
  /** Set only while a heap snapshot is taken, with `ref`: lets the collector find the object (correlate.ts). */
  tag?: string;
  ref?: WeakRef<object> | null;
  reactions?: number;
  reactionSite?: number;
  reactionsEstimated?: boolean;
  watched?: boolean;
}

/**
 * One tracked handle. Kept small: a record per live handle is the agent's main memory cost (measured:
 * ≈ 400 B per tracked timer with everything inline, target ≈ 200 B), so rare fields live in `x` and
 * times are small integers relative to EPOCH.
 * @internal
 */
export class Entry {
  state: HandleState;
  /** ms since EPOCH; -1: not settled. */
  settled = -1;
  /** ms since EPOCH. */
  readonly created: number;
  x: EntryExtra | undefined = undefined;
  constructor(
    readonly id: number,
    public kind: HandleKind,
    public site: number,
    public owner: number,
    createdAt: number,
    public ref: WeakRef<object> | null,
    state: HandleState,
    detail: string | undefined,
  ) {
    this.state = state;
    this.created = createdAt - EPOCH;
    if (detail !== undefined) this.x = { detail };
  }

  get createdAt(): number {
    return EPOCH + this.created;
  }
  /** `Date.now()` at settlement, or 0. */
  get settledAt(): number {
    return this.settled < 0 ? 0 : EPOCH + this.settled;
  }
  set settledAt(at: number) {
    this.settled = at === 0 ? -1 : at - EPOCH;
  }
  get error(): string | undefined {
    return this.x?.error;
  }
  set error(value: string | undefined) {
    if (value !== undefined || this.x) (this.x ??= {}).error = value;
  }
  get detail(): string | undefined {
    return this.x?.detail;
  }
  set detail(value: string | undefined) {
    if (value !== undefined || this.x) (this.x ??= {}).detail = value;
  }
  get reactions(): number {
    return this.x?.reactions ?? 0;
  }
  set reactions(n: number) {
    (this.x ??= {}).reactions = n;
  }
  get reactionSite(): number {
    return this.x?.reactionSite ?? 0;
  }
  set reactionSite(site: number) {
    (this.x ??= {}).reactionSite = site;
  }
  get watched(): boolean {
    return this.x?.watched ?? false;
  }
  set watched(on: boolean) {
    if (on || this.x) (this.x ??= {}).watched = on;
  }
  get tag(): string | undefined {
    return this.x?.tag;
  }
  /** The tag goes with a copy of `ref` in `x`, so the snapshot shows tag and WeakRef side by side. */
  set tag(value: string | undefined) {
    if (value === undefined) {
      if (this.x) this.x.tag = this.x.ref = undefined;
      return;
    }
    const x = (this.x ??= {});
    x.tag = value;
    x.ref = this.ref;
  }
}

export interface RegistryOptions {
  maxHandles: number;
  level: Level;
  threadId: number;
}

export class Registry {
  readonly #entries = new Map<number, Entry>();
  readonly #counters = new Map<number, SiteCounters>();
  readonly #byObject = new WeakMap<object, Entry>();
  /** Objects moved onto by rebind() that already have a finalizer cell. */
  readonly #finalized = new WeakSet<object>();
  readonly #finalizer: FinalizationRegistry<number>;
  /**
   * Pool record ids per library, oldest first; the ids of forgotten records go at each doubling from 64
   * on (a pool made per request, itself a leak, adds one per request). A handle a library opens on its own
   * is attributed to that library's newest live pool (`newestLivePool`), which scanned every record before:
   * 2.3 µs a lookup at 300 records, 0.9 ms at 100,000.
   */
  readonly #poolsByLibrary = new Map<string, number[]>();
  readonly #sites: SiteTable;
  readonly #options: RegistryOptions;
  readonly startedAt = Date.now();
  #nextId = 1;
  /** Ids of records of sweepable kinds, oldest first from #sweepHead (see #sweepSome). */
  #sweep: number[] = [];
  #sweepHead = 0;
  /** When the previous `read()` ran (0: never). */
  #lastReadAt = 0;
  /**
   * Records of `observedByHook` kinds from this id on have had their settlement seen since they were made
   * (Infinity while the hook is off: a record that lived through an off period may have settled unseen).
   */
  #hookObservedFrom = 0;
  /** Handles ever tracked (a cheap "anything new?" check). */
  createdCount = 0;
  droppedHandles = 0;
  readonly notices: string[] = [];

  constructor(sites: SiteTable, options: RegistryOptions) {
    this.#sites = sites;
    this.#options = options;
    this.#finalizer = new FinalizationRegistry((id) => this.#collected(id));
  }

  get sites(): SiteTable {
    return this.#sites;
  }

  /** The `settled` promise hook was turned on or off (see `HandleKind.observedByHook`). */
  settledHook(on: boolean): void {
    this.#hookObservedFrom = on ? this.#nextId : Infinity;
  }

  /** Notices that say how things stand at read time (a count that changes), asked at each read. */
  readonly #noticeSources: Array<() => string | undefined> = [];

  /** Adds a notice computed at each read (undefined: none now). */
  addNoticeSource(source: () => string | undefined): void {
    this.#noticeSources.push(source);
  }

  #currentNotices(): string[] {
    const out = this.notices.slice();
    for (const source of this.#noticeSources) {
      try {
        const text = source();
        if (text !== undefined) out.push(text);
      } catch {
        // a notice is never worth a failed read
      }
    }
    return out;
  }

  /** Adds a one-line notice (capped). */
  notice(text: string): void {
    if (this.notices.length < 100 && !this.notices.includes(text)) this.notices.push(text);
  }

  /** Starts tracking `obj`. Returns its id, or 0 when the cap dropped it. */
  track(obj: object | null, kind: HandleKind, site: number, owner = 0, state: HandleState = 'pending', detail?: string): number {
    if (obj !== null && !kind.unique) {
      const known = this.#byObject.get(obj);
      // A resource handed out again after release (pools reuse objects) is a new acquisition: the old
      // entry is gone from the table, so it does not count.
      if (known && this.#entries.get(known.id) === known) {
        // A promise first seen by the promise hook and then returned by a pool: it is the pool's task.
        if (known.kind.type === 'promise' && kind.type !== 'promise') {
          known.kind = kind;
          known.site = site;
          known.owner = owner;
          // The promise hook may have seen it settle already (a synchronous acquire): as the pool's work
          // it starts over in the state the adapter gives.
          known.state = state;
          known.settled = -1;
          known.error = undefined;
          const counters = this.#countersFor(site, kind);
          counters.created++;
          counters.owner = owner;
        }
        return known.id;
      }
    }
    const counters = this.#countersFor(site, kind);
    counters.created++;
    counters.owner = owner;
    this.createdCount++;
    if (this.#entries.size >= this.#options.maxHandles) {
      this.droppedHandles++;
      return 0;
    }
    const id = this.#nextId++;
    if (kind.type === 'pool') {
      const ids = this.#poolsByLibrary.get(kind.library);
      if (ids === undefined) this.#poolsByLibrary.set(kind.library, [id]);
      else if (ids.push(id) >= 64 && (ids.length & (ids.length - 1)) === 0) this.#poolsByLibrary.set(kind.library, ids.filter((p) => p === id || this.#entries.has(p)));
    }
    const entry = new Entry(id, kind, site, owner, Date.now(), obj === null ? null : new WeakRef(obj), state, detail);
    this.#entries.set(id, entry);
    if (obj !== null) {
      if (kind.unique && kind.done) {
        this.#sweepSome();
        this.#sweep.push(id);
      } else {
        if (!kind.unique) this.#byObject.set(obj, entry);
        // No unregister token: a token costs a map entry per record. A late callback for an object the
        // record no longer follows is ignored in #collected.
        this.#finalizer.register(obj, id);
      }
    }
    return id;
  }

  /**
   * Moves a tracked handle onto another object: an acquisition is first its pending promise, then the
   * resource it resolved with (and, with `kind`, becomes of that kind). The old object no longer maps to it
   * (a late promise hook must not settle it).
   */
  rebind(id: number, obj: object, kind?: HandleKind): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    if (kind !== undefined) entry.kind = kind;
    const old = entry.ref?.deref();
    if (old !== undefined && this.#byObject.get(old) === entry) this.#byObject.delete(old);
    entry.ref = new WeakRef(obj);
    this.#byObject.set(obj, entry);
    // A pooled resource is handed out again and again: one finalizer cell per object, not per acquisition
    // (a later record of the same object learns of its collection at the next read).
    if (!this.#finalized.has(obj)) {
      this.#finalized.add(obj);
      this.#finalizer.register(obj, id);
    }
  }

  /**
   * The record no longer follows its object (an acquisition whose promise was seen fulfilled, before its
   * resource is known): it stays as it is until rebound or settled, whatever becomes of the object.
   */
  unbind(id: number): void {
    const entry = this.#entries.get(id);
    if (!entry || entry.ref === null) return;
    const old = entry.ref.deref();
    if (old !== undefined && this.#byObject.get(old) === entry) this.#byObject.delete(old);
    entry.ref = null;
  }

  /** The pending state of a tracked handle (`queued`, `running`…), or undefined when unknown or done. */
  stateOf(id: number): HandleState | undefined {
    return this.#entries.get(id)?.state;
  }

  /** The type of a tracked handle, or undefined. */
  typeOf(id: number): HandleType | undefined {
    return this.#entries.get(id)?.kind.type;
  }

  /** The id of a tracked object, or 0. */
  idOf(obj: object): number {
    const entry = this.#byObject.get(obj);
    // A record dropped since (settled, closed) no longer answers for its object.
    return entry !== undefined && this.#entries.get(entry.id) === entry ? entry.id : 0;
  }

  /** Records a state change (settled, released, closed). Unknown ids are ignored. */
  settle(id: number, state: HandleState, error?: string, at = Date.now()): void {
    const entry = this.#entries.get(id);
    if (!entry || DONE_STATES.has(entry.state)) return;
    entry.state = state;
    entry.settledAt = at;
    if (error !== undefined) entry.error = error;
    const counters = this.#counters.get(entry.site * 64 + typeIndex(entry.kind.type));
    if (counters) {
      if (state === 'fulfilled') counters.fulfilled++;
      else if (state === 'rejected') {
        counters.rejected++;
        if (error) counters.errors[error] = (counters.errors[error] ?? 0) + 1;
      } else if (state === 'released' || state === 'closed' || state === 'destroyed') counters.released++;
    }
    if (FORGET_WHEN_DONE.has(entry.kind.type)) this.#forget(entry);
  }

  /**
   * Counts one reaction (a `then`/`await` child promise) attached to a tracked, still-pending promise.
   * Returns the new count, or 0 when the handle is unknown or done (reactions to a settled promise run and
   * go: they hold nothing).
   */
  react(id: number, weight = 1): number {
    const entry = this.#entries.get(id);
    if (!entry || DONE_STATES.has(entry.state)) return 0;
    if (weight !== 1) (entry.x ??= {}).reactionsEstimated = true;
    return (entry.reactions += weight);
  }

  /** Reactions counted so far on a pending promise (0 when unknown). */
  reactionsOf(id: number): number {
    return this.#entries.get(id)?.reactions ?? 0;
  }

  /** Records where reactions to a pending promise are being attached from. */
  reactedAt(id: number, site: number): void {
    const entry = this.#entries.get(id);
    if (entry) entry.reactionSite = site;
  }

  /** Moves a still-pending handle to a finer pending state (`queued` -> `running`). */
  mark(id: number, state: HandleState): void {
    const entry = this.#entries.get(id);
    if (entry && !DONE_STATES.has(entry.state)) entry.state = state;
  }

  /** Gives a handle an owner (threads a pool started before its own id was known). */
  adopt(id: number, owner: number): void {
    const entry = this.#entries.get(id);
    if (entry && entry.owner === 0) entry.owner = owner;
  }

  /** Sets the human detail of a handle. */
  describe(id: number, detail: string): void {
    const entry = this.#entries.get(id);
    if (entry) entry.detail = detail;
  }

  /** Stops tracking (the app disposed of it in a way that is not a leak). */
  forget(id: number): void {
    const entry = this.#entries.get(id);
    if (entry) this.#forget(entry);
  }

  /**
   * The newest live pool of one library, or 0 (the owner of a handle the library opened on its own). Cheap
   * for libraries that never made a pool: they are not looked for.
   */
  newestLivePool(library: string): number {
    const ids = this.#poolsByLibrary.get(library) ?? [];
    for (let i = ids.length - 1; i >= 0; i--) {
      const entry = this.#entries.get(ids[i]);
      if (entry !== undefined && !DONE_STATES.has(entry.state)) return entry.id;
    }
    return 0;
  }

  /** The still-reachable objects of live records of one type (a synchronous use only: they are strong refs). */
  liveObjectsOf(type: HandleType): object[] {
    const objects: object[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.kind.type !== type || DONE_STATES.has(entry.state)) continue;
      const obj = entry.ref?.deref();
      if (obj !== undefined) objects.push(obj);
    }
    return objects;
  }

  /**
   * A plain-data copy of everything. `afterGc` says whether a full GC ran just before (in the same
   * synchronous job), so that `alive` means "still reachable". Records of done OS handles are dropped here.
   */
  read(afterGc: boolean): ProbeState {
    const handles: HandleRecord[] = [];
    const pools = new Map<number, HandleRecord>();
    const now = Date.now();
    for (const entry of this.#entries.values()) {
      const obj = entry.ref === null ? undefined : entry.ref.deref();
      if (entry.ref !== null && obj === undefined && entry.kind.type !== 'pool') {
        this.#collected(entry.id);
        continue;
      }
      let live: LiveState | undefined;
      // A settled task or promise, a released resource: that is final, nothing more to read (a read can
      // hold many of them: the lazy promise state costs µs each).
      if (obj !== undefined && entry.kind.inspect && !(DONE_STATES.has(entry.state) && ABANDON_KINDS.has(entry.kind.type))) {
        try {
          live = entry.kind.inspect(obj);
        } catch {
          live = undefined;
        }
      }
      if (live?.state && live.state !== entry.state && !DONE_STATES.has(entry.state)) {
        if (DONE_STATES.has(live.state)) {
          // Found settled only now: it settled after it was created and after the previous read (the
          // earliest bound, so that a result held since is judged by how long it could have been held).
          this.settle(entry.id, live.state, live.error, Math.max(entry.createdAt, this.#lastReadAt));
          if (!this.#entries.has(entry.id)) continue;
        } else entry.state = live.state;
      }
      if (live?.detail) entry.detail = live.detail;
      const record: HandleRecord = {
        id: entry.id,
        type: entry.kind.type,
        library: entry.kind.library,
        site: entry.site,
        owner: entry.owner,
        state: entry.state,
        createdAt: entry.createdAt,
        settledAt: entry.settledAt,
        alive: obj !== undefined,
        keepsProcessAlive: !DONE_STATES.has(entry.state) && (live?.keepsProcessAlive ?? false),
        threadId: this.#options.threadId,
      };
      if (entry.error !== undefined) record.error = entry.error;
      if (entry.detail !== undefined) record.detail = entry.detail;
      if (live?.threads !== undefined) record.threads = live.threads;
      if (live?.delayMs !== undefined) record.delayMs = live.delayMs;
      if (entry.reactions > 0) {
        record.reactions = entry.reactions;
        record.reactionSite = entry.reactionSite;
        if (entry.x?.reactionsEstimated) record.reactionsEstimated = true;
      }
      if (entry.kind.type === 'pool') pools.set(entry.id, record);
      handles.push(record);
    }
    // A pool keeps the process alive when any thread it owns does.
    const owned = new Map<number, number>();
    for (const record of handles) {
      if (record.owner === 0 || record.type !== 'worker' || DONE_STATES.has(record.state)) continue;
      const pool = pools.get(record.owner);
      if (!pool) continue;
      owned.set(pool.id, (owned.get(pool.id) ?? 0) + 1);
      if (record.keepsProcessAlive && !DONE_STATES.has(pool.state)) pool.keepsProcessAlive = true;
    }
    for (const [id, count] of owned) {
      const pool = pools.get(id)!;
      if (pool.threads === undefined) pool.threads = count;
    }
    // A pool the app dropped without ending it lives on through its threads; once none is left, it goes.
    for (const [id, pool] of pools) {
      if (pool.alive || owned.has(id)) continue;
      const entry = this.#entries.get(id);
      if (entry) this.#forget(entry);
      handles.splice(handles.indexOf(pool), 1);
    }
    this.#lastReadAt = now;
    return {
      version: 1,
      pid: process.pid,
      threadId: this.#options.threadId,
      level: this.#options.level,
      now,
      startedAt: this.startedAt,
      afterGc,
      sites: this.#sites.records.slice(),
      handles,
      counters: [...this.#counters.values()].map((c) => ({ ...c, errors: { ...c.errors } })),
      dropped: { handles: this.droppedHandles, sites: this.#sites.dropped },
      notices: this.#currentNotices(),
    };
  }

  /**
   * Sites of pending work (tasks, promises, resources) older than `thresholdMs`, by recorded state only
   * (cheap: no object is inspected). The worker polls this and asks for a full read only when it is non-empty.
   */
  overdue(thresholdMs: number): number {
    const limit = Date.now() - thresholdMs;
    let n = 0;
    for (const entry of this.#entries.values()) {
      const t = entry.kind.type;
      if (t !== 'task' && t !== 'promise' && t !== 'resource') continue;
      if (DONE_STATES.has(entry.state)) {
        // A settled task still here long after it settled may be retained: worth a (GC-backed) look.
        if (t === 'task' && entry.settledAt !== 0 && entry.settledAt <= limit) n++;
      } else if (entry.createdAt <= limit) n++;
    }
    return n;
  }

  /**
   * False when a report at the quiet point or at exit can hold no finding of this thread: no task, promise,
   * resource or listener record still pending (nor any collected pending: `abandoned`), and no settled
   * task record (its object may be what the GC-backed read finds retained). OS handles and pools are
   * findings only in reports asked for. By recorded state only: a task settled unseen still reads as
   * pending, which only answers true. No WeakRef is read either: `deref()` keeps its target alive until the
   * current job ends, so the full GC of the report that follows could not collect it, and a result the app
   * dropped would read as retained. The preload then skips that report's full GC and the collector.
   */
  mayFind(): boolean {
    for (const c of this.#counters.values()) if (c.abandoned > 0 && ABANDON_KINDS.has(c.type)) return true;
    for (const entry of this.#entries.values()) {
      const t = entry.kind.type;
      if (t === 'task' || ((t === 'promise' || t === 'resource' || t === 'listener') && !DONE_STATES.has(entry.state))) return true;
    }
    return false;
  }

  /** Tags the records of these handles for a heap snapshot (see collector/correlate.ts). */
  tag(ids: number[], prefix: string): void {
    for (const id of ids) {
      const entry = this.#entries.get(id);
      // A concatenation stays a cons string, which a heap snapshot names "(concatenated string)": use it as
      // a property key once to get the flat (internalized) string whose text the snapshot shows.
      if (entry) entry.tag = Object.keys({ [prefix + id]: 0 })[0];
    }
  }

  /** Removes every tag. */
  untag(): void {
    for (const entry of this.#entries.values()) entry.tag = undefined;
  }

  /**
   * Says whether one handle's settlement is seen as it happens, when its kind alone does not tell: a limiter
   * task is, while queued (the agent holds its `resolve`), and is not once it follows another promise. A
   * watched handle collected while pending was abandoned. (Reading lazy state just before a report's GC
   * would not do: a `WeakRef.deref()` keeps its target alive until the end of the job.)
   */
  watch(id: number, on: boolean): void {
    const entry = this.#entries.get(id);
    if (entry) entry.watched = on;
  }

  /**
   * Looks at the two oldest records of sweepable kinds: a record whose object is gone or over is dropped,
   * a live one goes to the back. O(1) per new record, so the table follows the app without a GC callback.
   *
   *   #sweep: [ done | done | id id id id … ]     #sweepHead ─┘  (compacted once half of it is consumed)
   */
  #sweepSome(): void {
    for (let k = 0; k < 2 && this.#sweepHead < this.#sweep.length; k++) {
      const id = this.#sweep[this.#sweepHead++];
      const entry = this.#entries.get(id);
      if (!entry) continue;
      const obj = entry.ref?.deref();
      let over = obj === undefined;
      if (!over) {
        try {
          over = entry.kind.done!(obj!);
        } catch {
          over = true;
        }
      }
      if (over) this.#entries.delete(id);
      else this.#sweep.push(id);
    }
    if (this.#sweepHead > 1024 && this.#sweepHead * 2 > this.#sweep.length) {
      this.#sweep = this.#sweep.slice(this.#sweepHead);
      this.#sweepHead = 0;
    }
  }

  /** Number of live records (for tests and the bench). */
  get size(): number {
    return this.#entries.size;
  }

  #countersFor(site: number, kind: HandleKind): SiteCounters {
    const key = site * 64 + typeIndex(kind.type);
    let counters = this.#counters.get(key);
    if (!counters) {
      counters = { site, type: kind.type, library: kind.library, owner: 0, created: 0, fulfilled: 0, rejected: 0, released: 0, abandoned: 0, errors: {} };
      this.#counters.set(key, counters);
    }
    return counters;
  }

  #forget(entry: Entry): void {
    this.#entries.delete(entry.id);
  }

  #collected(id: number): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    // The record moved on to another object (rebind: an acquisition's promise, then its resource) that
    // still lives, or to none (unbind): this callback is for the old one.
    if (entry.ref === null || entry.ref.deref() !== undefined) return;
    // A pool object can be garbage while its threads run on: read() decides when its record goes.
    if (entry.kind.type === 'pool') return;
    this.#entries.delete(id);
    const observed = entry.kind.observed && (!entry.kind.observedByHook || entry.id >= this.#hookObservedFrom);
    const waitedFor = !entry.kind.abandonedOnlyIfAwaited || entry.reactions > 0;
    if (ABANDON_KINDS.has(entry.kind.type) && (observed || entry.watched) && !DONE_STATES.has(entry.state) && waitedFor) {
      const counters = this.#counters.get(entry.site * 64 + typeIndex(entry.kind.type));
      if (counters) {
        counters.abandoned++;
        if (entry.state === 'queued') counters.abandonedQueued = (counters.abandonedQueued ?? 0) + 1;
      }
    }
  }
}

const TYPES: HandleType[] = ['pool', 'task', 'resource', 'promise', 'timer', 'interval', 'server', 'socket', 'worker', 'child-process', 'listener'];
function typeIndex(type: HandleType): number {
  return TYPES.indexOf(type);
}
