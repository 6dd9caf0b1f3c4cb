/**
 * ESM-only packages (p-queue 8, tinypool 1) never go through `Module._load`. Their adapters are applied to
 * the package's namespace (prototypes only: ESM exports are read-only), which reaches the probe one of two
 * ways, decided in each thread (modules imported by one thread are not the ones another imports):
 *
 * - Loaded here. Where Node can `require()` an ES module (>= 20.19, >= 22.12) and a scan of the source
 *   (`esm-scan.ts`) says which known packages the app can import, the preload loads exactly those, in the
 *   app's own module graph, and patches them before the app's code runs. No other thread, no cost for an app
 *   that imports none of them (most apps).
 * - Through loader hooks, the fallback when the scan cannot be sure (a computed `import()`, a TypeScript
 *   loader, a very large app) or Node cannot `require()` ESM: `module.register()` (Node >= 20.6) installs
 *   the hooks of `esm-loader.ts`, which make the main file of each known package hand its namespace to
 *   `globalThis[Symbol.for('leak-agent.esm')]`. They run on a thread of their own (about 40 ms of CPU and
 *   35 MB). A Node without `register` gets one notice; nothing else changes.
 *
 * Only when a known ES module package is installed where the app can find it; in a thread whose entry is
 * CommonJS, only once a file with a dynamic `import(` is about to be compiled.
 * @internal
 */
import type ModuleClass from 'node:module';
import { cjsModule } from './cjs';
import { loadedWorkerThreads } from './builtins';
import { join, dirname, resolve as resolvePath } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { ProbeContext } from './context';
import { packageAt, toFilePath, url } from '../../collector/paths';
import type { AdapterInstaller, PoolAdapter } from './adapters/adapter';
import type { LoaderData } from './esm-loader';
import { scanImports, importEntry, onCommentLine, type ScanState } from './esm-scan';
import { preloadFlagAt } from './thread-options';

/** The global the appended line calls. */
export const ESM_KEY = Symbol.for('leak-agent.esm');

/** Names the package of a `file://` URL inside node_modules (`@scope/name` or `name`), or null. */
function packageOf(url: string): string | null {
  return packageAt(toFilePath(url))?.name ?? null;
}

/** A folder and its parents. */
function upFrom(start: string, into: Set<string>): void {
  for (let dir = start; ; ) {
    into.add(dir);
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/**
 * Folders the thread's code resolves packages from: the main script's and its parents (an ES module's bare
 * imports resolve from its own file), and the working directory's for code that is not a file (`-e`) and for
 * CommonJS (whose `import()` callers can be anywhere; a superset is only a cheaper answer turned down).
 */
function lookupRoots(withCwd: boolean): string[] {
  const roots = new Set<string>();
  if (process.argv[1] && process.argv[1] !== '[worker eval]') upFrom(dirname(resolvePath(process.argv[1])), roots);
  if (withCwd || roots.size === 0) upFrom(process.cwd(), roots);
  return [...roots];
}

function isModulePackage(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { type?: string }).type === 'module';
  } catch {
    return false;
  }
}

/** ESM code given on the command line (`--input-type=module -e`) or to an eval worker, else null. */
function esmEvalCode(): string | null {
  const evalCode = (process as { _eval?: unknown })._eval;
  const main = process.argv[1];
  if ((main === undefined || main === '[worker eval]') && typeof evalCode === 'string') return evalCode;
  return null;
}

/**
 * True when this thread's entry is an ES module: a `.mjs` file, ESM `-e` code, or a file (not `.cjs`)
 * whose nearest package.json says `"type": "module"`.
 */
function entryIsEsm(): boolean {
  if (process.execArgv.some((a) => a === '--input-type=module' || a === '--experimental-default-type=module')) return true;
  const main = process.argv[1] ?? '';
  if (main.endsWith('.mjs') || main.endsWith('.mts')) return true;
  if (main && main !== '[worker eval]' && !main.endsWith('.cjs')) {
    for (const root of lookupRoots(false)) {
      const pkg = join(root, 'package.json');
      if (existsSync(pkg)) return isModulePackage(pkg);
    }
  }
  return false;
}

/** The files the app's own `--import` preloads name (they load before the entry, in the same graph). */
function importPreloads(): string[] {
  const files: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const preload = preloadFlagAt(args, i);
    if (preload === null) continue;
    i += preload.span - 1;
    const value = preload.value;
    if (preload.flag !== '--import' || !(value.startsWith('.') || value.startsWith('/'))) continue; // bare: a tool's
    files.push(resolvePath(value));
  }
  return files;
}

