/**
 * Node's CommonJS `Module` class, reached without `require('node:module')`: the public module also loads
 * the ES module loader and source maps (measured: 0.7 ms of a main thread's start-up; a CommonJS app never
 * loads them otherwise). Everything the probe uses is on the class itself (`_load`, `_cache`,
 * `_resolveFilename`, `prototype._compile`, `createRequire`, `builtinModules`, `syncBuiltinESMExports`);
 * only `register` needs the public module, required where it is used.
 *
 * The class is the constructor of any entry of `require.cache`: the preload's own `index.js` is there while
 * it loads the probe. The probe's one-file build (cli/probe-bundle.ts) passes the real `require.cache` on;
 * where there is none (an `attach` target's `require`), the public module.
 * @internal
 */
import type ModuleClass from 'node:module';
import { isLoaded } from './builtins';

type Module = typeof ModuleClass;

let known: Module | undefined;

export function cjsModule(): Module {
  if (known !== undefined) return known;
  const cache = (require as { cache?: Record<string, { constructor?: unknown } | undefined> }).cache;
  if (cache !== undefined && cache !== null) {
    for (const key in cache) {
      const candidate: unknown = cache[key]?.constructor;
      const shape = candidate as { _load?: unknown; createRequire?: unknown };
      if (typeof candidate === 'function' && typeof shape._load === 'function' && typeof shape.createRequire === 'function') return (known = candidate as Module);
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (known = require('node:module') as Module);
}

/**
 * `syncBuiltinESMExports()`, only where it can matter: it updates the ES module views of builtins that ES
 * code already imported, and there are none before Node has loaded its ES module loader (a CommonJS app's
 * start-up, and so most preloads). Node versions without `process.moduleLoadList` always sync.
 */
export function syncBuiltinEsmViews(): void {
  if (isLoaded('internal/modules/esm/loader')) cjsModule().syncBuiltinESMExports();
}
