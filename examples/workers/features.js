'use strict';
// Worker for examples/as-completed-map*.js: "extracts features" of a file into a buffer of `size` bytes.
module.exports = ({ file, size }) => {
  const features = new Uint8Array(size);
  for (let i = 0; i < file.length; i++) features[i % size] ^= file.charCodeAt(i);
  return features;
};
