/**
 * The options that start an app's worker thread without the agent (context.ts `ThreadSampler` decides which).
 * A worker thread inherits its parent's `execArgv` and `NODE_OPTIONS`, so the preload would run in it. Node
 * reads a thread's options again from the `execArgv` and the `env.NODE_OPTIONS` it is started with when
 * either is given (src/node_worker.cc), so the thread is started with both, minus the preload's own flag:
 * the preload never runs there. That costs the thread nothing, where running the entry only to have it
 * stop cost 0.71 ms (an empty preload file: 0.18 ms). When the flag cannot be found in either (a preload
 * named in a way not recognised below), the thread gets UNPROBED_THREAD_ENV instead and the entry stops.
 * @internal
 */
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { realpathSync } from 'node:fs';
import { UNPROBED_THREAD_ENV } from './context';

type WorkerOptions = NonNullable<ConstructorParameters<typeof import('node:worker_threads').Worker>[1]>;

/** The preload's files: the entry and the `--import` one (../register.ts), as Node loads them (real paths). */
function ownEntries(): Set<string> {
  const agentDir = dirname(__dirname);
  const files = new Set<string>();
  for (const name of ['index.js', 'register.js']) {
    const file = join(agentDir, name);
    files.add(file);
    try {
      files.add(realpathSync(file));
    } catch {
      // not there: the other name still counts
    }
  }
  return files;
}

/**
 * True when a `--require`/`--import` value names the preload. A path is resolved from the directory Node
 * resolved it from (the working directory at start, taken when the probe loads), with or without `.js`, or
 * as the agent's folder; a package name through Node's resolution from there; a `file:` URL as its path.
 */
function namesPreload(value: string, cwd: string, own: Set<string>): boolean {
  let path: string | null = null;
  if (value.startsWith('file:')) {
    try {
      path = (require('node:url') as typeof import('node:url')).fileURLToPath(value);
    } catch {
      return false;
    }
  } else if (value.startsWith('.') || isAbsolute(value)) {
    path = resolvePath(cwd, value);
  } else {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      path = (require('node:module') as typeof import('node:module')).createRequire(join(cwd, 'noop.js')).resolve(value);
    } catch {
      return false;
    }
  }
  for (const candidate of [path, `${path}.js`, join(path, 'index.js')]) {
    if (own.has(candidate)) return true;
    try {
      if (own.has(realpathSync(candidate))) return true;
    } catch {
      // no such file
    }
  }
  return false;
}

/** A NODE_OPTIONS token: its text as Node reads it, and as written (quotes kept). */
interface Token {
  value: string;
  raw: string;
}

/**
 * NODE_OPTIONS split as Node splits it (src/node_options.cc ParseNodeOptionsEnvVar): on spaces outside
 * double quotes; a backslash inside quotes escapes the next character. Null on a malformed value (Node
 * would refuse it too).
 */
export function splitNodeOptions(text: string): Token[] | null {
  const tokens: Token[] = [];
  let inString = false;
  let start = -1;
  let value = '';
  for (let i = 0; i < text.length; i++) {
    let c = text[i];
    if (c === '\\' && inString) {
      if (i + 1 === text.length) return null;
      c = text[++i];
    } else if (c === ' ' && !inString) {
      if (start >= 0) tokens.push({ value, raw: text.slice(start, i) });
      start = -1;
      value = '';
      continue;
    } else if (c === '"') {
      inString = !inString;
      if (start < 0) start = i;
      continue;
    }
    if (start < 0) start = i;
    value += c;
  }
  if (inString) return null;
  if (start >= 0) tokens.push({ value, raw: text.slice(start) });
  return tokens;
}

/** A preload flag of Node's command line, as read at one argument (`preloadFlagAt`). */
export interface PreloadFlag {
  flag: '--require' | '--import';
  value: string;
  /** Arguments it takes: 2 spaced (`--require X`), 1 with `=` (`--require=X`). */
  span: number;
}

