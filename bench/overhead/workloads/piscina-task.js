'use strict';
// A small piscina task: a little arithmetic, so messaging dominates.
module.exports = function task({ n }) {
  let s = 0;
  for (let i = 0; i < 50; i++) s += (n * i) & 255;
  return s;
};
