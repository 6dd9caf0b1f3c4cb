/**
 * Sees libraries as they load, so adapters can be applied whether the app is CJS or ESM (an ESM `import`
 * of a CJS package goes through `Module._load` too) and whether the library loaded before or after the
 * agent (already-loaded modules are found in `require.cache`).
 * @internal
 */
import { cjsModule } from './cjs';
import { sep } from 'node:path';
import type { ProbeContext } from './context';
import { packageAt } from '../../collector/paths';
import { beforeCompile } from './esm-hooks';
import type { AdapterInstaller, PoolAdapter } from './adapters/adapter';

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
interface ModuleInternals {
  _load: Load;
  _resolveFilename(request: string, parent: unknown, isMain?: boolean): string;
}

const NM = `${sep}node_modules${sep}`;

/** Installs the load hook; returns nothing, undo goes through the patcher. */
export function installModuleHook(ctx: ProbeContext, installer: AdapterInstaller, adapters: readonly PoolAdapter[]): void {
  const byName = new Map(adapters.map((a) => [a.library, a]));
  const applied = new WeakMap<object, unknown>();
  /** Package main file per package folder, resolved once. */
  const mains = new Map<string, string | null>();
  const Module = cjsModule();
  const M = Module as unknown as ModuleInternals;

  function mainOf(pkgDir: string): string | null {
    let main = mains.get(pkgDir);
    if (main === undefined) {
      try {
        main = M._resolveFilename(pkgDir, null, false);
      } catch {
        main = null;
      }
      mains.set(pkgDir, main);
    }
    return main;
  }

  /** The adapter of the package a path lies in (any file of it), or undefined. */
  function packageOf(file: string): { adapter: PoolAdapter; pkgDir: string } | undefined {
    const pkg = packageAt(file);
    const adapter = pkg ? byName.get(pkg.name) : undefined;
    return adapter ? { adapter, pkgDir: pkg!.dir } : undefined;
  }

  /** The adapter for a loaded file, when that file is a package's main entry. */
  function adapterForFile(file: string): PoolAdapter | undefined {
    const pkg = packageOf(file);
    return pkg && mainOf(pkg.pkgDir) === file ? pkg.adapter : undefined;
  }

  function adapt(adapter: PoolAdapter, exports: unknown): unknown {
    if (exports === null || (typeof exports !== 'object' && typeof exports !== 'function')) return exports;
    const known = applied.get(exports);
    if (known !== undefined) return known;
    let result: unknown = exports;
    try {
      result = installer.apply(adapter, exports);
    } catch (err) {
      ctx.registry.notice(`leak-agent: could not adapt ${adapter.library} (${(err as Error)?.message ?? err}); not tracked`);
    }
    applied.set(exports, result);
    // The replaced value may come back through `_load` (a later require of the same file): not again.
    if (result !== null && (typeof result === 'object' || typeof result === 'function')) applied.set(result as object, result);
    return result;
  }

  /**
   * When the exports value itself is replaced (a class or factory behind a Proxy), the module's cache entry
   * gets it too: an ESM `import` of a CJS package reads `module.exports` from there, not `_load`'s result.
   */
  function adaptCached(file: string, adapter: PoolAdapter, exports: unknown): unknown {
    const result = adapt(adapter, exports);
    if (result !== exports) {
      const mod = (Module as unknown as { _cache: Record<string, { exports: unknown } | undefined> })._cache[file];
      if (mod && mod.exports === exports) ctx.patcher.replace(mod, 'exports', result);
    }
    return result;
  }

  /**
   * The exports value is adapted as the package's main file finishes evaluating, before `Module.prototype
   * .load` returns: that is where Node snapshots `module.exports` for an ESM `import` of a CJS package (its
   * CJS cache for the ESM loader), which never reads `_load`'s result nor the `require.cache` entry later.
   * So a replaced factory export (p-limit's `pLimit` behind a Proxy) reaches ESM importers and `require`
   * callers alike. (`_load` below still covers packages loaded before the agent.)
   */
  ctx.patcher.wrap((Module as unknown as { prototype: object }).prototype, '_compile', (original) =>
    function _compile(this: unknown, content: unknown, filename: unknown) {
      // A CommonJS file about to run a dynamic import(): the ESM loader hooks must be there first.
      beforeCompile(content, filename);
      // eslint-disable-next-line prefer-rest-params
      const result = Reflect.apply(original, this, arguments);
      try {
        const adapter = typeof filename === 'string' && filename.includes(NM) ? adapterForFile(filename) : undefined;
        const mod = this as { exports?: unknown } | null;
        if (adapter && mod !== null && typeof mod === 'object') {
          const adapted = adapt(adapter, mod.exports);
          // Through the patcher, so that detach gives the module its own exports back.
          if (adapted !== mod.exports) ctx.patcher.replace(mod, 'exports', adapted);
        }
      } catch {
        // never throw into the app's require
      }
      return result;
    },
  );

  ctx.patcher.wrap(Module, '_load', (original) =>
    function _load(this: unknown, request: unknown) {
      // eslint-disable-next-line prefer-rest-params
      const exports = Reflect.apply(original, this, arguments);
      if (ctx.builtins.waiting) ctx.builtins.loaded(request, exports);
      if (typeof request !== 'string') return exports;
      // Cheap filter first: only bare names of known packages or absolute paths inside node_modules.
      const bare = byName.get(request);
      try {
        if (bare) {
          // eslint-disable-next-line prefer-rest-params
          const file = M._resolveFilename(request, arguments[1], false);
          return adapterForFile(file) === bare ? adaptCached(file, bare, exports) : exports;
        }
        if (request.includes(NM)) {
          let file = request;
          // `require('/abs/node_modules/pkg')` names the package folder: resolve it to its main file.
          if (adapterForFile(file) === undefined && packageOf(file) !== undefined) {
            // eslint-disable-next-line prefer-rest-params
            file = M._resolveFilename(request, arguments[1], false);
          }
          const adapter = adapterForFile(file);
          if (adapter) return adaptCached(file, adapter, exports);
        }
      } catch {
        // never throw into the app
      }
      return exports;
    },
  );

  // Libraries loaded before the agent.
  const cache = (Module as unknown as { _cache: Record<string, { exports: unknown } | undefined> })._cache;
  for (const file of Object.keys(cache)) {
    const adapter = adapterForFile(file);
    const mod = cache[file];
    if (adapter && mod) {
      const result = adapt(adapter, mod.exports);
      if (result !== mod.exports) ctx.registry.notice(`leak-agent: ${adapter.library} was loaded before the agent; pools made with its default export are tracked from their first use`);
    }
  }
}
