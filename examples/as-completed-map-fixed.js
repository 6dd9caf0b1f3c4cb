'use strict';
// The fixed twin of as-completed-map.js: each entry is deleted once its task has been consumed, so
// settled tasks and their results become garbage.
const path = require('node:path');
const { Piscina } = require('piscina');

const pool = new Piscina({ filename: path.join(__dirname, 'workers', 'features.js'), maxThreads: 2 });
const inFlight = new Map();

async function extractAll(files) {
  for (const file of files) {
    const task = pool.run({ file, size: 256 * 1024 }).then((features) => ({ task, features }));
    inFlight.set(task, file);
  }
  let bytes = 0;
  while (inFlight.size > 0) {
    const { task, features } = await Promise.race(inFlight.keys());
    inFlight.delete(task);
    bytes += features.length;
  }
  return bytes;
}

const files = Array.from({ length: 40 }, (_, i) => `audio/clip-${i}.wav`);
extractAll(files).then(async (bytes) => {
  console.log(`extracted ${bytes} bytes from ${files.length} files`);
  await pool.destroy();
});
