/**
 * Which of the ESM-only packages the adapters know can an ES module graph import? Answered from the source
 * text, before the graph loads, so that the agent can patch exactly those packages and start no loader-hooks
 * thread (about 40 ms of CPU in every thread that registers one) for an app that never imports them.
 *
 * The scan follows the app's own files through their literal import specifiers (`import … from 'x'`,
 * `export … from 'x'`, `import 'x'`, `import('x')`), and a package through the dependencies its
 * package.json declares, not its source: a package can only import what it depends on. It gives up (and the
 * caller falls back to the loader hooks) on what it cannot follow: an `import()` of a computed specifier
 * in the app's files, a `#` import-map specifier, a relative file it cannot find (a TypeScript loader
 * mapping `./x.js` to `./x.ts`), or more files and packages than its budget.
 *
 * Over-reporting only costs an early load of a package; a known package missed would go untracked, which is
 * why every doubt ends in "incomplete".
 * @internal
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath, sep } from 'node:path';
import { cjsModule } from './cjs';
import { url } from '../../collector/paths';

/** Folders where a known package was found, by package name. */
export type Found = Map<string, Set<string>>;

export interface ScanResult {
  /** Known packages the graph can import, each with the folders it resolves to. */
  found: Found;
  /** False when something could not be followed: the caller must not rely on `found` alone. */
  complete: boolean;
}

