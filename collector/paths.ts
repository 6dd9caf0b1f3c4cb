/**
 * File names as V8 reports them (plain paths in CJS, `file://` URLs in ESM) made into paths, once, and the
 * npm package a path lies in. Small and dependency-free: the probe loads it in the app's process.
 */
import { sep } from 'node:path';

let loadedUrl: typeof import('node:url') | undefined;
/**
 * `node:url`, loaded on first use: the probe needs it only for ES module file names, and a worker thread
 * has not loaded it at start-up (the probe runs in each of the app's threads).
 */
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const url = (): typeof import('node:url') => (loadedUrl ??= require('node:url') as typeof import('node:url'));

const NM = `${sep}node_modules${sep}`;

/** A `file://` URL as a path; anything else as it is. */
export function toFilePath(name: string): string {
  if (!name.startsWith('file://')) return name;
  try {
    return url().fileURLToPath(name);
  } catch {
    return name;
  }
}

/** The package a path lies in (`@scope/name` or `name`) and its folder, from the last `node_modules`. */
export function packageAt(file: string): { name: string; dir: string } | null {
  const at = file.lastIndexOf(NM);
  if (at < 0) return null;
  // Called for every file of node_modules the app loads: two indexOf and slices of the (normalized) path,
  // no split and no path.join (4 us a call while cold, 0.2 ms of a start-up that loads 60 such files).
  const start = at + NM.length;
  let end = file.indexOf(sep, start);
  if (end >= 0 && file.charCodeAt(start) === 64 /* @ */) end = file.indexOf(sep, end + 1);
  if (end < 0) end = file.length;
  const name = file.slice(start, end);
  return { name: sep === '/' ? name : name.split(sep).join('/'), dir: file.slice(0, end) };
}
