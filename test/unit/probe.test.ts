/** Probe internals that protect the app: the patcher's restore, and registry bookkeeping. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Patcher } from '../../agent/probe/patcher';
import { Registry, type HandleKind } from '../../agent/probe/registry';
import { SiteTable } from '../../agent/probe/sites';
import { mayImport } from '../../agent/probe/esm-hooks';

test('patcher: wrappers keep name, length and own symbol properties; restore puts the original back', () => {
  const custom = Symbol('custom');
  const target = { fn: Object.assign(function original(a: number, b: number) { return a + b; }, { [custom]: 'kept', extra: 1 }) };
  const original = target.fn;
  const patcher = new Patcher();
  assert.ok(patcher.wrap(target, 'fn', (orig) => function (this: unknown, ...args: unknown[]) { return orig.apply(this, args); }));
  assert.notEqual(target.fn, original);
  assert.equal(target.fn.name, 'original');
  assert.equal(target.fn.length, 2);
  assert.equal((target.fn as unknown as Record<symbol, string>)[custom], 'kept');
  assert.equal((target.fn as unknown as { extra: number }).extra, 1);
  assert.equal(target.fn(2, 3), 5);
  patcher.restore();
  assert.equal(target.fn, original);
});

test('patcher: a value someone else installed after us is left in place on restore', () => {
  const target = { fn: () => 'original' };
  const patcher = new Patcher();
  patcher.wrap(target, 'fn', (orig) => () => orig() as string);
  const theirs = () => 'theirs';
  target.fn = theirs;
  patcher.restore();
  assert.equal(target.fn, theirs);
});

const PROMISE: HandleKind = { type: 'promise', library: 'promise', observed: true };
const RESOURCE: HandleKind = { type: 'resource', library: 'pool', observed: true };

test('registry: a promise already settled when a pool claims it starts over in the pool\'s state', () => {
  const registry = new Registry(new SiteTable(10), { maxHandles: 10, level: 'full', threadId: 0 });
  const obj = {};
  const id = registry.track(obj, PROMISE, 0);
  registry.settle(id, 'fulfilled');
  assert.equal(registry.track(obj, RESOURCE, 0, 0, 'queued'), id);
  assert.equal(registry.stateOf(id), 'queued');
  registry.settle(id, 'released');
  assert.equal(registry.size, 0, 'released resources are dropped, not kept forever');
});

test('registry: mayFind is false only when a quiet-point or exit report could hold no finding', () => {
  const TASK: HandleKind = { type: 'task', library: 'pool', observed: true };
  const TIMER: HandleKind = { type: 'timer', library: 'node', observed: false };
  const registry = new Registry(new SiteTable(10), { maxHandles: 10, level: 'sample', threadId: 0 });
  assert.equal(registry.mayFind(), false, 'nothing tracked');
  registry.track({}, TIMER, 0);
  assert.equal(registry.mayFind(), false, 'a pending OS handle is a finding only in a report asked for');
  const resource = registry.track({}, RESOURCE, 0, 0, 'running');
  assert.equal(registry.mayFind(), true, 'a resource held');
  registry.settle(resource, 'released');
  assert.equal(registry.mayFind(), false, 'released');
  const promise = registry.track({}, PROMISE, 0);
  assert.equal(registry.mayFind(), true, 'a pending promise');
  registry.settle(promise, 'fulfilled');
  assert.equal(registry.mayFind(), false, 'a settled promise');
  const task = registry.track({}, TASK, 0);
  registry.settle(task, 'fulfilled');
  assert.equal(registry.mayFind(), true, 'a settled task may be retained: only the GC-backed read can tell');
  registry.forget(task);
  assert.equal(registry.mayFind(), false);
});

test('registry: a dropped record no longer answers for its object', () => {
  const registry = new Registry(new SiteTable(10), { maxHandles: 10, level: 'sample', threadId: 0 });
  const obj = {};
  const id = registry.track(obj, RESOURCE, 0);
  assert.equal(registry.idOf(obj), id);
  registry.forget(id);
  assert.equal(registry.idOf(obj), 0);
  const again = registry.track(obj, RESOURCE, 0);
  assert.notEqual(again, id, 'tracked anew');
  assert.equal(registry.idOf(obj), again);
});

test('registry: a library\'s newest live pool, past destroyed and forgotten ones and a pool made per request', () => {
  const POOL_X: HandleKind = { type: 'pool', library: 'x', observed: true };
  const POOL_Y: HandleKind = { type: 'pool', library: 'y', observed: true };
  const registry = new Registry(new SiteTable(10), { maxHandles: 1000, level: 'sample', threadId: 0 });
  assert.equal(registry.newestLivePool('x'), 0, 'no pool yet');
  const older = registry.track({}, POOL_X, 0, 0, 'running');
  const other = registry.track({}, POOL_Y, 0, 0, 'running');
  const newer = registry.track({}, POOL_X, 0, 0, 'running');
  assert.equal(registry.newestLivePool('x'), newer);
  assert.equal(registry.newestLivePool('y'), other);
  registry.settle(newer, 'destroyed');
  assert.equal(registry.newestLivePool('x'), older, 'a destroyed pool owns nothing new');
  registry.forget(older);
  assert.equal(registry.newestLivePool('x'), 0, 'destroyed and forgotten');
  const made: number[] = [];
  for (let i = 0; i < 300; i++) {
    made.push(registry.track({}, POOL_X, 0, 0, 'running'));
    if (i < 299) registry.forget(made[i]);
  }
  assert.equal(registry.newestLivePool('x'), made[299]);
  registry.forget(made[299]);
  assert.equal(registry.newestLivePool('x'), 0);
  assert.equal(registry.newestLivePool('y'), other);
});

test('esm hooks: a CommonJS source starts the loader hooks only when it holds a dynamic import(', () => {
  assert.equal(mayImport("const m = await import('p-queue');"), true);
  assert.equal(mayImport('x = import (name)'), true);
  assert.equal(mayImport("require('p-queue'); // important"), false);
  assert.equal(mayImport('const reimport = 1; reimport(2)'), false);
  assert.equal(mayImport(undefined), false);
  assert.equal(mayImport('/**\n * @typedef { import("./argument.js").Argument } Argument\n */\nmodule.exports = 1;'), false);
  assert.equal(mayImport('// see import("x")\nconst a = 1;\nconst m = import("p-queue");'), true);
});