/**
 * The names of the known packages installed where the app can find them as ES module packages. A package
 * nested deeper in a dependency's own node_modules is not looked for (stated in the README).
 */
function reachableEsmPackages(roots: string[], names: string[]): string[] {
  const found: string[] = [];
  for (const root of roots) {
    for (const name of names) {
      const pkg = join(root, 'node_modules', name, 'package.json');
      if (existsSync(pkg) && isModulePackage(pkg)) found.push(name);
    }
  }
  return found;
}

/** A dynamic `import(` in source text. */
const DYNAMIC_IMPORT = /\bimport\s*\(/g;

/**
 * True when CommonJS source may load ES modules with a dynamic `import()`. Cheap: most files have no
 * `import`. An `import(` on a comment line (JSDoc types, `@typedef { import("./x.js").X }`, common in
 * packages) does not count; one in a string does (a false positive only costs a scan).
 */
export function mayImport(source: unknown): boolean {
  if (typeof source !== 'string' || !source.includes('import')) return false;
  DYNAMIC_IMPORT.lastIndex = 0;
  for (let m = DYNAMIC_IMPORT.exec(source); m !== null; m = DYNAMIC_IMPORT.exec(source)) {
    if (!onCommentLine(source, m.index)) return true;
  }
  return false;
}

/**
 * In a thread whose entry is CommonJS, ES modules are only reached through a dynamic `import()` (a
 * `require()` of an ES module goes through `Module._load`, which modules.ts watches, and not through loader
 * hooks), so nothing is done until a CommonJS file whose source holds an `import(` is about to be compiled
 * (modules.ts calls this before compiling each file): then the builtins' patches are all made (builtins.ts)
 * and the file is scanned for known ES module packages. Null once nothing is left to do.
 */
let beforeImporting: ((source: string, filename: string) => void) | null = null;

/** Called by the CommonJS load hook with each file's source before it is compiled; never throws. */
export function beforeCompile(source: unknown, filename: unknown): void {
  if (beforeImporting === null || !mayImport(source)) return;
  try {
    beforeImporting(source as string, typeof filename === 'string' ? filename : join(process.cwd(), '[eval]'));
  } catch {
    // never throw into the app's require
  }
}

/** Node >= 20.19 / 22.12: `require()` loads an ES module (without top-level await) synchronously. */
const requireLoadsEsm = (process.features as { require_module?: boolean }).require_module === true;

/**
 * `require()` of an ES module file, in the app's module graph (an `import` of it later gets this very
 * instance). Node versions that still flag it as experimental warn unless the caller lies in node_modules;
 * that one warning is kept from the app's stderr.
 */
function requireEsm(file: string): unknown {
  const emitWarning = process.emitWarning;
  process.emitWarning = function quiet(this: unknown, warning: unknown, ...rest: unknown[]): void {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: unknown } | undefined)?.type;
    if (type === 'ExperimentalWarning' && String((warning as Error)?.message ?? warning).includes('ES Module')) return;
    return Reflect.apply(emitWarning, this, [warning, ...rest]) as void;
  } as typeof process.emitWarning;
  try {
    // The module's own require: the probe may run from a bundle whose `require` knows only its own files.
    return cjsModule().createRequire(file)(file) as unknown;
  } finally {
    process.emitWarning = emitWarning;
  }
}

