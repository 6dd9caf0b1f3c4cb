import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../agent/config';

test('defaults', () => {
  const { config, problems } = parseConfig({});
  assert.deepEqual(problems, []);
  assert.equal(config.level, 'sample');
  assert.equal(config.thresholdMs, 30000);
  assert.equal(config.stderr, true);
  assert.equal(config.signal, null);
  assert.equal(config.channel, null);
});

test('valid values are taken', () => {
  const { config, problems } = parseConfig({ LEAK_AGENT_LEVEL: 'FULL', LEAK_AGENT_THRESHOLD_MS: '250', LEAK_AGENT_SIGNAL: 'usr2', LEAK_AGENT_STDERR: 'off', LEAK_AGENT_OUT: '/tmp/x.json' });
  assert.deepEqual(problems, []);
  assert.equal(config.level, 'full');
  assert.equal(config.thresholdMs, 250);
  assert.equal(config.signal, 'SIGUSR2');
  assert.equal(config.stderr, false);
  assert.equal(config.out, '/tmp/x.json');
});

test('each malformed value: one problem naming the variable, default kept', () => {
  const { config, problems } = parseConfig({ LEAK_AGENT_LEVEL: 'max', LEAK_AGENT_THRESHOLD_MS: '1.5', LEAK_AGENT_MAX_SITES: '1', LEAK_AGENT_SIGNAL: 'SIGKILL' });
  assert.equal(problems.length, 4);
  assert.match(problems[0], /LEAK_AGENT_LEVEL="max".*off, sample, full/);
  assert.match(problems.join('\n'), /LEAK_AGENT_THRESHOLD_MS="1.5": must be an integer >= 1/);
  assert.match(problems.join('\n'), /LEAK_AGENT_MAX_SITES="1": must be an integer >= 2/);
  assert.match(problems.join('\n'), /LEAK_AGENT_SIGNAL="SIGKILL"/);
  assert.equal(config.level, 'sample');
  assert.equal(config.thresholdMs, 30000);
  assert.equal(config.signal, null);
});

test('a channel that is not loopback is refused', () => {
  const { config, problems } = parseConfig({ LEAK_AGENT_CHANNEL: 'ws://10.0.0.5:9000', LEAK_AGENT_TOKEN: 't' });
  assert.equal(config.channel, null);
  assert.match(problems[0], /LEAK_AGENT_CHANNEL/);
  assert.equal(parseConfig({ LEAK_AGENT_CHANNEL: 'ws://127.0.0.1:9000' }).config.channel, 'ws://127.0.0.1:9000');
});
