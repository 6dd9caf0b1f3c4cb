'use strict';
// Child process of gen.mjs: builds a heap of a given shape and writes one heap snapshot.
// node heap-builder.cjs <out> <shape: records|many> <count>
const v8 = require('node:v8');
const [out, shape, countArg] = process.argv.slice(2);
const count = Number(countArg);
const keep = [];
if (shape === 'records') {
  // Realistic-ish: objects with strings, arrays, nested objects, Maps and closures.
  const byId = new Map();
  let prev = null;
  for (let i = 0; i < count; i++) {
    const rec = { id: i, name: 'record-' + i, tags: [i, 'tag' + (i % 97)], next: prev, meta: { created: i * 1.5, owner: prev } };
    if (i % 10 === 0) byId.set('k' + i, rec);
    if (i % 50 === 0) rec.onDone = () => rec.id;
    keep.push(rec);
    prev = i % 3 === 0 ? null : rec;
  }
  keep.push(byId);
} else if (shape === 'many') {
  // Many cheap nodes (past 16.7M): boxed heap numbers and tiny objects in generic arrays.
  let chunk = [{}];
  for (let i = 0; i < count; i++) {
    chunk.push(i % 2 === 0 ? i + 0.5 : { a: i });
    if (chunk.length === 1_000_000) {
      keep.push(chunk);
      chunk = [{}];
    }
  }
  keep.push(chunk);
} else throw new Error(`unknown shape ${shape}`);
globalThis.keep = keep;
v8.writeHeapSnapshot(out);
