/**
 * The agent is configured only by `LEAK_AGENT_*` environment variables. A malformed value prints one line
 * naming the variable, the default is used, and the app runs on.
 * @internal
 */
import type { Level } from '../collector/probe-state';

export interface AgentConfig {
  /** `LEAK_AGENT_LEVEL`: off | sample | full. Default sample. */
  level: Level;
  /** `LEAK_AGENT_THRESHOLD_MS`: pending work older than this is reported while the app runs. Default 30000. */
  thresholdMs: number;
  /** `LEAK_AGENT_OUT`: write the JSON report to this file at exit. */
  out: string | null;
  /** `LEAK_AGENT_STDERR`: print the text report to stderr (on|off). Default on, off under `leak-agent run`. */
  stderr: boolean;
  /** `LEAK_AGENT_SIGNAL`: print a report when this signal arrives (for example SIGUSR2). Default none. */
  signal: NodeJS.Signals | null;
  /** `LEAK_AGENT_MAX_HANDLES`: cap on tracked live handles. Default 100000. */
  maxHandles: number;
  /** `LEAK_AGENT_MAX_SITES`: cap on distinct call sites. Default 10000. */
  maxSites: number;
  /**
   * `LEAK_AGENT_SNAPSHOTS`: take heap snapshots to name what holds leaked objects (on|off). Default on at
   * `full`, off at `sample`. A snapshot pauses the app while V8 writes it.
   */
  snapshots: boolean;
  /** `LEAK_AGENT_SNAPSHOT_INTERVAL_MS`: at most one snapshot per this period while the app runs. Default 60000. */
  snapshotIntervalMs: number;
  /** `LEAK_AGENT_CHANNEL`: set by `leak-agent run`: the loopback WebSocket URL of the CLI. */
  channel: string | null;
  /** `LEAK_AGENT_TOKEN`: set by `leak-agent run`: the token the CLI expects. */
  token: string | null;
}

export interface ParsedConfig {
  config: AgentConfig;
  /** One line per malformed variable. */
  problems: string[];
}

const LEVELS: readonly Level[] = ['off', 'sample', 'full'];
const SIGNALS = new Set(['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGWINCH', 'SIGBREAK']);

export function parseConfig(env: NodeJS.ProcessEnv): ParsedConfig {
  const problems: string[] = [];
  const bad = (name: string, value: string, expected: string): void => {
    problems.push(`leak-agent: ignoring ${name}=${JSON.stringify(value)}: ${expected}`);
  };
  const integer = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min) {
      bad(name, raw, `must be an integer >= ${min} (default ${fallback})`);
      return fallback;
    }
    return value;
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const v = raw.trim().toLowerCase();
    if (['1', 'on', 'true', 'yes'].includes(v)) return true;
    if (['0', 'off', 'false', 'no'].includes(v)) return false;
    bad(name, raw, `must be on or off (default ${fallback ? 'on' : 'off'})`);
    return fallback;
  };

  let level: Level = 'sample';
  const rawLevel = env.LEAK_AGENT_LEVEL;
  if (rawLevel !== undefined && rawLevel !== '') {
    const v = rawLevel.trim().toLowerCase() as Level;
    if (LEVELS.includes(v)) level = v;
    else bad('LEAK_AGENT_LEVEL', rawLevel, 'must be one of off, sample, full (default sample)');
  }
  let signal: NodeJS.Signals | null = null;
  const rawSignal = env.LEAK_AGENT_SIGNAL;
  if (rawSignal !== undefined && rawSignal !== '') {
    const v = rawSignal.trim().toUpperCase();
    const name = v.startsWith('SIG') ? v : `SIG${v}`;
    if (SIGNALS.has(name)) signal = name as NodeJS.Signals;
    else bad('LEAK_AGENT_SIGNAL', rawSignal, `must be one of ${[...SIGNALS].join(', ')} (default none)`);
  }
  const channel = env.LEAK_AGENT_CHANNEL || null;
  const config: AgentConfig = {
    level,
    thresholdMs: integer('LEAK_AGENT_THRESHOLD_MS', 30000, 1),
    out: env.LEAK_AGENT_OUT || null,
    stderr: flag('LEAK_AGENT_STDERR', channel === null),
    signal,
    maxHandles: integer('LEAK_AGENT_MAX_HANDLES', 100000, 1),
    maxSites: integer('LEAK_AGENT_MAX_SITES', 10000, 2),
    snapshots: flag('LEAK_AGENT_SNAPSHOTS', level === 'full'),
    snapshotIntervalMs: integer('LEAK_AGENT_SNAPSHOT_INTERVAL_MS', 60000, 0),
    channel,
    token: env.LEAK_AGENT_TOKEN || null,
  };
  if (config.channel !== null && !/^ws:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+/.test(config.channel)) {
    problems.push(`leak-agent: ignoring LEAK_AGENT_CHANNEL: only a loopback ws:// URL is accepted`);
    config.channel = null;
  }
  return { config, problems };
}

/** How often the threshold is watched (half the threshold, within 250 ms and 5 s): by the worker, or cheaply on the main thread until there is one. */
export function thresholdPollMs(config: AgentConfig): number {
  return Math.max(250, Math.min(5000, Math.floor(config.thresholdMs / 2)));
}
