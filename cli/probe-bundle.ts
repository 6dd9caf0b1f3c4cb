/**
 * The self-contained probe source that `leak-agent attach` evaluates in a target which may not have
 * leak-agent installed (another machine, through an ssh tunnel). Built after `tsc` by `npm run build`
 * (`node dist/cli/probe-bundle.js`), which writes `dist/agent/probe-bundle.js`; `attach` reads that file and
 * rebuilds it in memory when it is missing or older than the compiled probe (a `tsc`-only build).
 *
 * Layout of the bundle (one function expression, nothing else):
 *
 *   (function leakAgentProbeBundle(targetRequire) {
 *     var modules = { 'agent/probe/index.js': function (exports, require, module, __filename, __dirname) {…},
 *                     'agent/probe/registry.js': …,  'collector/tags.js': …, … };   ← the module table
 *     function load(id) {…}            ← CommonJS semantics: cached, cycles see partial exports
 *     function makeRequire(from) {…}   ← './x' and '../y' resolve inside the table; 'node:*' goes to
 *     return load('agent/probe/index.js');                  targetRequire (the inspector's `require`),
 *   })                                                       whose `cache` it also passes on
 *   })
 *
 * Files get a `__dirname` under a root that is no real folder, so the probe's "own frame" test never takes
 * an app file for its own; the evaluated script is named without a slash, which the probe already treats
 * as internal, so its frames never become sites.
 *
 * The same table is also written as `dist/agent/probe-local.js`, a CommonJS module the preload loads instead
 * of the probe's ≈ 25 separate files (measured: 15–19 ms of CPU for the files, 5–6 ms for the one bundle,
 * in every process and every worker thread). It is called with the real `require` and the real `dist/`
 * folder as root, so `__dirname` (the ESM loader's path) and the probe's own-frame test see real paths.
 * @internal
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BUILD_LINE, CACHE_FILE_NAME, cacheBytes, loadCached } from '../agent/probe-cache';

/** Root the bundled files pretend to live under. */
export const BUNDLE_ROOT = '/leak-agent-attach/';
/** The `sourceURL` of the evaluated script (no slash: the probe's stack capture treats it as internal). */
export const BUNDLE_URL = 'leak-agent-attach-probe.js';
const ENTRY = 'agent/probe/index.js';
const FILE_NAME = 'probe-bundle.js';
/** The preload's copy: `module.exports = (bundle)`, called as `(require, distRoot + '/')`. */
export const LOCAL_FILE_NAME = 'probe-local.js';

/** The compiled `dist/` folder of this installation (this file is dist/cli/probe-bundle.js). */
function distRoot(): string {
  return join(__dirname, '..');
}

/** The files that go into the bundle, as table ids (`agent/probe/index.js`) -> absolute paths. */
function sources(dist: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.js')) files.set(relative(dist, full).split(sep).join('/'), full);
    }
  };
  walk(join(dist, 'agent', 'probe'));
  // The probe's only runtime imports outside agent/probe: small, dependency-free collector modules.
  for (const name of ['tags.js', 'paths.js']) files.set(`collector/${name}`, join(dist, 'collector', name));
  return files;
}

/**
 * The loader around the module table: plain ES2015, it runs in whatever Node the target is. `root`, when
 * given, is the real folder the files live under (the preload's copy). `outside` says what a relative path
 * that is not in the table does: throw (the probe: a target may have none of this package's files), or go
 * to `targetRequire` (the preload entry, whose other files are there, next to it).
 */
