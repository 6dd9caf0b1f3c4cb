/**
 * ESM-only packages (p-queue 8, tinypool 1, p-timeout 6) never go through `Module._load`. From the CJS
 * preload, `module.register()` (Node >= 20.6) installs the loader hooks of `esm-loader.ts`, which make the
 * main file of each known package hand its namespace to `globalThis[Symbol.for('leak-agent.esm')]`; this
 * callback applies the package's adapter to it (prototypes only: ESM exports are read-only).
 *
 * Registered in the main thread and again in each app worker thread (hooks registered in one thread do not
 * apply to modules imported by another). A Node without `register` gets one notice; nothing else changes.
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

/**
 * True when the app is ESM (its entry is `.mjs`, or its package says `"type": "module"`), or when one of the
 * packages is installed where the app can find it and is an ES module package. A package nested deeper in
 * a dependency's own node_modules is not looked for (stated in the README).
 */
function esmPackagesReachable(names: string[]): boolean {
  const roots = lookupRoots();
  const main = process.argv[1] ?? '';
  if (main.endsWith('.mjs') || main.endsWith('.mts')) return true;
  const isModulePackage = (file: string): boolean => {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { type?: string }).type === 'module';
    } catch {
      return false;
    }
  };
  if (main && !main.endsWith('.cjs')) {
    for (const root of roots) {
      const pkg = join(root, 'package.json');
      if (existsSync(pkg)) {
        if (isModulePackage(pkg)) return true;
        break;
      }
    }
  }
  for (const root of roots) {
    for (const name of names) {
      const pkg = join(root, 'node_modules', name, 'package.json');
      if (existsSync(pkg) && isModulePackage(pkg)) return true;
    }
  }
  return false;
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
  // The hooks run on a thread of their own (≈ 35 MB and 90 ms of CPU at start-up, measured with `node -e 0`):
  // only for an app that can import one of these packages as ESM.
  if (!esmPackagesReachable([...byName.keys()])) return;
  const register = (Module as unknown as { register?: (specifier: string, options: { data: LoaderData }) => void }).register;
  if (typeof register !== 'function') {
    ctx.registry.notice(`leak-agent: this Node (${process.version}) has no module.register(); ESM-only pools (${[...byName.keys()].join(', ')}) are not tracked`);
    return;
  }
  try {
    register(pathToFileURL(join(__dirname, 'esm-loader.js')).href, { data: { packages: [...byName.keys()] } });
  } catch (err) {
    ctx.registry.notice(`leak-agent: could not register the ESM loader hooks (${(err as Error)?.message ?? err}); ESM-only pools are not tracked`);
  }
}
