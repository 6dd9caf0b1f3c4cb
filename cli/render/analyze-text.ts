/**
 * Text rendering of a {@link SnapshotAnalysis}. Reads the data, computes nothing.
 */
import type { GrowthRow, SnapshotAnalysis } from '../../collector/analyze';
import type { RetainerStep } from '../../collector/report-model';

function mb(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1048576).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${bytes} B`;
}

/** A retainer path like the seed's referrer frames: the nearest holder first. */
export function renderPath(steps: RetainerStep[], indent = '      '): string {
  if (steps.length === 0) return `${indent}(no strong path from a GC root)\n`;
  const holders = steps.slice(0, -1).reverse();
  let out = '';
  holders.forEach((s, i) => {
    out += `${indent}${i === 0 ? 'held by ' : '   ← '}${s.name}\n`;
  });
  return out;
}

function growthTable(title: string, rows: GrowthRow[]): string {
  let out = `  ${title}\n`;
  if (rows.length === 0) return out + '    (no growth)\n';
  for (const r of rows) {
    out += `    +${r.deltaCount} objects  +${mb(r.deltaBytes)}  (${r.before.count} → ${r.after.count})  ${r.key}\n`;
  }
  return out;
}

/** Renders the analysis as text for a terminal. */
export function renderAnalyzeText(a: SnapshotAnalysis): string {
  let out = '';
  out += `heap snapshot ${a.file}: ${a.snapshot.nodes} nodes, ${a.snapshot.edges} edges, ${mb(a.snapshot.reachableBytes)} reachable`;
  out += a.snapshot.allocationTraces ? ', with allocation traces\n' : '\n';
  out += `\nPromises: ${a.promises.total}`;
  const st = Object.entries(a.promises.states).map(([k, v]) => `${k} ${v}`);
  out += st.length ? ` (${st.join(', ')})\n` : '\n';
  for (const g of a.promises.groups) {
    const states = Object.entries(g.states).map(([k, v]) => `${k} ${v}`).join(', ');
    out += `  ${g.count} × Promise [${states}] ${mb(g.retainedBytes)} retained\n`;
    out += `      held by ${g.holder}\n`;
  }
  out += '\nLargest retainers:\n';
  for (const r of a.largest) {
    out += `  ${mb(r.retainedBytes).padStart(9)}  ${r.name}  @${r.id}\n`;
    out += renderPath(r.retainers);
  }
  if (a.growth) {
    out += `\nGrowth since ${a.baseline}:\n`;
    out += growthTable('by constructor', a.growth.byConstructor);
    out += growthTable(a.growth.siteSource === 'allocation-traces' ? 'by allocation site' : 'by constructor/function location', a.growth.bySite);
  }
  if (a.notices.length) out += '\n' + a.notices.map((n) => `note: ${n}`).join('\n') + '\n';
  return out;
}