const loader = (entry: string, outside: 'throw' | 'require'): string => `
  var cache = Object.create(null);
  function dirOf(id) { var at = id.lastIndexOf('/'); return at < 0 ? '' : id.slice(0, at); }
  function resolve(from, spec) {
    var parts = dirOf(from) === '' ? [] : dirOf(from).split('/');
    var steps = spec.split('/');
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] === '.' || steps[i] === '') continue;
      if (steps[i] === '..') parts.pop(); else parts.push(steps[i]);
    }
    var base = parts.join('/');
    var candidates = [base, base + '.js', base + '/index.js'];
    for (var j = 0; j < candidates.length; j++) if (Object.prototype.hasOwnProperty.call(modules, candidates[j])) return candidates[j];
    return null;
  }
  function load(id) {
    var known = cache[id];
    if (known) return known.exports;
    var module = { exports: {}, id: id };
    cache[id] = module;
    modules[id].call(module.exports, module.exports, makeRequire(id), module, ROOT + id, ROOT + dirOf(id));
    return module.exports;
  }
  function makeRequire(from) {
    function require(spec) {
      if (typeof spec === 'string' && spec.charAt(0) === '.') {
        var id = resolve(from, spec);
        if (id !== null) return load(id);
        ${outside === 'require' ? 'return targetRequire(ROOT + dirOf(from) + "/" + spec);' : "throw new Error('leak-agent probe bundle: ' + spec + ' (from ' + from + ') is not in the bundle');"}
      }
      if (typeof spec === 'string' && spec.slice(0, 5) === 'node:') return targetRequire(spec);
      throw new Error('leak-agent probe bundle: only relative paths and node: builtins can be required, not ' + spec);
    }
    // The real module cache, where the target's require has one (agent/probe/cjs.ts finds Node's Module class there).
    if (targetRequire && targetRequire.cache) require.cache = targetRequire.cache;
    return require;
  }
  return load(${JSON.stringify(entry)});
`;

/** The module table of `files` (table ids -> compiled files) and the loader around it, as one function expression. */
function bundle(name: string, files: Map<string, string>, entry: string, outside: 'throw' | 'require'): string {
  const table = [...files].map(([id, file]) => {
    const text = readFileSync(file, 'utf8').replace(/^#!.*\n/, '').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
    return `${JSON.stringify(id)}: function (exports, require, module, __filename, __dirname) {\n${text}\n}`;
  });
  return `(function ${name}(targetRequire, root) {\n  var ROOT = root || ${JSON.stringify(BUNDLE_ROOT)};\n  var modules = {\n${table.join(',\n')}\n  };\n${loader(entry, outside)}})`;
}

/** Builds the bundle source from the compiled files under `dist`. */
export function bundleProbe(dist: string = distRoot()): string {
  return bundle('leakAgentProbeBundle', sources(dist), ENTRY, 'throw');
}

/** Newest modification time among the bundle's sources (ms). */
function newestSource(dist: string): number {
  let newest = 0;
  for (const file of sources(dist).values()) newest = Math.max(newest, statSync(file).mtimeMs);
  return newest;
}

/**
 * The bundle for `attach`: the built file when it is at least as new as the compiled probe, otherwise
 * built now (a few milliseconds) from the compiled files.
 */
export function loadProbeBundle(dist: string = distRoot()): string {
  const file = join(dist, 'agent', FILE_NAME);
  try {
    if (statSync(file).mtimeMs >= newestSource(dist)) return readFileSync(file, 'utf8');
  } catch {
    // missing: build it below
  }
  return bundleProbe(dist);
}

/**
 * The preload's V8 code cache (agent/probe-cache.ts): the probe is loaded from `local` and run once at
 * `sample` in this process the way the preload runs it, so that the functions it compiles are in the
 * cache, then taken out: installed with its ES module hooks (every thread installs them), the builtins it
 * patches loaded first (so their patches are made and compiled too), serving as an app thread does, read.
 * A cache made without the ES module hooks and the serving left their functions to be compiled in every
 * thread (0.25 ms of a worker thread's install and serve, wall clock); whole-process CPU moved less than
 * its noise: a trivial CommonJS file +3.6 -> +2.8 ms, 120 probed threads no change (a bigger cache, 95 KB
 * instead of 88, takes longer to read back).
 */
function writeCodeCache(local: string, id: string, dist: string): void {
  const cacheFile = join(dirname(local), CACHE_FILE_NAME);
  const { exports, script } = loadCached(local, join(dirname(local), 'no-cache-while-building'), require, dirname(local));
  const { Probe, serveThread } = (exports as (require: NodeRequire, root: string) => typeof import('../agent/probe'))(require, dist + sep);
  for (const name of ['node:net', 'node:child_process', 'node:worker_threads']) require(name);
  const probe = new Probe({ level: 'sample', maxHandles: 1000, maxSites: 1000 });
  probe.install();
  const stopServing = serveThread(probe);
  probe.read();
  stopServing();
  probe.detach();
  writeFileSync(cacheFile, cacheBytes(id, script));
}

/**
 * The preload's copy without comments, printed by TypeScript (a devDependency, there whenever the build
 * runs): every process and every worker thread reads this file, and without its comments it is a tenth
 * smaller and plain ASCII, which Node reads into a one-byte string (measured in a worker thread: 0.50 ms
 * to read the file with comments, 0.30 ms without). Kept as it is when TypeScript cannot be loaded.
 */
function withoutComments(source: string): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const ts = require('typescript') as typeof import('typescript');
    const file = ts.createSourceFile('probe-local.js', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
    return ts.createPrinter({ removeComments: true }).printFile(file).trimEnd();
  } catch {
    return source;
  }
}

