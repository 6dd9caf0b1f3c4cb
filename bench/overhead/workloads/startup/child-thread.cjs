'use strict';
// A short CommonJS script (child of startup.js, kind `thread`) that hands one job to a worker thread and
// exits when it is done; prints the whole process's CPU time at exit, all threads, start-up and any
// preload included. With the agent: the thread's probe, and whatever the agent does for a thread that ends.
const { Worker } = require('node:worker_threads');

process.on('exit', () => {
  const c = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ startupCpuMs: (c.user + c.system) / 1000 })}\n`);
});
const worker = new Worker(
  `const { parentPort } = require('node:worker_threads');
   const { createHash } = require('node:crypto');
   parentPort.postMessage(createHash('sha256').update(Buffer.alloc(1 << 20, 7)).digest('hex'));`,
  { eval: true },
);
worker.on('message', (digest) => {
  if (typeof digest !== 'string' || digest.length !== 64) process.exitCode = 2;
});