/** Files and package.json reads a scan may make before it gives up (a large app: fall back to the hooks). */
const BUDGET = 400;
/** App files larger than this are not read (a bundle): incomplete. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** `import … from 'x'`, `export … from 'x'`, `import 'x'`; the specifier in group 1. */
const STATIC = /(?:^|[^\w$.])(?:import|export)\s*(?:[\w$*{}\s,]*?\bfrom\s*)?(["'])([^"'\n]+)\1/g;
/** `import(` and what follows it: a literal specifier in group 2, anything else means a computed one. */
const DYNAMIC = /(?:^|[^\w$.])import\s*\(\s*(?:(["'`])([^"'`\n$]+)\1\s*[,)])?/g;

/** The specifiers a source text imports: literal ones, and whether a computed `import()` is there too. */
export function importsOf(source: string): { specifiers: string[]; computed: boolean } {
  const specifiers: string[] = [];
  let computed = false;
  if (!source.includes('import') && !source.includes('export')) return { specifiers, computed };
  STATIC.lastIndex = 0;
  for (let m = STATIC.exec(source); m !== null; m = STATIC.exec(source)) {
    if (!onCommentLine(source, m.index + 1)) specifiers.push(m[2]);
  }
  DYNAMIC.lastIndex = 0;
  for (let m = DYNAMIC.exec(source); m !== null; m = DYNAMIC.exec(source)) {
    if (onCommentLine(source, m.index + 1)) continue;
    if (m[2] !== undefined) specifiers.push(m[2]);
    else computed = true;
  }
  return { specifiers, computed };
}

/**
 * An import on a line that is a comment (JSDoc types: `@type {import("./x").X}`, commented-out code) does
 * not count. Block comments spanning lines are only seen through their usual leading `*`.
 */
export function onCommentLine(source: string, at: number): boolean {
  const before = source.slice(source.lastIndexOf('\n', at) + 1, at).trimStart();
  return before.startsWith('*') || before.startsWith('/*') || before.includes('//');
}

/** Builtin module names, made at the first scan. */
let builtins: Set<string> | null = null;

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** The folder `name` resolves to from `fromDir` (Node's node_modules lookup), or null. */
export function findPackage(name: string, fromDir: string): string | null {
  for (let dir = fromDir; ; ) {
    // Concatenated, not path.join: this runs for every package the scan follows, in every parent folder.
    const candidate = `${dir.endsWith(sep) ? dir : dir + sep}node_modules${sep}${name}`;
    if (existsSync(`${candidate}${sep}package.json`)) return candidate;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** What earlier scans of one thread have followed already: a later scan does not read it again. */
export interface ScanState {
  files: Set<string>;
  packages: Set<string>;
}

/**
 * Scans the graph from `entries` (app files) and `sources` (code that is not a file: `-e`, with the folder
 * it resolves from) for the packages in `known`. With `state`, files and packages an earlier scan followed
 * are skipped (their finds were reported then).
 */
export function scanImports(
  known: ReadonlySet<string>,
  entries: string[],
  sources: { code: string; dir: string }[] = [],
  state: ScanState = { files: new Set(), packages: new Set() },
): ScanResult {
  const found: Found = new Map();
  let complete = true;
  let budget = BUDGET;
  const { files, packages } = state;
  const fileQueue: string[] = [];
  const packageQueue: string[] = [];

  const addFound = (name: string, dir: string): void => {
    let dirs = found.get(name);
    if (!dirs) found.set(name, (dirs = new Set()));
    dirs.add(dir);
  };
  const visitPackage = (name: string, fromDir: string): void => {
    const dir = findPackage(name, fromDir);
    if (dir === null) return; // not installed: the app's import fails by itself, nothing to patch
    if (known.has(name)) addFound(name, dir);
    else if (!packages.has(dir)) {
      packages.add(dir);
      packageQueue.push(dir);
    }
  };
  const follow = (specifier: string, fromDir: string): void => {
    if (specifier.startsWith('node:') || (builtins ??= new Set(cjsModule().builtinModules)).has(specifier) || specifier.startsWith('data:')) return;
    if (specifier.startsWith('#') || /^[a-z][a-z0-9+.-]*:/i.test(specifier) && !specifier.startsWith('file:')) {
      complete = false; // import maps, http: and other schemes are not followed
      return;
    }
    if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:')) {
      let file: string;
      try {
        file = specifier.startsWith('file:') ? url().fileURLToPath(specifier) : resolvePath(fromDir, specifier);
      } catch {
        complete = false;
        return;
      }
      if (!files.has(file)) {
        files.add(file);
        fileQueue.push(file);
      }
      return;
    }
    visitPackage(packageName(specifier), fromDir);
  };
  const readSource = (code: string, dir: string): void => {
    const { specifiers, computed } = importsOf(code);
    if (computed) complete = false;
    for (const s of specifiers) follow(s, dir);
  };

  for (const { code, dir } of sources) readSource(code, dir);
  for (const entry of entries) {
    const file = resolvePath(entry);
    if (!files.has(file)) {
      files.add(file);
      fileQueue.push(file);
    }
  }

  while ((fileQueue.length > 0 || packageQueue.length > 0) && complete) {
    if (--budget < 0) return { found, complete: false };
    const file = fileQueue.pop();
    if (file !== undefined) {
      try {
        if (statSync(file).size > MAX_FILE_BYTES) {
          complete = false;
          continue;
        }
        readSource(readFileSync(file, 'utf8'), dirname(file));
      } catch {
        complete = false; // not there as named (a loader maps it), or unreadable
      }
      continue;
    }
    const dir = packageQueue.pop()!;
    let pkg: PackageJson;
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    } catch {
      continue; // a broken package.json: the app's import of it fails by itself
    }
    for (const deps of [pkg.dependencies, pkg.optionalDependencies, pkg.peerDependencies]) {
      if (deps && typeof deps === 'object') for (const name of Object.keys(deps)) visitPackage(name, dir);
    }
  }
  return { found, complete };
}

/**
 * The file an `import` of the package's main entry loads: the `"."` export under `import`, `node` or
 * `default` (nested conditions followed), else `main`, else `index.js`. Null when the package has no such
 * entry (then it cannot be patched without the hooks).
 */
export function importEntry(dir: string): string | null {
  let pkg: { exports?: unknown; main?: unknown };
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof pkg;
  } catch {
    return null;
  }
  let target: unknown = pkg.exports;
  if (target !== null && typeof target === 'object' && !Array.isArray(target) && Object.keys(target).some((k) => k.startsWith('.'))) {
    target = (target as Record<string, unknown>)['.'];
  }
  for (let depth = 0; depth < 8 && target !== null && typeof target === 'object' && !Array.isArray(target); depth++) {
    const conditions = target as Record<string, unknown>;
    target = ['import', 'node', 'default'].map((c) => conditions[c]).find((t) => t !== undefined);
  }
  if (target === undefined && pkg.exports === undefined) target = typeof pkg.main === 'string' ? pkg.main : 'index.js';
  if (typeof target !== 'string') return null;
  const file = resolvePath(dir, target);
  // A legacy `main` may leave out the extension or name a folder, as ESM resolution allows for it.
  return [file, `${file}.js`, join(file, 'index.js')].find((f) => existsSync(f) && statSync(f).isFile()) ?? null;
}
