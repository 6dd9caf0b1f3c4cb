/** The options that start a worker thread without the preload: its flag found and taken out of execArgv and NODE_OPTIONS. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { splitNodeOptions, withoutPreloadFlag, UnprobedThreadOptions } from '../../agent/probe/thread-options';
import { ROOT } from '../integration/harness';

const ENTRY = join(ROOT, 'dist', 'agent', 'index.js');
const REGISTER = join(ROOT, 'dist', 'agent', 'register.js');

test('thread options: NODE_OPTIONS is split as Node splits it, quotes and escapes included', () => {
  assert.deepEqual(splitNodeOptions('  --require  a.js --max-old-space-size=100 '), [
    { value: '--require', raw: '--require' },
    { value: 'a.js', raw: 'a.js' },
    { value: '--max-old-space-size=100', raw: '--max-old-space-size=100' },
  ]);
  assert.deepEqual(splitNodeOptions('--require "/a dir/x\\"y.js" -r=b'), [
    { value: '--require', raw: '--require' },
    { value: '/a dir/x"y.js', raw: '"/a dir/x\\"y.js"' },
    { value: '-r=b', raw: '-r=b' },
  ]);
  assert.equal(splitNodeOptions('--require "unterminated'), null);
  assert.equal(splitNodeOptions('"\\'), null);
});

test('thread options: only the flag naming the preload goes, in each of its spellings', () => {
  const ours = (v: string): boolean => v === 'ours';
  const args = (...v: string[]) => v.map((value) => ({ value }));
  const kept = (...v: string[]) => withoutPreloadFlag(args(...v), ours)?.map((t) => t.value) ?? null;
  assert.deepEqual(kept('--require', 'ours', '--require', 'theirs'), ['--require', 'theirs']);
  assert.deepEqual(kept('-r', 'ours', '--import=theirs', '--import=ours', '--inspect'), ['--import=theirs', '--inspect']);
  assert.deepEqual(kept('--require=ours', '--import', 'ours'), []);
  assert.equal(kept('--require', 'theirs', '--conditions', 'ours'), null, 'a value of another flag is not the preload');
  assert.equal(kept('--require'), null);
});

/** Sets process.env.NODE_OPTIONS for `fn`, then puts it back. */
function withNodeOptions<T>(value: string | undefined, fn: () => T): T {
  const before = process.env.NODE_OPTIONS;
  if (value === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = before;
  }
}

test('thread options: the preload named by path, relative path, folder, file URL or package name is taken out of NODE_OPTIONS', () => {
  const spellings = [ENTRY, relative(process.cwd(), ENTRY).replace(/^(?!\.)/, './'), join(ROOT, 'dist', 'agent'), `file://${REGISTER}`, 'leak-agent', 'leak-agent/register'];
  for (const spelling of spellings) {
    const quoted = `"${spelling.replace(/(["\\])/g, '\\$1')}"`;
    const options = withNodeOptions(`--max-old-space-size=300 --require ${quoted} --trace-warnings`, () => new UnprobedThreadOptions().for({ workerData: 7 }));
    assert.ok(options, spelling);
    assert.equal(options.env && (options.env as NodeJS.ProcessEnv).NODE_OPTIONS, '--max-old-space-size=300 --trace-warnings', spelling);
    assert.equal((options.env as NodeJS.ProcessEnv).LEAK_AGENT_UNPROBED_THREAD, undefined, spelling);
    assert.equal(options.workerData, 7, 'the app options are read through');
  }
  const alone = withNodeOptions(`--require ${ENTRY}`, () => new UnprobedThreadOptions().for(undefined));
  assert.ok(alone?.env && (alone.env as NodeJS.ProcessEnv).NODE_OPTIONS === undefined, 'NODE_OPTIONS with only the preload in it is left out');
});

test('thread options: another preload is kept, and an unrecognised one gets the variable that stops the entry', () => {
  const other = join(ROOT, 'test', 'fixtures', 'preload', 'results-held.mjs');
  const options = withNodeOptions(`--require ${other}`, () => new UnprobedThreadOptions().for(undefined));
  assert.ok(options?.env);
  assert.equal((options.env as NodeJS.ProcessEnv).NODE_OPTIONS, `--require ${other}`);
  assert.equal((options.env as NodeJS.ProcessEnv).LEAK_AGENT_UNPROBED_THREAD, '1');
});

test('thread options: the app\'s own execArgv loses the flag; without the flag anywhere the app\'s options are used as they are', () => {
  const app = { execArgv: ['--require', ENTRY, '--stack-trace-limit=50'] };
  const options = withNodeOptions(undefined, () => new UnprobedThreadOptions().for(app));
  assert.deepEqual(options?.execArgv, ['--stack-trace-limit=50']);
  assert.equal(Object.prototype.hasOwnProperty.call(options, 'env'), false, 'no environment copied when NODE_OPTIONS did not have it');
  assert.deepEqual(app.execArgv, ['--require', ENTRY, '--stack-trace-limit=50'], 'the app\'s array is not changed');
  const plain = { execArgv: ['--stack-trace-limit=50'] };
  assert.equal(withNodeOptions(undefined, () => new UnprobedThreadOptions().for(plain)), plain);
  assert.equal(new UnprobedThreadOptions().for({ env: {} }), null, 'an env of the app\'s own: started as asked');
});
