/** Call-site capture: the short capture, the deep one, and capturing deep at once after a deep one (sites.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SiteTable } from '../../agent/probe/sites';

test('sites: a library call from an event, then user calls near and far down the stack, attributed as fresh captures would', (t) => {
  // This file is the agent's own (under dist/): its frames never count. The user's file and a library under
  // node_modules are written to a temporary folder.
  const dir = mkdtempSync(join(tmpdir(), 'leak-agent-sites-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules', 'lib'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'lib', 'index.js'), 'exports.depth = function depth(n, fn) { return n === 0 ? fn() : depth(n - 1, fn); };\n');
  writeFileSync(
    join(dir, 'user.js'),
    [
      "const lib = require('./node_modules/lib');",
      'exports.near = (fn) => lib.depth(2, fn);',
      'exports.far = (fn) => lib.depth(20, fn);',
      '',
    ].join('\n'),
  );
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const lib = require(join(dir, 'node_modules', 'lib')) as { depth(n: number, fn: () => number): number };
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const user = require(join(dir, 'user.js')) as { near(fn: () => number): number; far(fn: () => number): number };

  const table = new SiteTable(100);
  // One capturing function for the whole sequence, as a patch has: its mode carries from call to call.
  const track = (): number => table.capture(track);
  const where = (site: number): string => {
    const r = table.records[site];
    return `${r.user ? 'user' : 'library'} ${r.frame.file.slice(dir.length + 1)}:${r.frame.line}`;
  };
  // The same capture with a function never used before: short first, deep only when needed.
  const fresh = (how: (fn: () => number) => number): string => {
    const own = new SiteTable(100);
    const once = (): number => own.capture(once);
    const site = how(once);
    const r = own.records[site];
    return `${r.user ? 'user' : 'library'} ${r.frame.file.slice(dir.length + 1)}:${r.frame.line}`;
  };
  const fromEvent = (fn: () => number): number => lib.depth(20, fn);
  const expected = { event: 'library node_modules/lib/index.js:1', near: 'user user.js:2', far: 'user user.js:3' };
  assert.equal(fresh(fromEvent), expected.event);
  assert.equal(fresh(user.near), expected.near);
  assert.equal(fresh(user.far), expected.far);
  const sequence: [keyof typeof expected, (fn: () => number) => number][] = [
    ['event', fromEvent],
    ['near', user.near],
    ['far', user.far],
    ['near', user.near],
    ['event', fromEvent],
    ['far', user.far],
    ['event', fromEvent],
    ['near', user.near],
  ];
  for (const [name, how] of sequence) assert.equal(where(how(track)), expected[name], name);
  assert.equal(table.records.length, 4, 'three sites, and site 0');
});
