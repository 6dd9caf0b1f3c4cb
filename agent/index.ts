/**
 * The preload entry: `node --require leak-agent app.js` (or `--import leak-agent/register`, or
 * NODE_OPTIONS). Everything it does is in ./preload, which it runs unless this is a worker thread that the
 * agent of the thread that started it left without a probe (./probe/context ThreadSampler) and could not
 * start without the preload's flag (./probe/thread-options, which is how such a thread is started). The build
 * writes this file as one (cli/probe-bundle.ts writePreload) with ./preload a module inside it that such a
 * thread never runs: requiring the entry in a new worker thread cost 0.88 ms when it ran the preload's
 * module first, against 0.18 ms for an empty file (median of 30 threads).
 */

/**
 * True on a worker thread. Node loads `node:worker_threads` in every worker thread before any preload runs,
 * so where it is not loaded this is a main thread, which is not made to load it (1.5 ms of start-up, the
 * streams) until the app or the agent starts a thread. Where it is loaded, it says: a main thread has it
 * loaded too when another preload (or `--import` before this one) loaded it, and taking that for a worker
 * thread left the agent off there. The probe's own check is builtins.ts `loadedWorkerThreads`.
 */
function onWorkerThread(): boolean {
  const list = (process as { moduleLoadList?: unknown }).moduleLoadList;
  if (Array.isArray(list) && !list.includes('NativeModule worker_threads')) return false;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return !(require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
}

/**
 * `UNPROBED_THREAD_ENV` of ./probe/context, repeated here so that a thread left without a probe runs
 * nothing else: the probe of the thread that started it put it in this thread's environment.
 */
const UNPROBED_THREAD_ENV = 'LEAK_AGENT_UNPROBED_THREAD';

/**
 * True in a worker thread started to run without a probe. The variable is gone before the app's code runs.
 * Only the agent sets it, for a worker thread; a process that inherited it (started by such a thread whose
 * preload did not run) is a main thread, and gets its probe.
 */
function unprobedThread(inWorker: boolean): boolean {
  if (process.env[UNPROBED_THREAD_ENV] === undefined) return false;
  delete process.env[UNPROBED_THREAD_ENV];
  return inWorker;
}

try {
  const inWorker = onWorkerThread();
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  if (!unprobedThread(inWorker)) (require('./preload') as typeof import('./preload')).start(inWorker);
} catch (err) {
  // The preload catches its own errors: this is one loading it. The agent never throws into the app.
  try {
    process.stderr.write(`leak-agent: disabled: the preload could not be loaded: ${(err as Error)?.message ?? err}\n`);
  } catch {
    // stderr closed: nothing to do
  }
}

export {};
