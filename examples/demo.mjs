// `npm run demo`: runs `leak-agent run` on both seed examples and prints what it finds.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'index.js');
// as-completed-map's Map is garbage once its main() returns, so its retained tasks are seen while it runs,
// past the threshold: 300 ms leaves a second of margin in its 1.5-2 s run on a fast machine.
const demos = [
  ['nested-pool-exit.js', 'a worker pool nobody terminates: the process cannot exit (stopped after 5 s)', '1000'],
  ['as-completed-map.js', 'settled task promises kept in a Map: memory grows', '300'],
];
let status = 0;
for (const [file, what, threshold] of demos) {
  console.log(`\n$ leak-agent run --timeout 5 --threshold ${threshold} -- node examples/${file}\n  (${what})\n`);
  const r = spawnSync(process.execPath, [cli, 'run', '--timeout', '5', '--threshold', threshold, '--', process.execPath, join('examples', file)], { cwd: root, stdio: 'inherit' });
  // 124: stopped after --timeout, as expected for the pool that cannot exit.
  if (r.status !== 0 && r.status !== 124) status = r.status ?? 1;
}
process.exit(status);
