'use strict';
// Port of seed 002 (thread pool + as_completed, memory 3 GB -> 20 GB). Each batch of files is submitted
// to a worker pool and every task promise is kept in a Map (promise -> file) to be consumed "as
// completed"; entries are never deleted, so every settled task and its result buffer stays reachable
// and memory grows batch after batch.
const path = require('node:path');
const { Piscina } = require('piscina');

const pool = new Piscina({ filename: path.join(__dirname, 'workers', 'features.js'), maxThreads: 2 });
const inFlight = new Map();

async function extractBatch(files) {
  const batch = [];
  for (const file of files) {
    const task = pool.run({ file, size: 64 * 1024 }); // leak: retained
    inFlight.set(task, file);
    batch.push(task);
  }
  let bytes = 0;
  for (const task of batch) bytes += (await task).length; // the Map entry is never removed
  return bytes;
}

async function main() {
  let total = 0;
  for (let i = 0; i < 15; i++) {
    const files = Array.from({ length: 20 }, (_, j) => `audio/batch-${i}/clip-${j}.wav`);
    total += await extractBatch(files);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(`extracted ${total} bytes, ${inFlight.size} tasks still in the map`);
  await pool.destroy();
}

main();