export function installEsmHooks(ctx: ProbeContext, installer: AdapterInstaller, adapters: readonly PoolAdapter[]): void {
  const byName = new Map(adapters.map((a) => [a.library, a]));
  const seen = new WeakSet<object>();
  const receive = (url: unknown, namespace: unknown): void => {
    try {
      if (typeof url !== 'string' || namespace === null || typeof namespace !== 'object' || seen.has(namespace)) return;
      seen.add(namespace);
      const name = packageOf(url);
      const adapter = name === null ? undefined : byName.get(name);
      if (adapter) installer.apply(adapter, namespace);
    } catch (err) {
      ctx.registry.notice(`leak-agent: could not adapt the ESM module ${String(url)} (${(err as Error)?.message ?? err}); not tracked`);
    }
  };
  try {
    Object.defineProperty(globalThis, ESM_KEY, { value: receive, configurable: true, enumerable: false, writable: false });
    ctx.undo.push(() => {
      // Modules already hooked call a no-op from now on; the hooks themselves cannot be unregistered.
      if ((globalThis as Record<symbol, unknown>)[ESM_KEY] === receive) delete (globalThis as Record<symbol, unknown>)[ESM_KEY];
    });
  } catch {
    return;
  }
  const names = [...byName.keys()];
  const esmEntry = entryIsEsm();
  const evalCode = esmEvalCode();
  // An ES module's imports of builtins go through no require hook: builtins.ts watches Node load them.
  if (esmEntry) ctx.builtins.watchLoads();
  // Which known ES module packages the thread can find: looked up when first needed (a CommonJS thread that
  // never compiles an import( never looks; ≈ 0.4 ms of file checks).
  let esmNames: Set<string> | null = null;
  const reachable = (): Set<string> => (esmNames ??= new Set(reachableEsmPackages(lookupRoots(!esmEntry || evalCode !== null), names)));

  // The loader hooks run on a thread of their own (≈ 40 ms of CPU and 35 MB at start-up, in each thread
  // that registers them, app worker threads included). They are the fallback: where Node can `require()`
  // an ES module and a scan of the source says which known packages the app can import, those are loaded
  // and patched here, and no hooks thread is started.
  let hooked = false;
  const registerHooks = (): void => {
    if (hooked || !ctx.active) return;
    hooked = true;
    register(ctx, names);
  };
  const loaded = new Set<string>();
  const state: ScanState = { files: new Set(), packages: new Set() };
  const prepare = (entries: string[], sources: { code: string; dir: string }[]): void => {
    // Nothing the app can import is one of them: nothing to do, in most apps.
    if (hooked || !ctx.active || reachable().size === 0) return;
    if (!requireLoadsEsm) return registerHooks();
    const { found, complete } = scanImports(reachable(), entries, sources, state);
    if (!complete) return registerHooks();
    for (const dirs of found.values()) {
      for (const dir of dirs) {
        if (loaded.has(dir)) continue;
        loaded.add(dir);
        if (!isModulePackage(join(dir, 'package.json'))) continue; // a CommonJS copy: modules.ts adapts it
        const file = importEntry(dir);
        if (file === null) return registerHooks();
        try {
          receive(url().pathToFileURL(file).href, requireEsm(file));
        } catch {
          return registerHooks(); // top-level await, or a package require() cannot load: the hooks can
        }
      }
    }
  };
  if (esmEntry) {
    if (evalCode !== null) prepare(importPreloads(), [{ code: evalCode, dir: process.cwd() }]);
    else prepare([...importPreloads(), process.argv[1]], []);
    return;
  }
  // A worker thread started from a file is told its file (process.argv[1]) only after the preloads ran, and
  // an ES module entry then starts loading asynchronously: decided on the next tick, before that module or
  // anything it imports is evaluated (its files are still being read).
  if (process.argv[1] === undefined && evalCode === null && loadedWorkerThreads()?.isMainThread === false) {
    process.nextTick(() => {
      try {
        if (!ctx.active || !entryIsEsm()) return;
        ctx.builtins.watchLoads();
        esmNames = null; // the roots now start from the worker's file
        prepare([...importPreloads(), process.argv[1]], []);
      } catch {
        // never throw into the app's worker
      }
    });
  }
  const whenImporting = (source: string, filename: string): void => {
    ctx.builtins.watchLoads();
    prepare([], [{ code: source, dir: dirname(filename) }]);
    if (hooked || reachable().size === 0) beforeImporting = null; // nothing left to do at later imports
  };
  // `node -e` code and an eval worker's code run without being compiled as a file: read here.
  if (evalCode !== null && mayImport(evalCode)) {
    whenImporting(evalCode, join(process.cwd(), '[eval]'));
    if (hooked || reachable().size === 0) return;
  }
  beforeImporting = whenImporting;
  ctx.undo.push(() => {
    if (beforeImporting === whenImporting) beforeImporting = null;
  });
}

function register(ctx: ProbeContext, names: string[]): void {
  // The public module: `register` is the one thing the CommonJS class (./cjs) lacks.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const register = (require('node:module') as typeof ModuleClass & { register?: (specifier: string, options: { data: LoaderData }) => void }).register;
  if (typeof register !== 'function') {
    ctx.registry.notice(`leak-agent: this Node (${process.version}) has no module.register(); ESM-only pools (${names.join(', ')}) are not tracked`);
    return;
  }
  try {
    register(url().pathToFileURL(join(__dirname, 'esm-loader.js')).href, { data: { packages: names } });
  } catch (err) {
    ctx.registry.notice(`leak-agent: could not register the ESM loader hooks (${(err as Error)?.message ?? err}); ESM-only pools are not tracked`);
  }
}
