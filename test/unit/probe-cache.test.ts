import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_LINE, buildIdOf, cacheBytes, loadCached } from '../../agent/probe-cache';

const AGENT_DIST = join(__dirname, '..', '..', 'agent');

test('the build writes a code cache this Node accepts for the preload\'s probe', () => {
  const { script, exports } = loadCached(join(AGENT_DIST, 'probe-local.js'), join(AGENT_DIST, 'probe-local.cache'), require, AGENT_DIST);
  assert.equal(typeof exports, 'function');
  assert.equal(script.cachedDataRejected, false);
});

test('a cache from another build is not handed to V8, even for a source of the same length', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leak-agent-cache-'));
  try {
    const file = join(dir, 'm.js');
    const cacheFile = join(dir, 'm.cache');
    writeFileSync(file, `${BUILD_LINE}aaaaaaaaaaaaaaaa\nmodule.exports = function f() { return 1; };\n`);
    const first = loadCached(file, cacheFile, require, dir);
    assert.equal((first.exports as () => number)(), 1);
    writeFileSync(cacheFile, cacheBytes('aaaaaaaaaaaaaaaa', first.script));
    assert.equal(loadCached(file, cacheFile, require, dir).script.cachedDataRejected, false, 'same build: used');
    // Rebuilt: same length, other code, other id. V8 alone would take the old cache (it checks the length).
    writeFileSync(file, `${BUILD_LINE}bbbbbbbbbbbbbbbb\nmodule.exports = function f() { return 2; };\n`);
    const second = loadCached(file, cacheFile, require, dir);
    assert.equal(second.script.cachedDataRejected, undefined, 'no cache given');
    assert.equal((second.exports as () => number)(), 2);
    assert.equal(buildIdOf(readFileSync(file, 'utf8')), 'bbbbbbbbbbbbbbbb');
    assert.equal(buildIdOf("'use strict';\nmodule.exports = 1;"), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
