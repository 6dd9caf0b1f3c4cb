/**
 * `leak-agent attach <host:port | ws-url | --pid N>`: attaches to a running process through its inspector
 * (no restart), injects the probe with `Runtime.evaluate`, watches for `--duration` seconds, reports, and
 * detaches leaving the process as it was.
 *
 *   CLI ──chrome-remote-interface──▶ target inspector (127.0.0.1 only; ssh-tunnel other machines)
 *     1. connect                      Runtime / HeapProfiler only: never `Debugger` (it slows every await of
 *     2. inject the bundled probe     the target for the rest of its life)
 *     3. census pending promises      queryObjects(Promise.prototype) + one callFunctionOn, group released
 *     4. watch --duration s           the probe's patches see what is created meanwhile
 *     5. read (after a GC) + report   collector/report.ts, reason `request`
 *     6. snapshot -> retainers        streamed over CDP (unless --no-snapshot)
 *     7. detach                       probe.detach() (every patch restored, global removed), object groups
 *                                     released, HeapProfiler/Runtime disabled, connection closed
 * @internal
 */
import { Command } from 'commander';
import { get } from 'node:http';
import type { ProbeState } from '../../collector/probe-state';
import type { Report, RetainerStep } from '../../collector/report-model';
import { buildReport } from '../../collector/report';
import { correlate } from '../../collector/correlate';
import { RemoteCdpClient } from '../../agent/cdp/remote-transport';
import { snapshotOverCdp } from '../../agent/snapshot-stream';
import { awaitLines } from '../../agent/await-lines';
import { loadProbeBundle, BUNDLE_ROOT, BUNDLE_URL } from '../probe-bundle';
import { AgentUnreachableError, CdpError, InvalidArgumentError, LeakAgentError } from '../errors';
import { positiveInt, positiveSeconds } from '../options';
import { writeReport } from '../output';

export interface AttachOptions {
  pid?: number;
  inspectPort: number;
  json: boolean;
  out?: string;
  duration: number;
  threshold: number;
  snapshot: boolean;
}

/** Where the inspector is. */
export interface Endpoint {
  host: string;
  port: number;
  /** The WebSocket URL when given (or found through `/json/list`). */
  url?: string;
}

/** Milliseconds each phase took (the figures the README quotes). */
export interface AttachTimings {
  connectMs: number;
  injectMs: number;
  censusMs: number;
  watchMs: number;
  readMs: number;
  snapshotMs: number;
  detachMs: number;
  /** From the start of the command to a report ready to print (detach included). */
  totalMs: number;
}

/** What detach did in the target. */
export interface Detached {
  /** The injected probe restored its patches and its global is gone (true when none was injected). */
  probeRemoved: boolean;
  closed: boolean;
  /** `--pid` opened the inspector, and its closing was scheduled in the target. */
  inspectorClosed: boolean;
}

export interface AttachResult {
  report: Report;
  timings: AttachTimings;
  /** Whether the probe was injected by this attach (false: the target runs the leak-agent preload). */
  injected: boolean;
  /** What detach verified in the target (null when the connection was gone before detach). */
  detached: Detached | null;
  /** The watch ended early (Ctrl-C, or the target exited). */
  interrupted: string | null;
}

const PROBE = `globalThis[Symbol.for('leak-agent')]`;
/** Object groups this command creates in the target; all released at detach. */
const GROUPS = ['leak-agent-attach', 'leak-agent-census', 'leak-agent'];
const HTTP_TIMEOUT_MS = 3000;
/** After detach, when the target closes an inspector that `--pid` opened. */
const INSPECTOR_CLOSE_DELAY_MS = 200;
/** How long `--pid` waits for the inspector that `_debugProcess` opens. */
const PID_WAIT_MS = 3000;
const LOOPBACK_RULE =
  'attach connects to loopback inspectors only (127.0.0.1, ::1, localhost): an inspector port gives full control of the process. ' +
  'For another machine, tunnel its loopback-bound inspector: ssh -N -L 9229:127.0.0.1:9229 <host>, then leak-agent attach 127.0.0.1:9229';

