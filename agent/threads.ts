/**
 * The probes of the app's worker threads, and how the analysis worker reads them for merged reports.
 *
 * The preload runs inside every app worker thread too (inherited execArgv / NODE_OPTIONS) and installs a
 * probe there; each thread's findings carry its `threadId`. The threads talk to the analysis worker over
 * two BroadcastChannels (one process, every thread):
 *
 *   analysis worker ──ASK_CHANNEL { ask | overdue? }──▶ each app thread's probe (unref'd listener)
 *   analysis worker ◀─STATE_CHANNEL { hello | state | overdue | final }── each app thread
 *
 * A reply goes through a BroadcastChannel made for that one post and closed at once, so that no app thread
 * ever has a listener that receives (and structured-clones) the states other threads send. A thread that
 * ends on its own posts its final state from its `exit` event (a worker ended with `terminate()` runs no
 * more JavaScript: it just stops answering).
 *
 * Why not the inspector's `NodeWorker` domain (`NodeWorker.enable` + `sendMessageToWorker` from the
 * analysis worker's session): that session is `connectToMainThread()`, so every message to a worker is
 * dispatched by the main thread's inspector, and final reports are made while the main thread is blocked
 * in `Atomics.wait` (at `beforeExit`/`exit` nothing later is guaranteed): the workers could not be reached
 * then, which is exactly when the report must include them. Attaching also needs `waitForDebuggerOnStart`
 * to see threads from their start, which pauses every new worker until the agent lets it go. The
 * channels cost nothing until asked (an unref'd port per thread, no hook) and reach worker threads
 * directly, whatever the main thread is doing. Measured (Node 20.20, 2 cores): one ask answered by 4
 * threads with 201 records each, 2.3 ms median round trip (8 ms max of 20); with a full GC in each thread
 * first, 26-60 ms. Between asks a thread's listener does no work at all.
 * @internal
 */
import { BroadcastChannel } from 'node:worker_threads';
import type { ProbeState } from '../collector/probe-state';
import { ASK_CHANNEL, STATE_CHANNEL, say, type ThreadAsk, type ThreadSays } from './probe/thread-serve';
import { drain, leftSomething } from './probe/early-states';

export { STATE_CHANNEL, type ThreadSays } from './probe/thread-serve';

/** Final states kept at most (each thread that ended leaving pending work or abandoned counts). */
const MAX_FINALS = 100;
/** How many ended thread ids are remembered (to ignore their late messages). */
const MAX_ENDED = 10_000;

/** The states one ask gathered. */
export interface ThreadStatesRead {
  /** Threads that answered, read now. */
  live: ProbeState[];
  /** Threads that ended on their own: their final states. */
  ended: ProbeState[];
  /** Threads expected to answer (known running) that did not in time: busy in a synchronous loop. */
  silent: number[];
  /** Ended threads whose findings were not kept (more than MAX_FINALS did). */
  droppedFinals: number;
}

interface Pending {
  id: number;
  gc: boolean;
  replies: Map<number, ProbeState>;
  expected: Set<number>;
  done: () => void;
}

/**
 * In the analysis worker: asks the app threads for their states and keeps the final states of threads
 * that ended. Every reply is awaited with a bound; nothing here can hold a report back for long.
 */
export class ThreadStates {
  readonly #ask: BroadcastChannel;
  readonly #says: BroadcastChannel;
  /** Threads that said hello (or answered) and did not end: asked and awaited. */
  readonly #known = new Set<number>();
  readonly #finals = new Map<number, ProbeState>();
  readonly #pending = new Map<number, Pending>();
  readonly #overdue = new Map<number, number>();
  /** Threads that ended leaving nothing to report (ids only, so a late reply is not taken for a live thread). */
  readonly #ended = new Set<number>();
  /** Ended threads that left findings but came after MAX_FINALS others did. */
  #droppedFinals = 0;
  #nextId = 1;

  constructor() {
    this.#ask = new BroadcastChannel(ASK_CHANNEL);
    this.#says = new BroadcastChannel(STATE_CHANNEL);
    this.#ask.unref();
    this.#says.unref();
    this.#says.onmessage = (event: unknown) => this.#receive((event as { data?: ThreadSays }).data);
    // The main thread keeps what threads said before this point (./probe/early-states EarlyStates) and says it again now.
    say({ type: 'listening' });
  }

  /** Messages the main thread kept before this worker listened (handed over with a report). */
  accept(messages: unknown): void {
    if (!Array.isArray(messages)) return;
    for (const m of messages) this.#receive(m as ThreadSays);
  }

