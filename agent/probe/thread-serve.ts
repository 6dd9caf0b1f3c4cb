/**
 * The app worker thread's side of ../threads.ts: answers the analysis worker's asks with this thread's probe
 * state, and says hello and its final state. In the probe's folder so that it is in the probe's one-file build
 * with its code cache (every worker thread the app starts loads it: 0.45 ms as a file of its own).
 * @internal
 */
import type { BroadcastChannel } from 'node:worker_threads';
import type { ProbeState } from '../../collector/probe-state';
// Required where used: this file is in the probe's one-file build, which a main thread loads too (only worker
// threads, which have it loaded already, use it).
import { workerThreads } from './builtins';

/** Asks from the analysis worker to the app threads. */
export const ASK_CHANNEL = 'leak-agent.threads.ask';
/** Answers and announcements from the app threads. */
export const STATE_CHANNEL = 'leak-agent.threads.state';

/** What the analysis worker asks. */
export type ThreadAsk = { type: 'ask'; id: number; gc: boolean } | { type: 'overdue?'; id: number; thresholdMs: number };

/** What an app thread says. */
export type ThreadSays =
  | { type: 'hello'; threadId: number }
  | { type: 'state'; id: number; threadId: number; state: ProbeState }
  | { type: 'overdue'; id: number; threadId: number; count: number }
  | { type: 'final'; threadId: number; state: ProbeState };

/** What the analysis worker posts on STATE_CHANNEL once it listens there (no `threadId`: not a thread's). */
export interface Listening {
  type: 'listening';
}

/** The part of the probe a thread serves. */
export interface ThreadProbe {
  read(options: { gc?: boolean }): ProbeState;
  overdue(thresholdMs: number): number;
}

/**
 * Posts one message on STATE_CHANNEL through a channel made for it and closed at once: a thread that
 * kept one open would also receive (and clone) every state the other threads say.
 */
export function say(message: ThreadSays | Listening): void {
  let channel: BroadcastChannel | null = null;
  try {
    channel = new (workerThreads().BroadcastChannel)(STATE_CHANNEL);
    channel.postMessage(message);
  } catch {
    // the analysis worker is gone, or the state could not be cloned: nothing to do
  } finally {
    try {
      channel?.close();
    } catch {
      // already closed
    }
  }
}

/**
 * In an app worker thread: answers the analysis worker's asks with this thread's probe state and posts the
 * final state when the thread ends on its own; returns what stops that. Never keeps the thread alive (the listener is unref'd) and
 * never changes its exit (the `exit` listener only reads and posts).
 */
export function serveThread(probe: ThreadProbe): () => void {
  const { BroadcastChannel: Channel, threadId } = workerThreads();
  const asks = new Channel(ASK_CHANNEL);
  asks.unref();
  asks.onmessage = (event: unknown) => {
    try {
      const ask = (event as { data?: ThreadAsk }).data;
      if (!ask || typeof ask !== 'object') return;
      if (ask.type === 'ask') say({ type: 'state', id: ask.id, threadId, state: probe.read({ gc: ask.gc === true }) });
      else if (ask.type === 'overdue?') say({ type: 'overdue', id: ask.id, threadId, count: probe.overdue(ask.thresholdMs) });
    } catch {
      // never throw into the app's event loop
    }
  };
  say({ type: 'hello', threadId });
  const onExit = (): void => {
    try {
      asks.close();
    } catch {
      // already closed
    }
    try {
      say({ type: 'final', threadId, state: probe.read({ gc: false }) });
    } catch {
      // never throw from an exit listener: it would change the thread's exit
    }
  };
  process.on('exit', onExit);
  // Stops serving (the build's code-cache run serves once, then stops).
  return () => {
    process.off('exit', onExit);
    try {
      asks.close();
    } catch {
      // already closed
    }
  };
}

