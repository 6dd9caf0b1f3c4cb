'use strict';
// Port of seed 000 (nested process pools that never exit). An object owns a worker pool; each call
// submits a task that fails or times out, and the error is swallowed. Nobody terminates the pool, so its
// worker threads keep the process alive: "done" is printed, and then the process never exits.
const path = require('node:path');
const workerpool = require('workerpool');

class Foo {
  constructor() {
    this.pool = workerpool.pool(path.join(__dirname, 'workers', 'predict.js'), { maxWorkers: 2 }); // leak: unreleased
  }

  async call(i) {
    try {
      return await this.pool.exec('predict', [i]).timeout(1000);
    } catch {
      return null; // swallowed, as in the seed
    }
  }
}

async function predict(inputs) {
  const foo = new Foo();
  const results = [];
  for (const i of inputs) results.push(await foo.call(i));
  return results;
}

predict([0, 1, 2]).then((results) => console.log('done', results));
