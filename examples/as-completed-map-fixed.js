'use strict';
// The fixed twin of as-completed-map.js: each Map entry is deleted once its task has been consumed, so
// settled tasks and their results become garbage and memory stays flat.
const path = require('node:path');
const { Piscina } = require('piscina');

const pool = new Piscina({ filename: path.join(__dirname, 'workers', 'features.js'), maxThreads: 2 });
const inFlight = new Map();

async function extractBatch(files) {
  const batch = [];
  for (const file of files) {
    const task = pool.run({ file, size: 64 * 1024 });
    inFlight.set(task, file);
    batch.push(task);
  }
  let bytes = 0;
  for (const task of batch) {
    bytes += (await task).length;
    inFlight.delete(task);
  }
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
