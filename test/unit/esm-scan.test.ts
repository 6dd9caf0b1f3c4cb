import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { importsOf, scanImports, importEntry } from '../../agent/probe/esm-scan';

const ROOT = join(__dirname, '..', '..', '..');
const ESM = join(ROOT, 'test', 'fixtures', 'esm');
const KNOWN = new Set(['p-queue', 'tinypool']);

test('importsOf: static, re-exports, side-effect and literal dynamic imports; computed ones flagged', () => {
  const src = [
    "import a from 'a';",
    'import {\n  b1,\n  b2 as c,\n} from "b/sub";',
    "import * as ns from './rel.mjs';",
    "export { x } from '@s/pkg/x.js';",
    "export * from 'star';",
    "import 'side';",
    "const m = await import('dyn');",
    "const s = 'import me'; obj.import('not-this');",
    ' * @type {import("./types.js").T}',
    "// import old from 'commented-out';",
  ].join('\n');
  const { specifiers, computed } = importsOf(src);
  assert.deepEqual(specifiers.sort(), ['./rel.mjs', '@s/pkg/x.js', 'a', 'b/sub', 'dyn', 'side', 'star']);
  assert.equal(computed, false);
  assert.equal(importsOf('await import(name)').computed, true);
  assert.equal(importsOf('await import(`./x/${n}.js`)').computed, true);
  assert.equal(importsOf("await import('./a' + b)").computed, true);
  assert.equal(importsOf('const reimport = 1; x.import(y)').computed, false);
});

test('scanImports: follows relative files to a known package; a computed import() makes it incomplete', () => {
  const viaRelative = scanImports(KNOWN, [join(ESM, 'threads.mjs')]);
  assert.equal(viaRelative.complete, true);
  assert.deepEqual([...viaRelative.found.keys()], ['p-queue']);
  assert.deepEqual([...viaRelative.found.get('p-queue')!], [join(ROOT, 'node_modules', 'p-queue')]);
  assert.equal(scanImports(KNOWN, [join(ESM, 'computed-import.mjs')]).complete, false);
  // commander and ws declare no dependency on a known package: nothing found, and sure of it.
  const none = scanImports(KNOWN, [join(ESM, 'no-pool.mjs')]);
  assert.deepEqual([...none.found.keys()], []);
  assert.equal(none.complete, true);
  // A file that is not there as named (a TypeScript loader's `./x.js` for `./x.ts`): incomplete.
  assert.equal(scanImports(KNOWN, [], [{ code: "import './missing.js';", dir: ESM }]).complete, false);
  // An import-map specifier is not followed.
  assert.equal(scanImports(KNOWN, [], [{ code: "import x from '#internal';", dir: ESM }]).complete, false);
});

test('scanImports: a package is followed through the dependencies its package.json declares', () => {
  // piscina's package.json declares its own dependencies, none of them a known ESM package; p-queue does
  // appear once a source imports a package that depends on it, seen here from p-queue's own dependants.
  const viaPackage = scanImports(new Set(['eventemitter3']), [], [{ code: "import PQueue from 'p-queue';", dir: ROOT }]);
  assert.deepEqual([...viaPackage.found.keys()], ['eventemitter3']);
  assert.equal(viaPackage.complete, true);
});

test('importEntry: the file an import of the package loads', () => {
  assert.equal(importEntry(join(ROOT, 'node_modules', 'p-queue')), join(ROOT, 'node_modules', 'p-queue', 'dist', 'index.js'));
  assert.equal(importEntry(join(ROOT, 'node_modules', 'tinypool')), join(ROOT, 'node_modules', 'tinypool', 'dist', 'index.js'));
  assert.equal(importEntry(join(ROOT, 'node_modules', 'does-not-exist')), null);
});