  #receive(message: ThreadSays | undefined): void {
    if (!message || typeof message !== 'object' || typeof message.threadId !== 'number') return;
    if (message.type === 'final') {
      this.#known.delete(message.threadId);
      this.#overdue.delete(message.threadId);
      // Kept for every later report, so bounded: only threads that left something behind, at most MAX_FINALS.
      if (leftSomething(message.state) && this.#finals.size < MAX_FINALS) this.#finals.set(message.threadId, message.state);
      else {
        if (leftSomething(message.state)) this.#droppedFinals++;
        this.#ended.add(message.threadId);
        // Ids of ended threads are only kept to ignore their late messages: bounded, oldest first out.
        if (this.#ended.size > MAX_ENDED) this.#ended.delete(this.#ended.values().next().value as number);
      }
      for (const pending of this.#pending.values()) this.#check(pending);
      return;
    }
    if (!this.#isEnded(message.threadId)) this.#known.add(message.threadId);
    if (message.type === 'hello') {
      // A thread still starting when an ask went out never received it (a channel made later gets only later
      // messages): ask again; threads that answered already answer once more, which changes nothing.
      for (const pending of this.#pending.values()) {
        if (!pending.expected.has(message.threadId)) continue;
        try {
          this.#ask.postMessage({ type: 'ask', id: pending.id, gc: pending.gc } satisfies ThreadAsk);
        } catch {
          // closed
        }
      }
      return;
    }
    if (message.type === 'overdue') this.#overdue.set(message.threadId, message.count);
    if (message.type === 'state') {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      pending.replies.set(message.threadId, message.state);
      this.#check(pending);
    }
  }

  #check(pending: Pending): void {
    for (const id of pending.expected) if (!pending.replies.has(id) && !this.#isEnded(id)) return;
    pending.done();
  }

  /**
   * Asks every thread for its state (after a full GC in it when `gc`) and waits until the known threads and
   * `running` (threadIds the main thread knows are running) answered, or `timeoutMs`. A known thread that
   * does not answer and that the main thread does not know as running was terminated: forgotten.
   */
  async read(gc: boolean, timeoutMs: number, running: readonly number[] = []): Promise<ThreadStatesRead> {
    this.#drain();
    const id = this.#nextId++;
    const expected = new Set<number>([...this.#known, ...running.filter((t) => !this.#isEnded(t))]);
    const pending: Pending = { id, gc, replies: new Map(), expected, done: () => undefined };
    const answered = new Promise<void>((resolve) => (pending.done = resolve));
    this.#pending.set(id, pending);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (expected.size > 0) {
        this.#ask.postMessage({ type: 'ask', id, gc } satisfies ThreadAsk);
        await Promise.race([answered, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      }
    } catch {
      // the channel is closed: report what is known
    } finally {
      if (timer) clearTimeout(timer);
      this.#pending.delete(id);
    }
    const runningSet = new Set(running);
    const silent: number[] = [];
    for (const t of expected) {
      if (pending.replies.has(t) || this.#isEnded(t)) continue;
      if (runningSet.has(t)) silent.push(t);
      else {
        this.#known.delete(t);
        this.#overdue.delete(t);
      }
    }
    return { live: [...pending.replies.values()], ended: [...this.#finals.values()], silent, droppedFinals: this.#droppedFinals };
  }

  /**
   * Asks every thread how much of its pending work is older than `thresholdMs` and returns the sum of the
   * latest answers (the answers to this ask arrive for the next call: polling never waits on a thread).
   */
  overdue(thresholdMs: number): number {
    this.#drain();
    try {
      if (this.#known.size > 0) this.#ask.postMessage({ type: 'overdue?', id: this.#nextId++, thresholdMs } satisfies ThreadAsk);
    } catch {
      // closed
    }
    let sum = 0;
    for (const [t, n] of this.#overdue) if (this.#known.has(t)) sum += n;
    return sum;
  }

  /**
   * How many threads ended on their own leaving something behind (kept or not): work they left can never
   * finish, so the threshold watch reports it at its next poll, not only at exit.
   */
  endedLeavingSomething(): number {
    this.#drain();
    return this.#finals.size + this.#droppedFinals;
  }

  /** The final states kept of threads that ended leaving something, and how many more were not kept. */
  ended(): { states: ProbeState[]; dropped: number } {
    this.#drain();
    return { states: [...this.#finals.values()], dropped: this.#droppedFinals };
  }

  /** What threads said that the listener has not been run for yet (see drain). */
  #drain(): void {
    drain(this.#says, (m) => this.#receive(m as ThreadSays));
  }

  #isEnded(thread: number): boolean {
    return this.#finals.has(thread) || this.#ended.has(thread);
  }

  /** Stops listening. */
  close(): void {
    try {
      this.#ask.close();
      this.#says.close();
    } catch {
      // already closed
    }
  }
}
