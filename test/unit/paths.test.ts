/** The package a loaded file lies in (collector/paths.ts), as the module hooks ask for every file of node_modules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packageAt } from '../../collector/paths';

test('packageAt: the last node_modules decides, scoped names keep their scope, files outside packages are null', () => {
  assert.deepEqual(packageAt('/app/node_modules/pg-pool/index.js'), { name: 'pg-pool', dir: '/app/node_modules/pg-pool' });
  assert.deepEqual(packageAt('/app/node_modules/@scope/pool/lib/a/b.js'), { name: '@scope/pool', dir: '/app/node_modules/@scope/pool' });
  assert.deepEqual(packageAt('/app/node_modules/a/node_modules/generic-pool/lib/Pool.js'), { name: 'generic-pool', dir: '/app/node_modules/a/node_modules/generic-pool' });
  assert.deepEqual(packageAt('/app/node_modules/tarn'), { name: 'tarn', dir: '/app/node_modules/tarn' });
  assert.equal(packageAt('/app/lib/node_modules.js'), null);
  assert.equal(packageAt('/app/src/pool.js'), null);
});
