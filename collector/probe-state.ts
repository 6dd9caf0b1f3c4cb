/**
 * The probe's raw state, as `probe.read()` returns it (plain data, structured-clone and JSON safe).
 *
 * This is the contract between `agent/probe` (which records) and `collector/` (which analyses): the
 * probe writes ids, sites, states and timestamps, never references to the app's objects.
 */

/** One stack frame, 1-based line and column, file as an absolute path (ESM `file://` URLs are normalised). */
export interface Frame {
  file: string;
  line: number;
  column: number;
  function: string | null;
}

/** An interned call site: the first frame in user code plus the short stack it was chosen from. */
export interface SiteRecord {
  /** The user frame (first frame outside `node:` internals, the agent and `node_modules`), or the top frame if none. */
  frame: Frame;
  /** True when `frame` is in user code. */
  user: boolean;
  /** The first library frame under the user frame (for example `node_modules/workerpool/src/Pool.js`), if any. */
  library: Frame | null;
  /** Short stack, innermost first, agent and `node:` frames removed. */
  stack: Frame[];
}

/** What a tracked handle is. */
export type HandleType =
  | 'pool'
  | 'task'
  | 'resource'
  | 'promise'
  | 'timer'
  | 'interval'
  | 'server'
  | 'socket'
  | 'worker'
  | 'child-process'
  | 'listener';

/**
 * Lifecycle states. `pending` covers "created, not yet settled/released"; `queued`/`running` refine it for
 * pool tasks when the library tells them apart.
 */
export type HandleState =
  | 'pending'
  | 'queued'
  | 'running'
  | 'fulfilled'
  | 'rejected'
  | 'released'
  | 'closed'
  | 'destroyed';

/** One live tracked handle. Done and collected handles are dropped from the registry (their site keeps counters). */
export interface HandleRecord {
  id: number;
  type: HandleType;
  /** Library or core module that owns the handle kind: `piscina`, `workerpool`, `worker_threads`, `timers`, `promise`… */
  library: string;
  /** Index into {@link ProbeState.sites}. */
  site: number;
  /** Id of the owning handle (a task's or a worker's pool), or 0. */
  owner: number;
  state: HandleState;
  /** `Date.now()` at creation / settlement. */
  createdAt: number;
  settledAt: number;
  /** Still reachable (its WeakRef derefs). Only meaningful right after a full GC. */
  alive: boolean;
  /** For OS handles and pools: whether it currently keeps the event loop alive. */
  keepsProcessAlive: boolean;
  /** Error name for rejected tasks/promises (never the message: heaps hold secrets). */
  error?: string;
  /** For pools: live worker threads / resources it owns. */
  threads?: number;
  /** For timers: the delay, ms. */
  delayMs?: number;
  /** Short human detail: `interval 1000 ms`, `port 41234`, `pid 4711`. */
  detail?: string;
  /**
   * For pending promises (`full` level): reactions (`then`/`await`/`Promise.race` children) attached while
   * it was pending. Each keeps what its callbacks capture alive until the promise settles (nodejs/node
   * #17469: `Promise.race` against a promise that never settles).
   */
  reactions?: number;
  /** Site of the latest reactions (taken at doubling checkpoints), when `reactions` is set. */
  reactionSite?: number;
  /** True when `reactions` is an estimate: above about 250,000 reactions a second they are sampled. */
  reactionsEstimated?: boolean;
  /** worker_threads threadId of the thread the handle lives in (0 = main thread). */
  threadId: number;
}

/** Per-site counters that survive the handles they count. */
export interface SiteCounters {
  site: number;
  type: HandleType;
  library: string;
  /** The owning handle (pool) of the latest handle created at this site, or 0. */
  owner: number;
  created: number;
  fulfilled: number;
  rejected: number;
  released: number;
  /** Collected while still pending/unreleased (a FinalizationRegistry saw it go: abandoned). */
  abandoned: number;
  /** Of `abandoned`, how many were still `queued` (never started, or an acquisition never handed a resource). */
  abandonedQueued?: number;
  /** Rejection error names and their counts. */
  errors: Record<string, number>;
}

/** Everything the probe knows at one instant. */
export interface ProbeState {
  version: 1;
  pid: number;
  threadId: number;
  level: Level;
  now: number;
  startedAt: number;
  /** True when a full GC ran just before this read, so `alive` flags are meaningful. */
  afterGc: boolean;
  sites: SiteRecord[];
  handles: HandleRecord[];
  counters: SiteCounters[];
  /** What bounded memory made the probe drop. */
  dropped: { handles: number; sites: number };
  /** One-line notices (unknown library versions, malformed settings). */
  notices: string[];
}

/** Netty-style detection level. */
export type Level = 'off' | 'sample' | 'full';
