/**
 * The main thread's side of the threads' channels (../threads.ts has the analysis worker's): what app
 * worker threads say before the analysis worker listens. In the probe's folder so that it loads from the
 * probe's one-file build with its code cache (`earlyStates()` of ./index): required from its own files,
 * with the thread-serve and builtins files they load, it cost the main thread 1.7 ms at its app's first
 * worker thread.
 * @internal
 */
import { BroadcastChannel, receiveMessageOnPort } from 'node:worker_threads';
import type { ProbeState } from '../../collector/probe-state';
import { STATE_CHANNEL, say, type ThreadSays, type Listening } from './thread-serve';

/**
 * Takes, synchronously, the messages already queued on `channel` that its event-loop listener has not run
 * for yet. A thread's `final` is queued before the main thread sees that thread exit, but the listener runs
 * only when the receiving thread's loop gets to that port: a report made in between (the main thread at
 * `beforeExit`; the analysis worker handling that report's hand-off, which arrives on another port) would
 * not see the final state yet. Seen as a flaky empty report under CPU load.
 */
export function drain(channel: BroadcastChannel, receive: (message: unknown) => void): void {
  // Node takes a BroadcastChannel here since 15.12 (documented); @types/node declares a MessagePort only.
  const port = channel as unknown as import('node:worker_threads').MessagePort;
  try {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) receive(m.message);
  } catch {
    // closed
  }
}

/** True when a thread's final state holds something to report: pending work or abandoned tasks. */
export function leftSomething(state: ProbeState): boolean {
  return state.handles.length > 0 || state.counters.some((c) => c.abandoned > 0);
}

/**
 * What EarlyStates keeps at most, of each: hellos of running threads, and finals that left something (as
 * ThreadStates keeps them).
 */
const MAX_EARLY = 1000;

/**
 * Main thread: from the app's first worker thread (or the analysis worker's start) until the worker says
 * it listens, keeps what the app's threads say. The worker starts late or never (agent/preload.ts), a thread
 * can start and end before it listens, and a BroadcastChannel only delivers to channels that exist when a
 * message is posted: without this, its final state would be lost. Once the worker listens, the kept
 * messages are said again and this channel is closed; a report made before that hands them over itself
 * (`take`), and `holdsFinal` tells whether the worker is needed for them at all.
 */
export class EarlyStates {
  #channel: BroadcastChannel | null;
  /**
   * Hellos of threads still running, by threadId, and the finals of threads that ended leaving something.
   * A thread's final removes its hello: a long-running app whose threads are all short may never start the
   * worker, and hellos of ended threads must not fill MAX_EARLY and push out a later final.
   */
  #hellos = new Map<number, ThreadSays>();
  #finals: ThreadSays[] = [];

  constructor() {
    this.#channel = new BroadcastChannel(STATE_CHANNEL);
    this.#channel.unref();
    this.#channel.onmessage = (event: unknown) => {
      try {
        this.#receive((event as { data?: ThreadSays | Listening }).data);
      } catch {
        // never throw into the app's event loop
      }
    };
  }

  #receive(message: ThreadSays | Listening | undefined): void {
    if (!message || typeof message !== 'object') return;
    if (message.type === 'listening') {
      // What was posted after this reached the worker too; what was queued before it is kept already.
      const kept = this.#takeKept();
      this.close();
      for (const m of kept) say(m);
      return;
    }
    if (message.type === 'final') {
      this.#hellos.delete(message.threadId);
      if (leftSomething(message.state) && this.#finals.length < MAX_EARLY) this.#finals.push(message);
    } else if (message.type === 'hello' && this.#hellos.size < MAX_EARLY) this.#hellos.set(message.threadId, message);
  }

  #takeKept(): ThreadSays[] {
    const kept = [...this.#hellos.values(), ...this.#finals];
    this.#hellos.clear();
    this.#finals = [];
    return kept;
  }

  /** Takes in what is queued already, which the listener has not run for yet (see drain). */
  #catchUp(): void {
    if (this.#channel) drain(this.#channel, (m) => this.#receive(m as ThreadSays | Listening));
  }

  /** True when a thread that ended left something behind (a final state is kept), those still queued included. */
  holdsFinal(): boolean {
    this.#catchUp();
    return this.#finals.length > 0;
  }

  /** The messages kept so far (given once), those still queued included: hellos of running threads, then finals. */
  take(): ThreadSays[] {
    this.#catchUp();
    return this.#takeKept();
  }

  close(): void {
    try {
      this.#channel?.close();
    } catch {
      // already closed
    }
    this.#channel = null;
  }
}

