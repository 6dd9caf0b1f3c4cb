'use strict';
// Port of seed 002 (thread pool + as_completed, memory 3 GB -> 20 GB). Every file is submitted to a
// worker pool and the task promise is kept in a Map (promise -> file) to be consumed "as completed";
// entries are never deleted, so every settled task and its result buffer stays reachable.
const path = require('node:path');
const { Piscina } = require('piscina');

const pool = new Piscina({ filename: path.join(__dirname, 'workers', 'features.js'), maxThreads: 2 });
const inFlight = new Map();

async function extractAll(files) {
  for (const file of files) {
    const task = pool.run({ file, size: 256 * 1024 }); // leak: retained
    inFlight.set(task, file);
  }
  let bytes = 0;
  while (bytes < files.length * 256 * 1024) {
    // as_completed: take whichever task settles first (the entry is never removed)
    const pending = [...inFlight.keys()].slice(Math.floor(bytes / (256 * 1024)));
    const features = await Promise.race(pending);
    bytes += features.length;
  }
  return bytes;
}

const files = Array.from({ length: 40 }, (_, i) => `audio/clip-${i}.wav`);
extractAll(files).then(async (bytes) => {
  console.log(`extracted ${bytes} bytes from ${files.length} files`);
  await pool.destroy();
});