/** The `--require`/`-r`/`--import` flag at `args[i]`, spaced or with `=`, or null. */
export function preloadFlagAt(args: readonly string[], i: number): PreloadFlag | null {
  const arg = args[i];
  if (arg === '--require' || arg === '-r' || arg === '--import') {
    return i + 1 < args.length ? { flag: arg === '--import' ? '--import' : '--require', value: args[i + 1], span: 2 } : null;
  }
  if (arg.startsWith('--require=')) return { flag: '--require', value: arg.slice('--require='.length), span: 1 };
  if (arg.startsWith('--import=')) return { flag: '--import', value: arg.slice('--import='.length), span: 1 };
  return null;
}

/** The arguments without the preload's flags (those whose value `names` the preload), or null when there is none. */
export function withoutPreloadFlag<T extends { value: string }>(args: readonly T[], names: (value: string) => boolean): T[] | null {
  const values = args.map((a) => a.value);
  const kept: T[] = [];
  let found = false;
  for (let i = 0; i < args.length; i++) {
    const flag = preloadFlagAt(values, i);
    if (flag === null) {
      kept.push(args[i]);
      continue;
    }
    if (names(flag.value)) found = true;
    else kept.push(...args.slice(i, i + flag.span));
    i += flag.span - 1;
  }
  return found ? kept : null;
}

/** The directory Node resolved the preload flag from: the working directory when the probe loads, at start. */
const START_CWD = process.cwd();

/** Builds the options; made once, at the first thread left without a probe. */
export class UnprobedThreadOptions {
  readonly #cwd = START_CWD;
  #own: Set<string> | null = null;
  readonly #verdicts = new Map<string, boolean>();

  #names = (value: string): boolean => {
    let verdict = this.#verdicts.get(value);
    if (verdict === undefined) {
      this.#own ??= ownEntries();
      verdict = namesPreload(value, this.#cwd, this.#own);
      if (this.#verdicts.size < 64) this.#verdicts.set(value, verdict);
    }
    return verdict;
  };

  /**
   * The options to start a thread with, given the app's, or null to start it as the app asked (it has an
   * `env` of its own, which is not copied). The app's options object is the prototype of the one returned:
   * every option is read from it as it is; only `execArgv` and `env` are set, and only where the preload's
   * flag was in them.
   */
  for(options: unknown): WorkerOptions | null {
    if (options !== undefined && (options === null || typeof options !== 'object' || (options as WorkerOptions).env !== undefined)) return null;
    const app = options as WorkerOptions | undefined;
    const added: PropertyDescriptorMap = {};
    const appArgv = Array.isArray(app?.execArgv) ? (app.execArgv as unknown[]) : null;
    const execArgv = appArgv ?? process.execArgv;
    if (execArgv.every((a) => typeof a === 'string')) {
      const kept = withoutPreloadFlag((execArgv as string[]).map((value) => ({ value })), this.#names);
      if (kept !== null) added.execArgv = own(kept.map((t) => t.value));
    }
    const nodeOptions = process.env.NODE_OPTIONS;
    const tokens = nodeOptions ? splitNodeOptions(nodeOptions) : null;
    const keptOptions = tokens ? withoutPreloadFlag(tokens, this.#names) : null;
    if (keptOptions !== null) {
      const env: NodeJS.ProcessEnv = { ...process.env };
      if (keptOptions.length > 0) env.NODE_OPTIONS = keptOptions.map((t) => t.raw).join(' ');
      else delete env.NODE_OPTIONS;
      added.env = own(env);
    } else if (added.execArgv === undefined && appArgv === null) {
      // Not found, and the thread inherits this one's options (those Node read at start, which the app may
      // since have taken out of process.env): the entry in the thread is told to stop.
      added.env = own({ ...process.env, [UNPROBED_THREAD_ENV]: '1' });
    }
    // An `execArgv` of the app's without the flag, and none in NODE_OPTIONS: the preload cannot run there.
    if (app !== undefined && Object.keys(added).length === 0) return app;
    return Object.create(app ?? Object.prototype, added) as WorkerOptions;
  }
}

function own(value: unknown): PropertyDescriptor {
  return { value, enumerable: true, configurable: true, writable: true };
}