/** The first line of the one-file preload entry (see writePreload). */
const PRELOAD_LINE = "'use strict'; // leak-agent preload build";

/**
 * Rewrites the preload entry `dist/agent/index.js` as one file holding the modules it loads at start-up
 * (`preload.js`, `config.js`, `probe-cache.js`) beside its own code; the rest it requires only when needed
 * (the probe's files in a `tsc`-only build, the collector at a report) still come from their files, next
 * to it. Every process and every worker thread loads the entry, and each further CommonJS file it loads
 * costs its resolution, read and compile: measured, whole-process CPU of a trivial script with the agent,
 * 0.4–1 ms less with one file (same run, ABBA, 24 rounds). A module inside runs only when required, so a
 * worker thread left without a probe runs the entry's few lines only. `tsc` writes the plain entry again
 * on the next build, which works as it is.
 */
function writePreload(dist: string): void {
  const entry = join(dist, 'agent', 'index.js');
  if (readFileSync(entry, 'utf8').startsWith(PRELOAD_LINE)) return; // written already since tsc ran
  const files = new Map(['index.js', 'preload.js', 'config.js', 'probe-cache.js'].map((name) => [`agent/${name}`, join(dist, 'agent', name)]));
  const text = bundle('leakAgentPreload', files, 'agent/index.js', 'require');
  const root = "require('node:path').dirname(__dirname) + require('node:path').sep";
  writeFileSync(entry, `${PRELOAD_LINE}\n// Built by cli/probe-bundle.ts from the compiled agent/index.ts, preload.ts, config.ts and probe-cache.ts.\n${withoutComments(`module.exports = ${text}(require, ${root});`)}\n`);
}

/**
 * The build step: writes `dist/agent/probe-bundle.js` (attach), `dist/agent/probe-local.js` (the preload's
 * probe) and its code cache, `probe-local.cache`, then the one-file preload entry.
 */
function main(): void {
  const dist = distRoot();
  const text = bundleProbe(dist);
  // Syntax check only (the function is not called here).
  new Function(`return ${text}`);
  const out = join(dist, 'agent', FILE_NAME);
  writeFileSync(out, text + '\n');
  const id = randomBytes(8).toString('hex');
  const local = join(dist, 'agent', LOCAL_FILE_NAME);
  writeFileSync(local, `${BUILD_LINE}${id}\n// Built by cli/probe-bundle.ts from the compiled probe (see there); loaded by agent/preload.ts.\n${withoutComments(`module.exports = ${text};`)}\n`);
  writeCodeCache(local, id, dist);
  writePreload(dist);
  process.stdout.write(`leak-agent: wrote ${relative(process.cwd(), out)} and ${LOCAL_FILE_NAME} (${sources(dist).size} modules, ${Math.round(text.length / 1024)} KiB) and its code cache\n`);
}

if (require.main === module) main();
