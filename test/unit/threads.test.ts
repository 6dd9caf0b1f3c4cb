import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BroadcastChannel } from 'node:worker_threads';
import { ThreadStates, STATE_CHANNEL, type ThreadSays } from '../../agent/threads';
import { EarlyStates } from '../../agent/probe/early-states';
import type { ProbeState } from '../../collector/probe-state';

function stateWithOneHandle(threadId: number): ProbeState {
  return {
    version: 1,
    pid: process.pid,
    threadId,
    level: 'sample',
    now: 0,
    startedAt: 0,
    afterGc: false,
    sites: [],
    handles: [{ id: 1 } as unknown as ProbeState['handles'][number]],
    counters: [],
    dropped: { handles: 0, sites: 0 },
    notices: [],
  };
}

function post(message: ThreadSays): void {
  const channel = new BroadcastChannel(STATE_CHANNEL);
  channel.postMessage(message);
  channel.close();
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

test('a thread that ended before the analysis worker listened: its final state reaches it through EarlyStates', async () => {
  const early = new EarlyStates();
  post({ type: 'hello', threadId: 7 });
  post({ type: 'final', threadId: 7, state: stateWithOneHandle(7) });
  await tick();
  // The analysis worker starts listening only now: it says so, and EarlyStates says the kept messages again.
  const states = new ThreadStates();
  try {
    await tick();
    await tick();
    const read = await states.read(false, 100);
    assert.deepEqual(read.ended.map((s) => s.threadId), [7]);
  } finally {
    states.close();
    early.close();
  }
});

test('without EarlyStates the same final state is lost (what the bridge is for)', async () => {
  post({ type: 'final', threadId: 8, state: stateWithOneHandle(8) });
  await tick();
  const states = new ThreadStates();
  try {
    await tick();
    const read = await states.read(false, 100);
    assert.deepEqual(read.ended, []);
  } finally {
    states.close();
  }
});

test('EarlyStates hands its messages over once (a report made before the worker listens)', async () => {
  const early = new EarlyStates();
  try {
    post({ type: 'final', threadId: 9, state: stateWithOneHandle(9) });
    post({ type: 'final', threadId: 10, state: { ...stateWithOneHandle(10), handles: [] } });
    await tick();
    // The thread that left nothing is not kept.
    assert.deepEqual(early.take().map((m) => m.threadId), [9]);
    assert.deepEqual(early.take(), []);
    const states = new ThreadStates();
    try {
      states.accept([{ type: 'final', threadId: 9, state: stateWithOneHandle(9) }]);
      assert.deepEqual((await states.read(false, 100)).ended.map((s) => s.threadId), [9]);
    } finally {
      states.close();
    }
  } finally {
    early.close();
  }
});

test('EarlyStates: hellos of threads that ended do not use up its bound, so a later final is still kept', async () => {
  const early = new EarlyStates();
  try {
    // More clean short-lived threads than the bound (1000), then one that left something behind.
    for (let id = 100; id < 1300; id++) {
      post({ type: 'hello', threadId: id });
      post({ type: 'final', threadId: id, state: { ...stateWithOneHandle(id), handles: [] } });
    }
    post({ type: 'hello', threadId: 2000 });
    post({ type: 'hello', threadId: 2001 });
    post({ type: 'final', threadId: 2001, state: stateWithOneHandle(2001) });
    await tick();
    assert.equal(early.holdsFinal(), true);
    assert.deepEqual(early.take().map((m) => `${m.type} ${m.threadId}`), ['hello 2000', 'final 2001']);
  } finally {
    early.close();
  }
});

test('a final state posted just before a report is read although the listener has not run yet (same tick)', async () => {
  const states = new ThreadStates();
  const early = new EarlyStates();
  try {
    await tick();
    // The thread says hello and ends; the report is made before either thread's loop gets to the messages.
    post({ type: 'hello', threadId: 11 });
    post({ type: 'final', threadId: 11, state: stateWithOneHandle(11) });
    // The thread ended: its hello is dropped, its final kept.
    assert.deepEqual(early.take().map((m) => `${m.type} ${m.threadId}`), ['final 11']);
    const read = await states.read(false, 100);
    assert.deepEqual(read.ended.map((s) => s.threadId), [11]);
  } finally {
    states.close();
    early.close();
  }
});
