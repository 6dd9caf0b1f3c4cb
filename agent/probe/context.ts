/**
 * What every installer (OS handles, pool adapters, promise hooks) gets: the registry, the site table, the
 * patcher that can undo it all, and the sampling decision.
 * @internal
 */
import type { Level } from '../../collector/probe-state';
import { outOfLine, type Patcher } from './patcher';
import type { Registry } from './registry';
import type { SiteTable } from './sites';
import type { LazyBuiltins } from './builtins';

export interface ProbeContext {
  readonly level: Level;
  readonly registry: Registry;
  readonly sites: SiteTable;
  readonly patcher: Patcher;
  /** Patches waiting for their builtin to be loaded (builtins.ts). */
  readonly builtins: LazyBuiltins;
  /**
   * The pool whose method is running right now (synchronously), so that a Worker it starts is attributed
   * to it; 0 outside pool methods.
   */
  activePool: number;
  /** Ids of workers started while a pool was being constructed (its id is not known yet). */
  constructing: number[] | null;
  /** Run before every read and poll (bring lazily learnt state up to date). Must not throw. */
  readonly beforeRead: Array<() => void>;
  /** Called when the app starts a worker thread it probes (the preload starts its analysis worker then). */
  onThreadStart: (() => void) | null;
  /** Which of the worker threads this thread starts get a probe of their own. */
  readonly threads: ThreadSampler;
  /** Node's own Worker class, kept by the Worker patch (handles.ts) when it replaces it; null until then. */
  nativeWorker: typeof import('node:worker_threads').Worker | null;
  /** Callbacks that undo what cannot go through the patcher. */
  readonly undo: Array<() => void>;
  /**
   * False once detached: what the patcher cannot take back (construct proxies and adapted exports the app
   * already holds) checks it and only forwards.
   */
  active: boolean;
}

/**
 * Which of a frequent kind of call (an acquisition, a task, a timeout) gets a stack and a record. `full`
 * takes every call. `sample` takes the first `always`, then about one in `every`, and never more than about
 * `perSecond` a second: a tracked call costs tens of µs (stack, records, weak cells), so a fixed ratio would
 * make the cost grow with the app's throughput (1 in 128 of a million acquisitions a second is 20% of a
 * core), while a rate cap keeps it bounded whatever the throughput. A steady leak still shows within seconds:
 * at the cap, a site that leaks on every 100th call is caught about once a second.
 *
 * The gap to the next taken call is drawn at random (uniform around the mean), so a periodic pattern in the
 * app (a round-robin over 16 workers, every third request to one route) cannot line up with the sampling
 * and hide a site for ever. The hot path is one decrement and one compare; everything else runs on taken
 * calls only.
 */
export class Sampler {
  /** Calls to let through before the next one is taken (taken when it reaches 0). */
  #countdown = 1;
  #seen = 0;
  /** When the current batch of taken calls began (monotonic ms; 0: not yet), its size and calls. */
  #last = 0;
  #batchTaken = 0;
  #batchCalls = 0;
  /** The mean gap between taken calls, as of the last window, and the gap last drawn. */
  #gap: number;
  #drawn = 1;
  #weight = 1;
  /** Until when (monotonic ms) the rate cap is lifted. */
  #boostUntil = 0;
  readonly #full: boolean;

  constructor(
    level: Level,
    private readonly always: number,
    private readonly every: number,
    private readonly perSecond = DEFAULT_SAMPLES_PER_SECOND,
    /** The gap while boosted (see `boost`); default `every`. */
    private readonly boostEvery = every,
  ) {
    this.#full = level === 'full';
    this.#gap = every;
  }

  /** How many calls the last taken one stands for (itself and those let through before it): 1 below the cap. */
  get weight(): number {
    return this.#weight;
  }

  /** True while calls come faster than the cap (some are let through untracked). */
  get saturated(): boolean {
    return this.#gap > this.every;
  }

