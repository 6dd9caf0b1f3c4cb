import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LazyBuiltins } from '../../agent/probe/builtins';

const loaded = (name: string): boolean => (process as unknown as { moduleLoadList: string[] }).moduleLoadList.includes(`NativeModule ${name}`);

test('a patch waits for a trigger, runs once when one loads, and at once for a builtin already loaded', () => {
  const lazy = new LazyBuiltins();
  const ran: string[] = [];
  lazy.when('fs', ['never'], () => ran.push('fs')); // loaded in every process: at once
  assert.deepEqual(ran, ['fs']);
  lazy.when('not-a-builtin', ['trigger-a', 'trigger-b'], () => ran.push('late'));
  assert.equal(lazy.waiting, true);
  lazy.loaded('node:something-else', {});
  assert.deepEqual(ran, ['fs']);
  lazy.loaded('node:trigger-b', {});
  lazy.loaded('trigger-a', {});
  assert.deepEqual(ran, ['fs', 'late']);
  assert.equal(lazy.waiting, false);
});

test('a require() that returns an ES module namespace makes every waiting patch', async () => {
  const lazy = new LazyBuiltins();
  let ran = 0;
  lazy.when('not-a-builtin', ['never'], () => ran++);
  lazy.loaded('./plain.js', { plain: true });
  assert.equal(ran, 0);
  // A real ES module namespace (TypeScript would turn a plain import() into a require()).
  const namespace: unknown = await (new Function('return import("node:path")') as () => Promise<unknown>)();
  lazy.loaded('./esm.mjs', namespace);
  assert.equal(ran, 1);
  // and later patches are made at once
  lazy.when('also-not-a-builtin', ['never'], () => ran++);
  assert.equal(ran, 2);
});

const UNLOADED = ['trace_events', 'http2', 'repl', 'dgram'].find((name) => !loaded(name));

test('catchUp: a builtin loaded where no hook saw it (inside Node) is patched at the next read', { skip: UNLOADED ? false : 'every candidate builtin is loaded in this process already' }, () => {
  const name = UNLOADED!;
  const lazy = new LazyBuiltins();
  let ran = 0;
  lazy.when(name, ['never-required-by-name'], () => ran++);
  lazy.catchUp();
  assert.equal(ran, 0);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  require(`node:${name}`); // not through the probe's load hook: as Node's internal undici loads net
  lazy.catchUp();
  assert.equal(ran, 1);
  lazy.catchUp();
  assert.equal(ran, 1);
});
