/**
 * Call-site capture and interning.
 *
 * A stack is captured as structured CallSites (`Error.prepareStackTrace` returning the array, as
 * why-is-node-running does) and interned into a small integer site id: a known site is found from its
 * frames' positions, and only a new one is turned into plain frames (function names included). Nothing
 * here keeps a CallSite (they hold receivers and functions of the app) past the call.
 * @internal
 */
import { toFilePath } from '../../collector/paths';
import { dirname, sep } from 'node:path';
import type { Frame, SiteRecord } from '../../collector/probe-state';

/** Files under this folder are the agent's own and never a user frame (dist/ of this package). */
const OWN_ROOT = dirname(dirname(__dirname)) + sep;
const NODE_MODULES = `${sep}node_modules${sep}`;

/**
 * How many frames to capture. Capture cost grows with depth (measured here: 1.9 µs at 3 frames, 3.9 µs at
 * 10, 8.5 µs at 24), so a short capture first; a deeper one only when it ended inside a library.
 */
const CAPTURE_LIMIT = 10;
const DEEP_CAPTURE_LIMIT = 48;
/** How many frames a site keeps. */
const KEEP_FRAMES = 8;

type CallSite = NodeJS.CallSite;

function passCallSites(_err: Error, callSites: CallSite[]): CallSite[] {
  return callSites;
}

function normaliseFile(name: string | null | undefined): string | null {
  return name ? toFilePath(name) : null;
}

/** `node -e` and `--print` code: user code without a file. */
const EVAL = /^\[eval\d*\]$/;

function isInternal(file: string | null): boolean {
  if (file === null || file.startsWith('node:') || file.startsWith('internal/')) return true;
  return !file.includes('/') && !file.includes('\\') && !EVAL.test(file);
}

function isOwn(file: string): boolean {
  return file.startsWith(OWN_ROOT);
}

function functionName(cs: CallSite): string | null {
  let name: string | null = null;
  try {
    name = cs.getFunctionName();
    if (cs.isConstructor()) return name ? `new ${name}` : 'new <anonymous>';
    const type = cs.isToplevel() ? null : cs.getTypeName();
    const method = cs.getMethodName();
    if (type && type !== 'Object' && type !== 'global' && type !== 'process' && (name || method)) {
      const fn = name ?? method;
      return fn!.startsWith(`${type}.`) ? fn : `${type}.${fn}`;
    }
  } catch {
    // A CallSite accessor should not throw, but the agent must never throw into the app.
  }
  return name;
}

/**
 * Captures the current stack as plain frames, innermost first, without `node:` and agent frames. When the
 * short capture holds no user frame and was cut at its limit, captures again deeper.
 */
export function captureFrames(skipAbove: Function): Frame[] {
  return captureRawFrames(skipAbove).map(toFrame);
}

/** As `captureFrames`, always at the deep limit (async frames included, as V8 gives them). */
export function captureDeepFrames(skipAbove: Function): Frame[] {
  return captureRaw(skipAbove, DEEP_CAPTURE_LIMIT).frames.map(toFrame);
}

/** A frame still as its CallSite (only inside one capture: a CallSite holds the app's function and receiver). */
interface RawFrame {
  cs: CallSite;
  file: string;
}

/**
 * The CallSites above `skipAbove`, without `node:` and agent frames. `shortWould`: a capture at
 * CAPTURE_LIMIT would have found the same user frame (or the whole stack).
 */
function captureRaw(skipAbove: Function, limit: number): { frames: RawFrame[]; truncated: boolean; shortWould: boolean } {
  const holder: { stack?: CallSite[] } = {};
  const prevLimit = Error.stackTraceLimit;
  const prevPrepare = Error.prepareStackTrace;
  let callSites: CallSite[] | undefined;
  try {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = passCallSites as typeof Error.prepareStackTrace;
    Error.captureStackTrace(holder, skipAbove);
    callSites = holder.stack;
  } finally {
    Error.stackTraceLimit = prevLimit;
    Error.prepareStackTrace = prevPrepare;
  }
  const frames: RawFrame[] = [];
  if (!Array.isArray(callSites)) return { frames, truncated: false, shortWould: true };
  let shortWould = callSites.length < CAPTURE_LIMIT;
  for (let i = 0; i < callSites.length; i++) {
    const cs = callSites[i];
    const file = normaliseFile(cs.getFileName());
    if (isInternal(file) || isOwn(file!)) continue;
    frames.push({ cs, file: file! });
    if (i < CAPTURE_LIMIT && !shortWould && isUserFile(file!)) shortWould = true;
  }
  return { frames, truncated: callSites.length >= limit, shortWould };
}

function toFrame(raw: RawFrame): Frame {
  return { file: raw.file, line: raw.cs.getLineNumber() ?? 0, column: raw.cs.getColumnNumber() ?? 0, function: functionName(raw.cs) };
}