  /**
   * Lifts the rate cap for `ms`: about one in `boostEvery` is taken meanwhile, whatever the rate (a pool
   * that looks like it is leaking, see adapter.ts `Pressure`).
   */
  boost(ms: number): void {
    this.#boostUntil = nowMs() + ms;
    if (this.#gap <= this.boostEvery) return;
    this.#gap = this.boostEvery;
    // the next call is taken, standing for the calls let through since the last taken one
    this.#drawn -= this.#countdown - 1;
    this.#countdown = 1;
  }

  /** True when this call is to be tracked. */
  take(): boolean {
    return --this.#countdown === 0 && Sampler.#nextOutOfLine(this);
  }

  /**
   * `#next` called through `outOfLine` (a Proxy, which V8 never inlines). A taken call is rare, but the wrapper and
   * `take()` are inlined into the app's own hot loop, and a loop function that runs once (on-stack
   * replacement) counts every call in it as frequent: inlined there, `#next`'s 400 bytes of rate
   * arithmetic used up the loop's inlining budget, and the library's own functions (p-limit's) were no
   * longer inlined. Same run: p-limit 0.86–0.87 of no agent with it inlined, 0.97–1.17 without.
   */
  static readonly #nextOutOfLine = outOfLine((sampler: Sampler): boolean => sampler.#next());

  /** A taken call: sets the gap to the next one. Always true. */
  #next(): boolean {
    this.#weight = this.#drawn;
    if (this.#full || ++this.#seen < this.always) {
      this.#countdown = this.#drawn = 1;
      return true;
    }
    // The clock is read once per RATE_BATCH taken calls (it costs ≈ 100 ns): the gap that would have spaced
    // the batch's calls 1/perSecond apart, followed within a factor of four per batch (so from 1 to 16,384,
    // a burst of a million calls a second, in about 60 taken calls).
    this.#batchCalls += this.#drawn;
    if (++this.#batchTaken >= RATE_BATCH) {
      const now = nowMs();
      if (this.#last !== 0) {
        const rate = (this.#batchCalls * 1000) / Math.max(now - this.#last, 0.001);
        const gap = this.#gap;
        this.#gap = now < this.#boostUntil ? Math.min(this.boostEvery, Math.max(this.every, rate / this.perSecond)) : Math.max(this.every, Math.min(MAX_GAP, gap * 4, Math.max(gap / 4, rate / this.perSecond)));
      }
      this.#last = now;
      this.#batchCalls = this.#batchTaken = 0;
    }
    // uniform in [1, 2·gap - 1]: mean `gap`, no fixed period
    this.#drawn = 1 + Math.floor(Math.random() * (2 * this.#gap - 1));
    this.#countdown = this.#drawn;
    return true;
  }
}

/**
 * The environment variable the Worker patch (thread-options.ts) sets in the environment of a thread it leaves
 * without a probe when it could not take the preload's flag out of that thread's options; the preload entry
 * in that thread (../index.ts repeats the name) deletes it before the app's code runs and stops there.
 */
export const UNPROBED_THREAD_ENV = 'LEAK_AGENT_UNPROBED_THREAD';

/**
 * Which worker threads get a probe of their own. A probe costs a thread 3–5 ms of CPU to load, install and
 * connect (a bare short-lived thread costs about 21 ms), so an app that starts a thread per job would pay
 * 15–25% for it. `full` probes every thread. `sample` probes the first THREADS_ALWAYS threads started at
 * each creation site (a thread pool's threads, one-off threads), then about one in THREADS_EVERY (random gaps)
 * of the threads that site starts next: threads started at one site run the same code, so a steady leak in
 * them still shows in the probed ones. A thread left without a probe is started without the preload's flag
 * (thread-options.ts) and costs about 0.04 ms, in the thread that starts it, so past the first ones a
 * site's threads cost about 0.3 ms each on average at 1 in 16.
 * Always probed: the threads of a pool the agent adapts (few and long-lived, and its tasks run there), and
 * a thread started with an `env` of its own (the preload in it could not be told). Threads left without a
 * probe are still tracked as handles where they are started, and counted in a notice of the report.
 */
export class ThreadSampler {
  /** Threads started per site id. */
  readonly #started = new Map<number, number>();
  #countdown = 1;
  readonly #full: boolean;
  readonly #unprobed = new WeakSet<object>();
  /** Threads started and threads left without a probe, for the report's notice. */
  count = 0;
  unprobedCount = 0;

  constructor(level: Level) {
    this.#full = level === 'full';
  }

  /** True when the next thread started at `site` gets a probe. */
  probes(site: number): boolean {
    const n = (this.#started.get(site) ?? 0) + 1;
    this.#started.set(site, n);
    if (this.#full || n <= THREADS_ALWAYS || --this.#countdown <= 0) {
      if (n > THREADS_ALWAYS) this.#countdown = 1 + Math.floor(Math.random() * (2 * THREADS_EVERY - 1));
      return true;
    }
    return false;
  }

  /** Counts a started thread (a Worker object); `probed` false when it runs without a probe. */
  started(worker: object, probed: boolean): void {
    this.count++;
    if (probed) return;
    this.unprobedCount++;
    this.#unprobed.add(worker);
  }

  /** False for a Worker whose thread runs without a probe (nothing there answers the analysis worker). */
  isProbed(worker: object): boolean {
    return !this.#unprobed.has(worker);
  }

  /** The report's notice, or undefined when every thread was probed. */
  notice(): string | undefined {
    if (this.unprobedCount === 0) return undefined;
    return `leak-agent: ${this.unprobedCount} of ${this.count} worker threads ran without a probe (level sample probes the first ${THREADS_ALWAYS} started at each site, then about 1 in ${THREADS_EVERY}; LEAK_AGENT_LEVEL=full probes all)`;
  }
}

/** Threads probed at each creation site before sampling starts, and the mean gap after that. */
const THREADS_ALWAYS = 8;
const THREADS_EVERY = 16;

/** A monotonic clock in ms (not `performance.now()`: `node:perf_hooks` costs ≈ 1 ms to load at start-up). */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Taken calls between two readings of the clock. */
const RATE_BATCH = 8;
/**
 * Taken calls per second and per sampler, at most, once past the first ones: a taken call costs 50–150 µs
 * in a busy app (cold stack capture and records), so about 0.1–0.4% of a core per sampler at this rate.
 */
const DEFAULT_SAMPLES_PER_SECOND = 25;
/** Even at the highest rates, one call in this many is still taken. */
const MAX_GAP = 1 << 20;
