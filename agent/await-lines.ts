/**
 * The `f_lineno` analogue: for each suspended async function on a retainer path, the exact line it waits
 * at, read live as `[[GeneratorLocation]]` through HeapProfiler/Runtime (no Debugger domain). The snapshot
 * alone only knows the function's declaration. Shared by the agent worker and `leak-agent attach`; needs
 * HeapProfiler still enabled from the snapshot (heap object ids resolve only while it is).
 * @internal
 */
import type { CdpClient } from './cdp/client';
import type { Report } from '../collector/report-model';

interface GeneratorLocation {
  scriptId: string;
  lineNumber: number;
  columnNumber: number;
}

/** The object group the looked-up generators are held in; released before returning. */
const GROUP = 'leak-agent';

export async function awaitLines(cdp: CdpClient, built: Report): Promise<void> {
  const steps = built.findings.flatMap((f) => f.retainers ?? []).filter((s) => s.suspendedId !== undefined && s.site);
  if (steps.length === 0) return;
  try {
    for (const step of steps.slice(0, 50)) {
      try {
        const { result } = await cdp.send('HeapProfiler.getObjectByHeapObjectId', { objectId: String(step.suspendedId), objectGroup: GROUP });
        if (!result.objectId) continue;
        const { internalProperties } = await cdp.send('Runtime.getProperties', { objectId: result.objectId, ownProperties: true });
        const state = internalProperties?.find((p) => p.name === '[[GeneratorState]]')?.value?.value;
        const loc = internalProperties?.find((p) => p.name === '[[GeneratorLocation]]')?.value?.value as GeneratorLocation | undefined;
        if (state !== 'suspended' || !loc || !step.site) continue;
        const line = loc.lineNumber + 1; // CDP positions are 0-based
        step.name = step.name.replace('suspended', 'suspended at await').replace(/\(([^()]*):\d+\)$/, `($1:${line})`);
        step.site = { ...step.site, line, column: loc.columnNumber + 1 };
      } catch {
        // collected since the snapshot, or not a generator: keep the declaration line
      }
    }
  } finally {
    await cdp.send('Runtime.releaseObjectGroup', { objectGroup: GROUP }).catch(() => undefined);
  }
}
