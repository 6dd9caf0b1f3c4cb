// One measured run in a fresh process: node worker.mjs <ours|memlab|json> <file>
// Prints one JSON line: { tool, ms, maxRssBytes, nodes, ok, error? }.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const [tool, file] = process.argv.slice(2);

async function run() {
  if (tool === 'ours') {
    const S = require(join(here, '..', '..', 'dist', 'collector', 'snapshot', 'index.js'));
    const g = await S.loadSnapshot(file, { progress: false });
    S.retainerTree(g);
    const dom = S.dominatorTree(g);
    return { nodes: g.nodeCount, check: dom.retained[g.rootIndex] };
  }
  if (tool === 'memlab') {
    const req = createRequire(join(here, 'memlab', 'package.json'));
    const { getFullHeapFromFile } = req('@memlab/heap-analysis');
    const heap = await getFullHeapFromFile(file);
    let nodes = 0;
    heap.nodes.forEach(() => void nodes++);
    return { nodes };
  }
  if (tool === 'json') {
    const s = JSON.parse(readFileSync(file, 'utf8'));
    return { nodes: s.snapshot.node_count };
  }
  throw new Error(`unknown tool ${tool}`);
}

const t0 = process.hrtime.bigint();
let result;
try {
  const r = await run();
  result = { tool, ok: true, ms: Number(process.hrtime.bigint() - t0) / 1e6, ...r };
} catch (err) {
  result = { tool, ok: false, ms: Number(process.hrtime.bigint() - t0) / 1e6, error: String(err?.message ?? err).slice(0, 200) };
}
result.maxRssBytes = process.resourceUsage().maxRSS * 1024;
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