/** True for hosts that name this machine's loopback interface. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Parses `host:port`, `port`, `[::1]:port` or `ws://host:port/id`; refuses non-loopback hosts. */
export function parseAddress(address: string): Endpoint {
  let endpoint: Endpoint;
  if (/^wss?:\/\//i.test(address)) {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new InvalidArgumentError(`not a WebSocket URL: ${JSON.stringify(address)}`);
    }
    if (url.protocol !== 'ws:') throw new InvalidArgumentError(`only ws:// inspector URLs are supported, got ${JSON.stringify(address)}`);
    endpoint = { host: url.hostname, port: Number(url.port || 80), url: address };
  } else {
    const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(address);
    if (!m) throw new InvalidArgumentError(`expected host:port, a ws:// URL or --pid N, got ${JSON.stringify(address)}`);
    endpoint = { host: m[1] ?? '127.0.0.1', port: Number(m[2]) };
  }
  if (!Number.isInteger(endpoint.port) || endpoint.port <= 0 || endpoint.port > 65535) throw new InvalidArgumentError(`port out of range in ${JSON.stringify(address)}`);
  if (!isLoopback(endpoint.host)) throw new InvalidArgumentError(`refusing ${endpoint.host}: ${LOOPBACK_RULE}`, { context: { host: endpoint.host } });
  return endpoint;
}

interface ListedTarget {
  type?: string;
  webSocketDebuggerUrl?: string;
}

/** GET /json/list of an inspector; rejects with `AgentUnreachableError` (bounded by a timeout). */
function listTargets(host: string, port: number): Promise<ListedTarget[]> {
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown): void =>
      reject(new AgentUnreachableError(`no inspector at ${host}:${port} (${why}); start the process with --inspect=127.0.0.1:${port}, or use --pid`, { cause, context: { host, port } }));
    const req = get({ host: host.replace(/^\[|\]$/g, ''), port, path: '/json/list', timeout: HTTP_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          const list = JSON.parse(body) as unknown;
          if (!Array.isArray(list)) throw new Error('not a list');
          resolve(list as ListedTarget[]);
        } catch (err) {
          fail(`/json/list answered ${res.statusCode} with no target list`, err);
        }
      });
      res.on('error', (err) => fail(err.message, err));
    });
    req.on('timeout', () => {
      req.destroy();
      fail(`no answer within ${HTTP_TIMEOUT_MS} ms`);
    });
    req.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message, err));
  });
}

/**
 * The WebSocket URL of the Node target at `endpoint`. The listed URL's host and port are replaced by the
 * ones used to reach `/json/list`, so that a tunnelled port works like a local one.
 */
async function webSocketUrl(endpoint: Endpoint): Promise<string> {
  if (endpoint.url) return endpoint.url;
  const targets = await listTargets(endpoint.host, endpoint.port);
  const target = targets.find((t) => t.type === 'node' && t.webSocketDebuggerUrl) ?? targets.find((t) => t.webSocketDebuggerUrl);
  if (!target?.webSocketDebuggerUrl) throw new AgentUnreachableError(`the inspector at ${endpoint.host}:${endpoint.port} lists no target`);
  const url = new URL(target.webSocketDebuggerUrl);
  url.hostname = endpoint.host.replace(/^\[|\]$/g, '');
  url.port = String(endpoint.port);
  return url.href;
}

/**
 * `--pid`: opens the inspector of a local process (as SIGUSR1 does) and waits for its `/json/list`. `opened`
 * says whether it was closed before (then detach closes it again).
 */
