/**
 * Correlation of findings with a heap snapshot of the app: for `retained`, `unsettled` and `unreleased`
 * findings, find the tracked objects in the snapshot and attach their retainer path and retained bytes.
 *
 * How objects are found: just before the snapshot the probe gives the registry records of the sampled
 * handles a `tag` string (`leak-agent:handle:<id>`). In the snapshot that string node is held by the
 * record (property `tag`), whose `ref` is a WeakRef whose weak `target` edge is the app's object. No
 * inspector id round trip is needed, so the same code serves a snapshot written by the app's own thread
 * at exit and one streamed over CDP.
 */
import type { Report, RetainerStep } from './report-model';
import { HeapGraph } from './snapshot/graph';
import { retainerPathRaw, throughMomentaryRoot } from './snapshot/retainers';
import { nameRetainerPath } from './snapshot/naming';
import { retainedSize } from './snapshot/dominators';

import { dirname, sep } from 'node:path';
import { TAG_PREFIX } from './tags';

/** The agent's own files (dist/agent/): a step located there is the agent's wrapper, not the app's code. */
const AGENT_DIR = `${dirname(__dirname)}${sep}agent${sep}`;

/** Drops the agent's own locations from a step (the Worker subclass that observes construction, say). */
function withoutAgentSite(step: RetainerStep): RetainerStep {
  if (!step.site || !step.site.file.startsWith(AGENT_DIR)) return step;
  const { site: _site, ...rest } = step;
  return { ...rest, name: step.name.replace(/ \(class at [^)]*\)$/, '').replace(/ \([^()]*:\d+\)$/, '') };
}

/** Handle ids worth finding in a snapshot, from a report's findings. */
export function sampleIds(report: Report): number[] {
  const ids: number[] = [];
  for (const f of report.findings) if (f.samples) ids.push(...f.samples);
  return ids;
}

/** Maps tagged handle ids to the snapshot nodes of their objects. */
export function taggedObjects(graph: HeapGraph): Map<number, number> {
  const found = new Map<number, number>();
  const n = graph.nodeCount;
  for (let node = 0; node < n; node++) {
    const type = graph.nodeType(node);
    if (type !== 'string' && type !== 'concatenated string') continue;
    const name = graph.nodeName(node);
    if (!name.startsWith(TAG_PREFIX)) continue;
    const id = Number(name.slice(TAG_PREFIX.length));
    for (const holder of graph.retainers(node, 'strong')) {
      if (holder.name !== 'tag') continue;
      const ref = graph.references(holder.from, 'strong').find((e) => e.name === 'ref');
      if (!ref) continue;
      const target = graph.weakRefTarget(ref.to);
      if (target >= 0) found.set(id, target);
    }
  }
  return found;
}

/** Attaches `retainers` and `retainedBytes` to the findings whose sampled objects are in the snapshot. */
export function correlate(report: Report, graph: HeapGraph, options: { showStrings?: boolean } = {}): number {
  const objects = taggedObjects(graph);
  let attached = 0;
  for (const finding of report.findings) {
    if (!finding.samples || finding.samples.length === 0) continue;
    const nodes = finding.samples.map((id) => objects.get(id)).filter((n): n is number => n !== undefined);
    if (nodes.length === 0) continue;
    for (const node of nodes) {
      const raw = retainerPathRaw(graph, node);
      // Held only by what was running when the snapshot was taken (the agent's own read, say, after the
      // app dropped it): that names nothing of the app. Another sample may still be held by the app.
      if (raw === null || throughMomentaryRoot(graph, raw)) continue;
      const path = nameRetainerPath(graph, raw, { showStrings: options.showStrings }).map(withoutAgentSite);
      if (path.length > 0) {
        finding.retainers = path;
        break;
      }
    }
    finding.retainedBytes = nodes.reduce((sum, node) => sum + retainedSize(graph, node), 0);
    if (nodes.length < finding.count) finding.retainedBytesOf = nodes.length;
    attached++;
  }
  return attached;
}
