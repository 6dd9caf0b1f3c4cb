'use strict';
// Worker for examples/nested-pool-exit*.js: every prediction fails, as in seed 000.
const workerpool = require('workerpool');

workerpool.worker({
  predict(i) {
    throw new RangeError(`cannot predict input ${i}`);
  },
});