async function openByPid(pid: number, port: number): Promise<{ url: string; opened: boolean }> {
  const already = await webSocketUrl({ host: '127.0.0.1', port }).catch(() => null);
  if (already) return { url: already, opened: false };
  try {
    (process as unknown as { _debugProcess(pid: number): void })._debugProcess(pid);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new AgentUnreachableError(`cannot open the inspector of pid ${pid} (${code}): ${code === 'ESRCH' ? 'no such process' : 'is it a Node.js process of this user?'}`, { cause: err, context: { pid } });
  }
  const deadline = Date.now() + PID_WAIT_MS;
  for (;;) {
    try {
      return { url: await webSocketUrl({ host: '127.0.0.1', port }), opened: true };
    } catch (err) {
      if (Date.now() >= deadline) {
        throw new AgentUnreachableError(`pid ${pid}: no inspector on 127.0.0.1:${port} after ${PID_WAIT_MS} ms (started with another --inspect-port? pass --inspect-port)`, { cause: err, context: { pid, port } });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The classification of `Runtime.queryObjects(Promise.prototype)`'s array, run in the target (`this`). */
const CENSUS_FUNCTION = `function (util) {
  var counts = { total: this.length, pending: 0, fulfilled: 0, rejected: 0 };
  var options = { depth: 0, customInspect: false, maxStringLength: 0, maxArrayLength: 0, breakLength: Infinity };
  for (var i = 0; i < this.length; i++) {
    var text;
    try { text = util.inspect(this[i], options); } catch (e) { continue; }
    if (text.indexOf('<pending>') >= 0) counts.pending++;
    else if (text.indexOf('<rejected>') >= 0) counts.rejected++;
    else counts.fulfilled++;
  }
  return counts;
}`;

interface Census {
  total: number;
  pending: number;
  fulfilled: number;
  rejected: number;
}

/** One session with the target: every CDP step of the attach, and the undo of all of them. */
class AttachSession {
  constructor(readonly cdp: RemoteCdpClient) {}

  async evaluate<T>(expression: string, options: { commandLineApi?: boolean } = {}): Promise<T> {
    const { result, exceptionDetails } = await this.cdp.send('Runtime.evaluate', {
      expression,
      returnByValue: true,
      silent: true,
      includeCommandLineAPI: options.commandLineApi === true,
    });
    if (exceptionDetails) throw new CdpError(`in the target: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value as T;
  }

  /**
   * Installs the bundled probe (`sample` level, no ESM loader hooks, which could not be undone). A failed
   * install undoes what it did. Returns false when the target already runs the leak-agent preload.
   */
  async inject(options: { maxHandles: number; maxSites: number }): Promise<boolean> {
    if (await this.evaluate<boolean>(`!!${PROBE}`)) return false;
    const expression =
      `(() => {\n` +
      `  const m = (${loadProbeBundle()})(require);\n` +
      `  const probe = new m.Probe({ level: 'sample', maxHandles: ${options.maxHandles}, maxSites: ${options.maxSites}, loaderHooks: false });\n` +
      `  try { probe.install(); } catch (err) { probe.detach(); throw err; }\n` +
      `  return ${PROBE} === probe;\n` +
      `})()\n//# sourceURL=${BUNDLE_URL}\n`;
    // `includeCommandLineAPI` gives the inspector console's `require` (builtins resolve with it).
    const installed = await this.evaluate<boolean>(expression, { commandLineApi: true });
    if (!installed) throw new CdpError('the probe did not install in the target');
    return true;
  }

  /** Counts the target's promises by state, in the VM (one call); the pinned array is released at once. */
  async census(): Promise<Census> {
    const group = 'leak-agent-census';
    try {
      const proto = await this.cdp.send('Runtime.evaluate', { expression: 'Promise.prototype', objectGroup: group, silent: true });
      const util = await this.cdp.send('Runtime.evaluate', { expression: `require('node:util')`, objectGroup: group, silent: true, includeCommandLineAPI: true });
      if (!proto.result.objectId || !util.result.objectId) throw new CdpError('census: no Promise.prototype or util in the target');
      const { objects } = await this.cdp.send('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId, objectGroup: group });
      if (!objects.objectId) throw new CdpError('census: queryObjects returned no array');
      const { result, exceptionDetails } = await this.cdp.send('Runtime.callFunctionOn', {
        objectId: objects.objectId,
        functionDeclaration: CENSUS_FUNCTION,
        arguments: [{ objectId: util.result.objectId }],
        returnByValue: true,
        silent: true,
      });
      if (exceptionDetails) throw new CdpError(`census: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
      return result.value as Census;
    } finally {
      // queryObjects pins every promise until its group is released.
      await this.cdp.send('Runtime.releaseObjectGroup', { objectGroup: group }).catch(() => undefined);
    }
  }

  /**
   * Reads the probe after a full GC. The GC is asked through `HeapProfiler.collectGarbage` rather than the
   * probe's own `gc()`, which would set `--expose-gc` in the target for good.
   */
  async read(): Promise<ProbeState> {
    await this.cdp.send('HeapProfiler.enable');
    await this.cdp.send('HeapProfiler.collectGarbage');
    const state = await this.evaluate<ProbeState>(`${PROBE}.read({ gc: false })`);
    state.afterGc = true;
    return state;
  }

  /** Names retainers from a snapshot streamed over CDP (the target pauses while V8 writes it). */
  async retainers(report: Report): Promise<void> {
    const ids = report.findings.flatMap((f) => f.samples ?? []);
    if (ids.length === 0) return;
    await this.evaluate(`${PROBE}.tag(${JSON.stringify(ids)})`);
    const graph = await snapshotOverCdp(this.cdp).finally(() => this.evaluate(`${PROBE}.untag()`).catch(() => undefined));
    correlate(report, graph);
    await awaitLines(this.cdp, report);
    for (const f of report.findings) if (f.retainers) f.retainers = f.retainers.map(withoutProbeSite);
  }

  /**
   * Leaves the target as it was: the injected probe detached (patches restored, global removed), object
   * groups released, HeapProfiler and Runtime disabled, connection closed. Every step runs even if one
   * before it failed.
   */
  async detach(injected: boolean, closeInspector: boolean): Promise<Detached | null> {
    if (this.cdp.closed) return null;
    let probeRemoved = !injected;
    if (injected) {
      probeRemoved = await this.evaluate<boolean>(`(() => { const p = ${PROBE}; if (p) p.detach(); return ${PROBE} === undefined; })()`).catch(() => false);
    }
    for (const objectGroup of GROUPS) await this.cdp.send('Runtime.releaseObjectGroup', { objectGroup }).catch(() => undefined);
    await this.cdp.send('HeapProfiler.disable').catch(() => undefined);
    let inspectorClosed = false;
    if (closeInspector) {
      // The inspector `--pid` opened is closed again once this connection is gone: `inspector.close()`
      // closes the remaining connections and stops listening. Scheduled, because it cannot run while this
      // session's own call is answered; unref'd, so it never keeps the target alive.
      inspectorClosed = await this.evaluate<boolean>(
        // `require` is the console's, there only while this evaluates: the module is taken now.
        `(() => { const inspector = require('node:inspector'); const t = setTimeout(() => { try { inspector.close(); } catch {} }, ${INSPECTOR_CLOSE_DELAY_MS}); t.unref(); return true; })()`,
        { commandLineApi: true },
      ).catch(() => false);
    }
    await this.cdp.send('Runtime.disable').catch(() => undefined);
    await this.cdp.close();
    return { probeRemoved, closed: true, inspectorClosed };
  }
}

/** Drops locations inside the injected bundle from a retainer step (the probe's own wrappers). */
function withoutProbeSite(step: RetainerStep): RetainerStep {
  const file = step.site?.file;
  if (!file || (file !== BUNDLE_URL && !file.startsWith(BUNDLE_ROOT))) return step;
  const { site: _site, ...rest } = step;
  return { ...rest, name: step.name.replace(/ \(class at [^)]*\)$/, '').replace(/ \([^()]*:\d+\)$/, '') };
}

/** The watch: a sleep that Ctrl-C or a lost connection ends early (also before it starts). */
class Watch {
  #reason: string | null = null;
  #wake: (() => void) | null = null;

  stop(reason: string): void {
    this.#reason ??= reason;
    this.#wake?.();
  }

  /** Sleeps `ms` unless stopped; resolves with the reason it was stopped, or null. */
  async sleep(ms: number): Promise<string | null> {
    if (this.#reason === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
    return this.#reason;
  }
}

/** Attaches, watches, reports and detaches; prints nothing. */
export async function collect(address: string | undefined, options: AttachOptions): Promise<AttachResult> {
  const started = Date.now();
  if ((address === undefined) === (options.pid === undefined)) throw new InvalidArgumentError('attach takes one of <host:port>, <ws-url> or --pid N');
  const { url, opened } = options.pid !== undefined ? await openByPid(options.pid, options.inspectPort) : { url: await webSocketUrl(parseAddress(address!)), opened: false };

  const timings: AttachTimings = { connectMs: 0, injectMs: 0, censusMs: 0, watchMs: 0, readMs: 0, snapshotMs: 0, detachMs: 0, totalMs: 0 };
  let t = Date.now();
  const cdp = await RemoteCdpClient.connect(url);
  timings.connectMs = Date.now() - t;
  const session = new AttachSession(cdp);
  const watching = new Watch();
  const onSignal = (): void => watching.stop('interrupted (Ctrl-C)');
  const offDisconnect = cdp.onDisconnect((reason) => watching.stop(reason));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let injected = false;
  /** Only an inspector this attach opened, in the process it was asked for, is closed again. */
  let closeInspector = false;
  let detached: AttachResult['detached'] = null;
  try {
    const target = await session.evaluate<{ pid: number; argv: string[]; node: string }>(`({ pid: process.pid, argv: process.argv.slice(1), node: process.version })`);
    if (options.pid !== undefined && target.pid !== options.pid) {
      throw new AgentUnreachableError(`127.0.0.1:${options.inspectPort} is the inspector of pid ${target.pid}, not ${options.pid} (pass --inspect-port)`, { context: { pid: options.pid } });
    }
    closeInspector = opened;
    t = Date.now();
    injected = await session.inject({ maxHandles: 100_000, maxSites: 10_000 });
    timings.injectMs = Date.now() - t;
    const attachedAt = Date.now();

    t = Date.now();
    const notices: string[] = [];
    const before = await session.census().catch((err: Error) => {
      notices.push(`leak-agent attach: promise census failed (${err.message})`);
      return null;
    });
    timings.censusMs = Date.now() - t;

    t = Date.now();
    const interrupted = await watching.sleep(options.duration * 1000);
    timings.watchMs = Date.now() - t;
    if (cdp.closed) throw new CdpError(`the target went away during the watch: ${interrupted}`);

    t = Date.now();
    const state = await session.read();
    const after = await session.census().catch(() => null);
    const report = buildReport(state, { reason: 'request', thresholdMs: options.threshold, argv: target.argv, node: target.node });
    timings.readMs = Date.now() - t;
    report.notices.push(...notices, ...attachNotices(injected, attachedAt, timings.watchMs, before, after));

    t = Date.now();
    if (options.snapshot) {
      await session.retainers(report).catch((err: Error) => {
        report.notices.push(`leak-agent: no retainers: heap snapshot failed (${err?.message ?? err})`);
      });
    }
    timings.snapshotMs = Date.now() - t;

    t = Date.now();
    detached = await session.detach(injected, closeInspector);
    timings.detachMs = Date.now() - t;
    if (injected && detached && !detached.probeRemoved) report.notices.push('leak-agent attach: detach could not confirm the probe was removed from the target');
    timings.totalMs = Date.now() - started;
    return { report, timings, injected, detached, interrupted };
  } catch (err) {
    if (err instanceof LeakAgentError) throw err;
    throw new CdpError(`attach failed: ${(err as Error)?.message ?? err}`, { cause: err });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    offDisconnect();
    // Reached with the session still open only when something above failed.
    if (!cdp.closed) await session.detach(injected, closeInspector).catch(() => undefined);
  }
}

/** What the attach could and could not see, stated in the report. */
function attachNotices(injected: boolean, attachedAt: number, watchedMs: number, before: Census | null, after: Census | null): string[] {
  const notices: string[] = [];
  const since = new Date(attachedAt).toISOString();
  if (injected) {
    notices.push(
      `leak-agent attach: watched ${(watchedMs / 1000).toFixed(1)} s from ${since} at the sample level; pools, timers, sockets, servers, workers and child processes ` +
        `created before the attach are not tracked (patches see only what is created while attached), nor are ESM-only pools (no loader hooks)`,
    );
  } else {
    notices.push('leak-agent attach: the target runs the leak-agent preload: its own probe was read and left installed');
  }
  if ((before?.pending ?? 0) === 0 && (after?.pending ?? 0) === 0 && (before || after)) {
    notices.push('leak-agent attach: no pending promises (Runtime.queryObjects census at the attach and after the watch)');
  } else if (before || after) {
    const c = (x: Census | null): string => (x ? `${x.pending} pending of ${x.total}` : 'not counted');
    notices.push(
      `leak-agent attach: promises (Runtime.queryObjects census): ${c(before)} at the attach, ${c(after)} after the watch; ` +
        `no creation site can be known for them (those made before the attach were never seen, and promises are not tracked at the sample level): ` +
        `the retainer paths of the findings name what holds the ones that belong to them`,
    );
  }
  return notices;
}


function timingNote(result: AttachResult, duration: number): string {
  const t = result.timings;
  const how = result.injected ? 'probe injected' : 'preload probe read';
  const d = result.detached;
  const detach = d
    ? `${d.probeRemoved ? 'detached: patches restored, probe removed' : 'detached: probe removal NOT confirmed'}, connection closed${d.inspectorClosed ? ', the inspector --pid opened closes in the target' : ''}`
    : 'connection lost before detach';
  const early = result.interrupted ? `; watch ended early (${result.interrupted})` : '';
  return (
    `note: attach: connected in ${t.connectMs} ms, ${how} in ${t.injectMs} ms, census ${t.censusMs} ms, watched ${(t.watchMs / 1000).toFixed(1)} of ${duration} s, ` +
    `read ${t.readMs} ms, snapshot ${t.snapshotMs} ms, detach ${t.detachMs} ms${early}; ${detach}\n`
  );
}

export function attachCommand(): Command {
  return new Command('attach')
    .description('attach to a running Node.js process through its inspector, watch it, report its leaks, and detach leaving it as it was')
    .argument('[address]', 'host:port of the inspector (port alone means 127.0.0.1), or its ws:// URL')
    .option('--pid <pid>', 'open the inspector of a local process (like SIGUSR1) and attach to it', positiveInt('--pid'))
    .option('--inspect-port <port>', 'with --pid: the port its inspector opens on', positiveInt('--inspect-port'), 9229)
    .option('--json', 'print the report as JSON on stdout', false)
    .option('--out <file>', 'also write the JSON report to this file')
    .option('--duration <seconds>', 'how long to watch before reporting', positiveSeconds('--duration'), 10)
    .option('--threshold <ms>', 'pending work older than this at the end of the watch is a finding', positiveInt('--threshold'), 1000)
    .option('--no-snapshot', 'do not take a heap snapshot to name retainers (a snapshot pauses the target while V8 writes it)')
    .addHelpText(
      'after',
      `\nSafety: ${LOOPBACK_RULE}.\n` +
        'The attach uses the Runtime and HeapProfiler domains only and never enables Debugger (which would slow every await ' +
        'of the target for the rest of its life). On detach every patch is restored and the probe removed.\n',
    )
    .action(async (address: string | undefined, opts: AttachOptions) => {
      const result = await collect(address, opts);
      writeReport(result.report, opts);
      // With --json only the report is on stdout.
      (opts.json ? process.stderr : process.stdout).write(timingNote(result, opts.duration));
    });
}
