/**
 * Loads the one-file probe (`probe-local.js`) with a V8 code cache (`probe-local.cache`), so that each
 * process and each worker thread deserializes the probe's compiled functions instead of parsing and compiling
 * them again: about 150 KiB of source, paid in every app worker thread too.
 *
 * The build (`cli/probe-bundle.ts`) writes both files with one random build id: on the bundle's first line,
 * and as the first bytes of the cache, made after the probe has been installed once so that the functions
 * install runs are in it. The id is checked before V8 sees the cache (V8 itself only checks its version,
 * its flags and the source's length, and a rebuilt bundle of the same length must not run stale code). A
 * cache V8 turns down (another Node, other V8 flags) costs only the usual compile.
 * @internal
 */
import { readFileSync } from 'node:fs';
import { Script } from 'node:vm';

export const CACHE_FILE_NAME = 'probe-local.cache';
/** The first line of `probe-local.js`, up to the id. */
export const BUILD_LINE = "'use strict'; // leak-agent probe build ";
/** Bytes of the id at the start of the cache file (hex). */
const ID_BYTES = 16;

/** The CommonJS wrapper Node would put around the file. */
function wrap(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;
}

/** The build id on the bundle's first line, or null. */
export function buildIdOf(source: string): string | null {
  if (!source.startsWith(BUILD_LINE)) return null;
  const id = source.slice(BUILD_LINE.length, BUILD_LINE.length + ID_BYTES);
  return /^[0-9a-f]{16}$/.test(id) ? id : null;
}

/** The cache bytes for `id`, or undefined when the file is missing or from another build. */
function cacheFor(cacheFile: string, id: string | null): Buffer | undefined {
  if (id === null) return undefined;
  try {
    const bytes = readFileSync(cacheFile);
    return bytes.length > ID_BYTES && bytes.toString('latin1', 0, ID_BYTES) === id ? bytes.subarray(ID_BYTES) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compiles and runs `file` as CommonJS with `require` as its require, using the cache next to it when it
 * belongs to this build. Returns the module's exports and the script (the build makes the cache from it).
 */
export function loadCached(file: string, cacheFile: string, require: NodeRequire, dirname: string): { exports: unknown; script: Script } {
  const source = readFileSync(file, 'utf8');
  const cachedData = cacheFor(cacheFile, buildIdOf(source));
  const script = new Script(wrap(source), { filename: file, cachedData });
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, require, module, file, dirname);
  return { exports: module.exports, script };
}

/** The cache file's bytes: the build id, then V8's data. */
export function cacheBytes(id: string, script: Script): Buffer {
  return Buffer.concat([Buffer.from(id, 'latin1'), script.createCachedData()]);
}
