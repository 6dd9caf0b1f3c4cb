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

test('a require() that returns an ES module namespace starts watching Node load builtins; what it loaded already is patched at once', async () => {
  const lazy = new LazyBuiltins();
  let ran = 0;
  lazy.when('not-a-builtin', ['never'], () => ran++);
  lazy.loaded('./plain.js', { plain: true });
  assert.equal(Object.getPrototypeOf(list()), Array.prototype, 'nothing watched for a CommonJS module');
  // A real ES module namespace (TypeScript would turn a plain import() into a require()).
  const namespace: unknown = await (new Function('return import("node:path")') as () => Promise<unknown>)();
  lazy.when('path', ['never'], () => ran++); // loaded: at once
  assert.equal(ran, 1);
  lazy.loaded('./esm.mjs', namespace);
  assert.notEqual(Object.getPrototypeOf(list()), Array.prototype, 'watching: a builtin may now be loaded through no hook');
  lazy.stop();
  assert.equal(Object.getPrototypeOf(list()), Array.prototype, 'stop() leaves the list as Node made it');
  assert.equal(ran, 1);
});

const list = (): string[] => (process as unknown as { moduleLoadList: string[] }).moduleLoadList;

const UNLOADED = ['trace_events', 'http2', 'repl', 'dgram', 'inspector', 'cluster', 'v8', 'wasi', 'test/reporters'].filter((name) => !loaded(name));

test('watchLoads: a builtin loaded with require() or import() is patched as Node loads it, before its exports are returned', { skip: UNLOADED.length >= 2 ? false : 'not two candidate builtins left unloaded in this process' }, async () => {
  const [first, second] = UNLOADED;
  const lazy = new LazyBuiltins();
  const seen: string[] = [];
  // The patch marks the exports object: the caller must get it marked.
  const mark = (name: string) => () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    (require(`node:${name}`) as Record<symbol, unknown>)[Symbol.for('leak-agent.test')] = name;
    seen.push(name);
  };
  lazy.when(first, ['never'], mark(first));
  lazy.when(second, ['never'], mark(second));
  const before = list().length;
  lazy.watchLoads();
  assert.deepEqual(seen, []);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const exports = require(`node:${first}`) as Record<symbol, unknown>;
  assert.deepEqual(seen, [first]);
  assert.equal(exports[Symbol.for('leak-agent.test')], first, 'patched before require() returned');
  const namespace = (await (new Function('n', 'return import(n)') as (n: string) => Promise<{ default: Record<symbol, unknown> }>)(`node:${second}`));
  assert.deepEqual(seen, [first, second]);
  assert.equal(namespace.default[Symbol.for('leak-agent.test')], second, 'patched before the import saw the exports');
  // Every load in between kept its entry, in order, and nothing waits: the list is plain again.
  assert.ok(list().includes(`NativeModule ${first}`) && list().includes(`NativeModule ${second}`));
  assert.equal(list().slice(before).filter((e) => typeof e !== 'string').length, 0);
  assert.equal(Object.getPrototypeOf(list()), Array.prototype);
  assert.equal(lazy.waiting, false);
});


test('watchLoads: a patch that loads another builtin does not lose that builtin\'s entry in the list', { skip: UNLOADED.length >= 5 ? false : 'not enough candidate builtins left unloaded in this process' }, async () => {
  const [outer, inner] = UNLOADED.slice(3).filter((name) => !loaded(name));
  assert.ok(outer && inner, `two unloaded builtins: ${UNLOADED.join(', ')}`);
  const lazy = new LazyBuiltins();
  let innerSeen = 0;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  lazy.when(outer, ['never'], () => require(`node:${inner}`));
  lazy.when(inner, ['never'], () => innerSeen++);
  lazy.watchLoads();
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  require(`node:${outer}`);
  assert.equal(innerSeen, 1, 'the builtin loaded inside the patch got its own patch');
  await new Promise<void>((done) => queueMicrotask(done));
  assert.ok(loaded(outer), `${outer} in the list`);
  assert.ok(loaded(inner), `${inner} in the list again after the load that cut it off`);
  assert.equal(Object.getPrototypeOf(list()), Array.prototype);
});

test('catchUp: a builtin loaded where no hook saw it (inside Node) is patched at the next read', { skip: UNLOADED.length >= 3 ? false : 'every candidate builtin is loaded in this process already' }, () => {
  const name = UNLOADED[2];
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