/**
 * Capturing functions (`skipAbove`) whose last capture needed the deep one: their next one is deep at once.
 * A library's own call from an event (a pool's idle timer set on a release that a socket read triggered)
 * needs it every time, after a short capture that found nothing: in a pg.Pool run of 6,000 queries, 650
 * stack captures became about 400, and their time 12.9 ms → 10.6 ms. A deep capture whose first
 * CAPTURE_LIMIT frames held the user frame goes back to short ones. The site found is the same either way;
 * a new site may keep frames past the short limit.
 */
const deepFirst = new WeakSet<Function>();

/** The short capture, or the deep one when the short one was cut inside a library with no user frame. */
function captureRawFrames(skipAbove: Function): RawFrame[] {
  if (deepFirst.has(skipAbove)) {
    const deep = captureRaw(skipAbove, DEEP_CAPTURE_LIMIT);
    if (deep.shortWould) deepFirst.delete(skipAbove);
    return deep.frames;
  }
  const short = captureRaw(skipAbove, CAPTURE_LIMIT);
  if (short.truncated && !short.frames.some((f) => isUserFile(f.file))) {
    deepFirst.add(skipAbove);
    return captureRaw(skipAbove, DEEP_CAPTURE_LIMIT).frames;
  }
  return short.frames;
}

/** A site's interning key: its user frame and the library frame it called, by position. */
function siteKey(file: string, line: number, column: number, library: { file: string; line: number; column: number } | null): string {
  return library ? `${file}:${line}:${column}|${library.file}:${library.line}:${library.column}` : `${file}:${line}:${column}`;
}

/** True when a (normalised, non-internal, non-agent) file is the user's code: not in `node_modules`. */
function isUserFile(file: string): boolean {
  return !file.includes(NODE_MODULES);
}

/** True when a frame is the user's code: not in `node_modules`, not internal, not the agent. */
export function isUserFrame(frame: Frame): boolean {
  return isUserFile(frame.file);
}

/** Chooses the user frame and the library frame that the user called into. */
export function describeStack(frames: Frame[]): SiteRecord {
  const userIndex = frames.findIndex(isUserFrame);
  if (userIndex < 0) {
    const top = frames[0] ?? { file: '<unknown>', line: 0, column: 0, function: null };
    return { frame: top, user: false, library: frames[0] ?? null, stack: frames.slice(0, KEEP_FRAMES) };
  }
  const start = Math.max(0, userIndex - 2);
  return {
    frame: frames[userIndex],
    user: true,
    library: userIndex > 0 ? frames[userIndex - 1] : null,
    stack: frames.slice(start, start + KEEP_FRAMES),
  };
}

/**
 * Interned sites: the key is the user frame plus the library frame, so that one user line calling two
 * different library paths stays two sites, and a thousand calls from one line are one site.
 */
export class SiteTable {
  readonly records: SiteRecord[] = [];
  readonly #index = new Map<string, number>();
  readonly #max: number;
  dropped = 0;

  constructor(max: number) {
    this.#max = max;
    // Site 0: anything that could not be recorded (caps reached, capture failed).
    this.records.push({ frame: { file: '<unknown>', line: 0, column: 0, function: null }, user: false, library: null, stack: [] });
  }

  /**
   * Captures the caller's stack (frames above `skipAbove`) and returns its site id. Never throws. A site
   * seen before (the common case: one line submitting over and over) is found from the positions of its
   * user and library frames alone; the rest of the record (function names, the kept frames: a fifth of a
   * capture's cost) is read only for a new site.
   */
  capture(skipAbove: Function): number {
    try {
      const raw = captureRawFrames(skipAbove);
      const userIndex = raw.findIndex((f) => isUserFile(f.file));
      // The key `intern` would make of describeStack's record: the user frame and the library frame under
      // it, or with no user frame (a library's own call from an event: a pool's idle timer set on a release
      // that a socket read triggered) the top frame as both.
      const at = userIndex >= 0 ? userIndex : 0;
      if (at < raw.length) {
        const frame = raw[at];
        const lib = userIndex > 0 ? raw[userIndex - 1] : userIndex < 0 ? frame : null;
        const key = siteKey(frame.file, frame.cs.getLineNumber() ?? 0, frame.cs.getColumnNumber() ?? 0, lib && { file: lib.file, line: lib.cs.getLineNumber() ?? 0, column: lib.cs.getColumnNumber() ?? 0 });
        const known = this.#index.get(key);
        if (known !== undefined) return known;
      }
      return this.intern(describeStack(raw.map(toFrame)));
    } catch {
      return 0;
    }
  }

  intern(site: SiteRecord): number {
    const f = site.frame;
    const key = siteKey(f.file, f.line, f.column, site.library);
    const known = this.#index.get(key);
    if (known !== undefined) return known;
    if (this.records.length >= this.#max) {
      this.dropped++;
      return 0;
    }
    const id = this.records.length;
    this.records.push(site);
    this.#index.set(key, id);
    return id;
  }
}
