/**
 * ESM-only packages (p-queue 8, tinypool 1, p-timeout 6) never go through `Module._load`. From the CJS
 * preload, `module.register()` (Node >= 20.6) installs the loader hooks of `esm-loader.ts`, which make the
 * main file of each known package hand its namespace to `globalThis[Symbol.for('leak-agent.esm')]`; this
 * callback applies the package's adapter to it (prototypes only: ESM exports are read-only).
 *
 * Registered in the main thread and again in each app worker thread (hooks registered in one thread do not
 * apply to modules imported by another), at start-up when the thread's entry is ESM, and only once a
 * dynamic `import(` is about to be compiled when it is CommonJS. A Node without `register` gets one notice;
 * nothing else changes.
 * @internal
 */
import Module from 'node:module';
import { join, dirname, resolve as resolvePath } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { ProbeContext } from './context';
import { packageAt, toFilePath } from '../../collector/paths';
import type { AdapterInstaller, PoolAdapter } from './adapters/adapter';
import type { LoaderData } from './esm-loader';

/** The global the appended line calls. */
export const ESM_KEY = Symbol.for('leak-agent.esm');

/** Names the package of a `file://` URL inside node_modules (`@scope/name` or `name`), or null. */
function packageOf(url: string): string | null {
  return packageAt(toFilePath(url))?.name ?? null;
}

/** Folders the app resolves packages from: the working directory and the main script's, and their parents. */
function lookupRoots(): string[] {
  const starts = [process.cwd()];
  if (process.argv[1]) starts.push(dirname(resolvePath(process.argv[1])));
  const roots = new Set<string>();
  for (let dir of starts) {
    for (;;) {
      roots.add(dir);
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return [...roots];
}

function isModulePackage(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { type?: string }).type === 'module';
  } catch {
    return false;
  }
}

/**
 * True when this thread's entry is an ES module: a `.mjs` file, ESM `-e` code, or a file (not `.cjs`)
 * whose nearest package.json says `"type": "module"`.
 */
function entryIsEsm(roots: string[]): boolean {
  if (process.execArgv.some((a) => a === '--input-type=module' || a === '--experimental-default-type=module')) return true;
  const main = process.argv[1] ?? '';
  if (main.endsWith('.mjs') || main.endsWith('.mts')) return true;
  if (main && !main.endsWith('.cjs')) {
    for (const root of roots) {
      const pkg = join(root, 'package.json');
      if (existsSync(pkg)) return isModulePackage(pkg);
    }
  }
  return false;
}

/**
 * True when one of the packages is installed where the app can find it and is an ES module package. A
 * package nested deeper in a dependency's own node_modules is not looked for (stated in the README).
 */
function esmPackagesReachable(roots: string[], names: string[]): boolean {
  for (const root of roots) {
    for (const name of names) {
      const pkg = join(root, 'node_modules', name, 'package.json');
      if (existsSync(pkg) && isModulePackage(pkg)) return true;
    }
  }
  return false;
}

/** A dynamic `import(` in source text. */
const DYNAMIC_IMPORT = /\bimport\s*\(/g;

/**
 * True when CommonJS source may load ES modules with a dynamic `import()`. Cheap: most files have no
 * `import`. An `import(` on a comment line (JSDoc types, `@typedef { import("./x.js").X }`, common in
 * packages) does not count; one in a string does (a false positive only costs the hooks thread).
 */
export function mayImport(source: unknown): boolean {
  if (typeof source !== 'string' || !source.includes('import')) return false;
  DYNAMIC_IMPORT.lastIndex = 0;
  for (let m = DYNAMIC_IMPORT.exec(source); m !== null; m = DYNAMIC_IMPORT.exec(source)) {
    const lineStart = source.lastIndexOf('\n', m.index) + 1;
    const before = source.slice(lineStart, m.index).trimStart();
    if (before.startsWith('*') || before.startsWith('/*') || before.includes('//')) continue;
    return true;
  }
  return false;
}

/**
 * In a thread whose entry is CommonJS, ES modules are only reached through a dynamic `import()` (a
 * `require()` of an ES module goes through `Module._load`, which modules.ts watches, and not through loader
 * hooks), so the hooks thread is started only when that can happen: as the first CommonJS file whose source
 * holds an `import(` is compiled (modules.ts calls this before compiling each file), or at once for `-e`
 * code that does. Null once decided.
 */
let deferredRegister: (() => void) | null = null;

/** Called by the CommonJS load hook with each file's source before it is compiled; never throws. */
export function beforeCompile(source: unknown): void {
  if (deferredRegister === null || !mayImport(source)) return;
  const register = deferredRegister;
  deferredRegister = null;
  try {
    register();
  } catch {
    // never throw into the app's require
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
  // The hooks run on a thread of their own (≈ 30-50 ms of CPU and 35 MB at start-up, in each thread that
  // registers them, app worker threads included): only for an app that can import one of these packages
  // as ESM, and in a CommonJS thread only once it can import at all (see deferredRegister).
  const roots = lookupRoots();
  const names = [...byName.keys()];
  const registerNow = (): void => register(ctx, names);
  if (entryIsEsm(roots)) {
    registerNow();
    return;
  }
  const whenImporting = (): void => {
    if (ctx.active && esmPackagesReachable(lookupRoots(), names)) registerNow();
  };
  // `node -e` code and an eval worker's code run without being compiled as a file: read here.
  const evalCode = (process as { _eval?: unknown })._eval;
  const main = process.argv[1];
  if ((main === undefined || main === '[worker eval]') && typeof evalCode === 'string' && /\bimport\b/.test(evalCode)) {
    whenImporting();
    return;
  }
  deferredRegister = whenImporting;
  ctx.undo.push(() => {
    if (deferredRegister === whenImporting) deferredRegister = null;
  });
}

function register(ctx: ProbeContext, names: string[]): void {
  const register = (Module as unknown as { register?: (specifier: string, options: { data: LoaderData }) => void }).register;
  if (typeof register !== 'function') {
    ctx.registry.notice(`leak-agent: this Node (${process.version}) has no module.register(); ESM-only pools (${names.join(', ')}) are not tracked`);
    return;
  }
  try {
    register(pathToFileURL(join(__dirname, 'esm-loader.js')).href, { data: { packages: names } });
  } catch (err) {
    ctx.registry.notice(`leak-agent: could not register the ESM loader hooks (${(err as Error)?.message ?? err}); ESM-only pools are not tracked`);
  }
}
