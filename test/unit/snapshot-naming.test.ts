import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { loadSnapshot, retainerPath, retainerPathRaw, throughMomentaryRoot, type HeapGraph } from '../../collector/snapshot';
import { SnapshotBuilder, type BNode } from './snapshot-builder';

async function load(b: SnapshotBuilder): Promise<HeapGraph> {
  return loadSnapshot(Readable.from([Buffer.from(b.toString())]), { progress: false });
}

const SOURCE = ['const v8 = require("v8");', '', 'const inFlight = new Map();', 'function makeHolder() {', '  const captured = {};', '  return function onReply() { return captured; };', '}', ''].join('\n');

/** A closure with a location in /app/app.js (script id 7) whose Script node carries the source. */
function closure(b: SnapshotBuilder, name: string, ctx: BNode, line0: number, col0: number): BNode {
  const script = b.node('/app/app.js', 'code');
  script.edge('internal', 'source', b.node(SOURCE, 'string'));
  const shared = b.node(name, 'code').edge('internal', 'script_or_debug_info', script);
  return b.node(name, 'closure').edge('internal', 'shared', shared).edge('internal', 'context', ctx).location(7, line0, col0);
}

test('naming: module-scope variable with its declaration line, Map entry with redacted key, class of the value', async () => {
  const b = new SnapshotBuilder();
  const native = b.node('system / NativeContext', 'hidden');
  const ctx = b.node('system / Context').edge('internal', 'previous', native);
  const user = closure(b, 'submit', ctx, 5, 2);
  b.gcRoot('(Global handles)').edge('element', 1, user);
  const map = b.node('Map', 'object', 32);
  ctx.edge('context', 'inFlight', map);
  const table = b.node('', 'array', 152); // 2 buckets, capacity 4: entries start at slot 5
  map.edge('internal', 'table', table);
  const key = b.node('secret-key', 'string');
  const value = b.node('Promise');
  table.edge('internal', '5', key).edge('internal', '6', value);
  const g = await load(b);
  const steps = retainerPath(g, value.index, { readSources: false });
  const names = steps.map((s) => s.name);
  assert.deepEqual(names, ['GC root (Global handles)', 'closure submit (/app/app.js:6)', 'variable inFlight (module scope, /app/app.js:3)', 'Map entry (key <string, 10 chars>)', 'Promise']);
  assert.deepEqual(steps[2].site, { file: '/app/app.js', line: 3, column: 7, function: null });
  assert.equal(steps[2].edge, 'context');
  const shown = retainerPath(g, value.index, { readSources: false, showStrings: true });
  assert.equal(shown[3].name, 'Map entry (key "secret-key")');
});

test('retainers: an object reached only through a momentary root (the WeakRef keep-during-job set) is held by nothing of the app', async () => {
  const b = new SnapshotBuilder();
  const map = b.node('Map', 'object', 32);
  const table = b.node('', 'array', 152);
  map.edge('internal', 'table', table);
  b.gcRoot('(Global handles)').edge('element', 1, map);
  const held = b.node('Promise');
  const dropped = b.node('Promise');
  table.edge('internal', '6', held);
  const kept = b.node('', 'array', 64);
  b.gcRoot('(Strong roots)').edge('element', 1, kept);
  kept.edge('internal', '263', held).edge('internal', '264', dropped);
  const g = await load(b);
  assert.equal(throughMomentaryRoot(g, retainerPathRaw(g, held.index)!), false, 'the Map holds it; the momentary root is entered last');
  assert.equal(throughMomentaryRoot(g, retainerPathRaw(g, dropped.index)!), true);
  assert.equal(retainerPath(g, dropped.index, { readSources: false })[0].name, 'GC root (Strong roots)');
});

test('naming: captured variable of a function scope, array index, property of a class, Set entry', async () => {
  const b = new SnapshotBuilder();
  const native = b.node('system / NativeContext', 'hidden');
  const outer = b.node('system / Context').edge('internal', 'previous', native);
  const scope = b.node('system / ScopeInfo', 'code').edge('hidden', 0, b.node('captured', 'string')).edge('hidden', 1, b.node('makeHolder', 'string'));
  const ctx = b.node('system / Context').edge('internal', 'previous', outer).edge('internal', 'scope_info', scope);
  const onReply = closure(b, 'onReply', ctx, 5, 9);
  const arr = b.node('Array').edge('element', 0, onReply);
  const client = b.node('RpcClient').location(7, 0, 0);
  b.gcRoot('(Global handles)').edge('element', 1, arr).edge('element', 2, client);
  const captured = b.node('Object');
  ctx.edge('context', 'captured', captured);
  const set = b.node('Set');
  client.edge('property', 'pending', set);
  const table = b.node('', 'array', 8 * (2 + 3 + 5 * 2)); // Set: 2 buckets, entries of 2 slots from slot 5
  set.edge('internal', 'table', table);
  const item = b.node('Task');
  table.edge('internal', '7', item);
  const g = await load(b);
  assert.deepEqual(
    retainerPath(g, captured.index, { readSources: false }).map((s) => s.name),
    ['GC root (Global handles)', 'index 0 of Array', 'closure onReply (/app/app.js:6)', 'variable captured (in makeHolder, /app/app.js:5)', 'Object'],
  );
  const steps = retainerPath(g, item.index, { readSources: false });
  assert.deepEqual(steps.map((s) => s.name), ['GC root (Global handles)', 'property pending of RpcClient', 'Set entry', 'Task']);
  assert.equal(steps[1].site?.line, 1);
});

test('naming: a pending promise awaited by a suspended async function, and its locals', async () => {
  const b = new SnapshotBuilder();
  const asyncProto = b.node('AsyncFunction');
  const native = b.node('system / NativeContext', 'hidden');
  const modCtx = b.node('system / Context').edge('internal', 'previous', native);
  const fn = closure(b, 'call', modCtx, 3, 0).edge('property', '__proto__', asyncProto);
  const gen = b.node('Generator').location(7, 3, 0);
  const regs = b.node('', 'array');
  const local = b.node('Future');
  gen.edge('internal', 'function', fn).edge('internal', 'parameters_and_registers', regs);
  regs.edge('internal', '2', local);
  const awaitCtx = b.node('system / Context').edge('internal', 'previous', native).edge('internal', 'extension', gen);
  const resolveClosure = b.node('', 'closure').edge('internal', 'context', awaitCtx);
  const reaction = b.node('system / PromiseReaction', 'hidden').edge('hidden', 1, resolveClosure);
  const promise = b.node('Promise').edge('internal', 'reactions_or_result', reaction);
  b.gcRoot('(Global handles)').edge('element', 1, promise);
  const g = await load(b);
  assert.deepEqual(retainerPath(g, local.index, { readSources: false }).map((s) => s.name), [
    'GC root (Global handles)',
    'async function call suspended, awaiting a Promise (/app/app.js:4)',
    'local or argument of async function call suspended (/app/app.js:4)',
    'Future',
  ]);
});
