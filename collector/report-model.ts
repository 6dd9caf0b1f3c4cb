/**
 * The report model every renderer reads and `--json` prints. Fields marked "contract" are stable: other
 * tools read them. More fields may be added freely.
 */
import type { Frame, HandleType, Level } from './probe-state';

/** Finding kinds, in the project's vocabulary (DESIGN.md). */
export type FindingKind = 'unsettled' | 'unreleased' | 'retained' | 'growth';

/** Why a report was produced. */
export type ReportReason =
  | 'quiet' // beforeExit: the event loop went quiet, nothing pending can ever settle
  | 'exit'
  | 'timeout' // `run --timeout`: the app was still running (cannot exit)
  | 'threshold' // something passed LEAK_AGENT_THRESHOLD_MS
  | 'signal'
  | 'request'
  | 'snapshot'; // `analyze`

/** One step of a retainer path, from a GC root towards the leaked object. */
export interface RetainerStep {
  /** Human name of the step: `variable inFlight (module scope)`, `Map entry`, `closure onReply`… */
  name: string;
  /** Edge kind in the heap graph: `context`, `property`, `element`, `internal`, `hidden`, `shortcut`. */
  edge?: string;
  /** Where the holder is declared or suspended, when known. */
  site?: Frame;
  /** For a suspended async function or generator: its heap object id (to read the exact `await` line live). */
  suspendedId?: number;
}

/** Work grouped under a finding (for a pool: the tasks submitted to it, per user site). */
export interface RelatedSite {
  role: 'tasks' | 'workers' | 'resources' | 'acquired-by' | 'held-by';
  site: Frame;
  count: number;
  /** State counts: `{ rejected: 3 }`, `{ pending: 2, running: 1 }`. */
  states: Record<string, number>;
  /** Rejection error names and their counts. */
  errors: Record<string, number>;
}

/** One finding. */
export interface Finding {
  /** contract */
  kind: FindingKind;
  /** contract: the user's line (first frame outside node_modules and the agent), 1-based. */
  site: Frame;
  /** contract: how many handles share this site and kind. */
  count: number;
  /** contract: whether these handles keep the process from exiting. */
  keepsProcessAlive: boolean;
  /** contract: short stack, innermost first (user frame and the library frames around it). */
  stack: Frame[];
  /** What leaked: `pool`, `task`, `promise`, `timer`, `server`… */
  resource: HandleType;
  /** The library or core module (`workerpool`, `piscina`, `timers`, `net`). */
  library: string;
  /** One line for humans: `workerpool pool, 4 live threads keep the process alive`. */
  summary: string;
  /** The first library frame under the user frame, if the call went through a library. */
  libraryFrame: Frame | null;
  /** Age of the oldest and youngest handle, ms. */
  ageMs: { max: number; min: number };
  /** State counts among the handles of this finding. */
  states: Record<string, number>;
  /** Rejection error names and their counts. */
  errors: Record<string, number>;
  /** Work grouped under this finding (a pool's tasks). */
  related: RelatedSite[];
  /** worker_threads threadId the handles live in (0 = main thread). */
  threadId: number;
  /** Set when the finding was seen while the app ran (past the threshold) but not in the final report. */
  seen?: 'while running';
  /** The process the finding comes from, when a report merges several processes. */
  pid?: number;
  /** Collected while still pending (FinalizationRegistry): abandoned, never settled or released. */
  abandoned?: number;
  /** Retainer path from a GC root, when a heap snapshot was analysed. */
  retainers?: RetainerStep[];
  /** Bytes retained by the leaked objects (dominator tree), when known. */
  retainedBytes?: number;
  /** When `retainedBytes` covers only some of the `count` objects (a sample), how many. */
  retainedBytesOf?: number;
  /** Registry ids of some of the handles (for correlation with a heap snapshot). */
  samples?: number[];
}

/** The report. */
export interface Report {
  /** contract */
  version: 1;
  /** contract */
  findings: Finding[];
  tool: 'leak-agent';
  reason: ReportReason;
  generatedAt: string;
  process: {
    pid: number;
    argv: string[];
    node: string;
    level: Level;
    thresholdMs: number;
    uptimeMs: number;
  } | null;
  /** What the agent's bounded memory dropped. */
  dropped: { handles: number; sites: number };
  /** Notices: unknown library versions, settings, ambiguities. */
  notices: string[];
}
