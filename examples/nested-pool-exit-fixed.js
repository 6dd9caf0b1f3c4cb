'use strict';
// The fixed twin of nested-pool-exit.js: the owner terminates its pool when it is done, so the process
// exits as soon as the work is over.
const path = require('node:path');
const workerpool = require('workerpool');

class Foo {
  constructor() {
    this.pool = workerpool.pool(path.join(__dirname, 'workers', 'predict.js'), { maxWorkers: 2 });
  }

  async call(i) {
    try {
      return await this.pool.exec('predict', [i]).timeout(1000);
    } catch {
      return null;
    }
  }

  close() {
    return this.pool.terminate();
  }
}

async function predict(inputs) {
  const foo = new Foo();
  try {
    const results = [];
    for (const i of inputs) results.push(await foo.call(i));
    return results;
  } finally {
    await foo.close();
  }
}

predict([0, 1, 2]).then((results) => console.log('done', results));
