/** The sampler that decides which frequent calls get a stack: exact below its cap, bounded and unbiased above. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, ThreadSampler } from '../../agent/probe/context';

/** Runs `calls` calls through `sampler`; returns the taken indices and the sum of their weights. */
function drive(sampler: Sampler, calls: number): { taken: number[]; weights: number } {
  const taken: number[] = [];
  let weights = 0;
  for (let i = 0; i < calls; i++) {
    if (sampler.take()) {
      taken.push(i);
      weights += sampler.weight;
    }
  }
  return { taken, weights };
}

test('sampler: full takes every call, each standing for itself', () => {
  const { taken, weights } = drive(new Sampler('full', 4, 128, 1), 10_000);
  assert.equal(taken.length, 10_000);
  assert.equal(weights, 10_000);
});

test('sampler: sample takes the first `always` calls, then far fewer than one in `every` when calls come fast', () => {
  const sampler = new Sampler('sample', 256, 16, 100);
  const { taken } = drive(sampler, 2_000_000);
  assert.deepEqual(taken.slice(0, 255), Array.from({ length: 255 }, (_, i) => i), 'the first ones are all taken');
  // 1 in 16 would be 125,000; the rate cap (100 a second) brings it to a few hundred on any machine that
  // runs 2 million calls in well under a minute
  assert.ok(taken.length < 2_000_000 / 16 / 10, `taken ${taken.length}`);
  assert.ok(taken.length > 255, 'calls past the first ones are still taken');
  assert.equal(sampler.saturated, true);
});

test('sampler: the weights of the taken calls add up to the calls made up to the last one taken (an exact count estimate)', () => {
  const sampler = new Sampler('sample', 8, 1, 1000);
  const { taken, weights } = drive(sampler, 500_000);
  assert.equal(weights, taken[taken.length - 1] + 1);
});

test('sampler: a periodic pattern cannot hide from it (random gaps)', () => {
  // Two call sites alternating, sampled at about 1 in 2: a fixed period of 2 would only ever see one of them.
  const sampler = new Sampler('sample', 1, 2, 1e12);
  const bySite = [0, 0];
  for (let i = 0; i < 10_000; i++) if (sampler.take()) bySite[i % 2]++;
  assert.ok(bySite[0] > 1000 && bySite[1] > 1000, `taken per site ${bySite}`);
});

test('sampler: below the cap every call is taken (every = 1)', () => {
  const sampler = new Sampler('sample', 4, 1, 1e12);
  const { taken } = drive(sampler, 5_000);
  assert.equal(taken.length, 5_000);
  assert.equal(sampler.saturated, false);
});

test('thread sampler: sample probes the first 8 threads of each site, then about 1 in 16; full probes all', () => {
  const sample = new ThreadSampler('sample');
  const first = Array.from({ length: 8 }, () => sample.probes(1));
  assert.deepEqual(first, Array(8).fill(true));
  let probed = 0;
  for (let i = 0; i < 8000; i++) if (sample.probes(1)) probed++;
  assert.ok(probed > 8000 / 24 && probed < 8000 / 10, `about 1 in 16 past the first 8: ${probed} of 8000`);
  // Another site starts with its own first 8, however many the first site started.
  assert.deepEqual(Array.from({ length: 8 }, () => sample.probes(2)), Array(8).fill(true));
  const full = new ThreadSampler('full');
  for (let i = 0; i < 100; i++) assert.equal(full.probes(1), true);
});

test('thread sampler: counts threads and names those without a probe in its notice', () => {
  const sampler = new ThreadSampler('sample');
  const a = {};
  const b = {};
  sampler.started(a, true);
  assert.equal(sampler.notice(), undefined, 'no notice while every thread is probed');
  sampler.started(b, false);
  assert.equal(sampler.isProbed(a), true);
  assert.equal(sampler.isProbed(b), false);
  assert.match(sampler.notice() ?? '', /^leak-agent: 1 of 2 worker threads ran without a probe/);
});
