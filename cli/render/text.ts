/**
 * The text report: findings grouped, each leading with the user's `file:line`, the function, the count,
 * the age and whether it keeps the process alive, with the library frame beneath. Computes nothing.
 */
import { relative, isAbsolute } from 'node:path';
import type { Frame } from '../../collector/probe-state';
import type { Finding, Report, RetainerStep } from '../../collector/report-model';

export interface TextOptions {
  /** Paths are shown relative to this folder. */
  cwd: string;
  color: boolean;
}

const LABEL_WIDTH = 12;

function where(frame: Frame, cwd: string): string {
  let file = frame.file;
  if (isAbsolute(file)) {
    const rel = relative(cwd, file);
    if (!rel.startsWith('..' + '/') && rel !== '..') file = rel;
  }
  return `${file}:${frame.line}`;
}

function fn(frame: Frame): string {
  return frame.function ? `  ${frame.function}` : '';
}

function counts(record: Record<string, number>): string {
  return Object.entries(record)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
}

function label(text: string): string {
  return `  ${text.padEnd(LABEL_WIDTH)} `;
}

const SITE_LABEL: Record<string, string> = {
  pool: 'created at',
  task: 'submitted at',
  resource: 'acquired at',
  promise: 'created at',
  timer: 'set at',
  interval: 'set at',
  server: 'listening at',
  socket: 'connected at',
  worker: 'started at',
  'child-process': 'spawned at',
  listener: 'added at',
};

function renderFinding(f: Finding, options: TextOptions): string {
  const paint = (code: number, s: string): string => (options.color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const head = f.kind.toUpperCase().padEnd(LABEL_WIDTH);
  const lines = [`${paint(f.keepsProcessAlive ? 31 : 33, head)}${f.summary}${f.seen ? ` (${f.seen})` : ''}`];
  lines.push(`${label(SITE_LABEL[f.resource] ?? 'at')}${where(f.site, options.cwd)}${fn(f.site)}${f.threadId ? `  (thread ${f.threadId})` : ''}`);
  if (f.libraryFrame) lines.push(`${label('via')}${where(f.libraryFrame, options.cwd)}${fn(f.libraryFrame)}`);
  const errors = counts(f.errors);
  const states = counts(f.states);
  // States are worth a line when they say more than "all N pending".
  const informative = Object.keys(f.states).some((s) => s !== 'pending');
  if (f.count > 1 || informative || errors) lines.push(`${label('count')}${f.count}${informative ? `  (${states})` : ''}${errors ? `  errors: ${errors}` : ''}`);
  if (f.abandoned) lines.push(`${label('abandoned')}${f.abandoned} collected while pending`);
  for (const r of f.related) {
    const e = counts(r.errors);
    if (r.role === 'held-by') {
      lines.push(`${label(r.role)}${where(r.site, options.cwd)}${fn(r.site)}   ${r.count} pending promise${r.count === 1 ? '' : 's'} created here`);
      continue;
    }
    lines.push(`${label(r.role)}${where(r.site, options.cwd)}${fn(r.site)}   ${r.count} submitted${counts(r.states) ? `: ${counts(r.states)}` : ''}${e ? ` (${e})` : ''}`);
  }
  if (f.retainers && f.retainers.length > 0) {
    // From the nearest holder in the user's own code; the full path from a GC root is in --json.
    const from = userHolderIndex(f.retainers);
    const shown = f.retainers.slice(from).map((s) => (s.site && !s.name.includes(`${s.site.line})`) ? `${s.name} (${where(s.site, options.cwd)})` : s.name));
    lines.push(`${label('held by')}${shown.join(' ← ')}`);
    if (from > 0) lines.push(`${label('')}(${from} more steps from a GC root; --json has the whole path)`);
  }
  if (f.retainedBytes !== undefined) {
    lines.push(`${label('retains')}${bytes(f.retainedBytes)}${f.retainedBytesOf !== undefined ? ` (the ${f.retainedBytesOf} sampled of ${f.count})` : ''}`);
  }
  return lines.join('\n');
}

/** The last step held by a variable, closure or suspended function of user code (not node_modules, not node:). */
function userHolderIndex(steps: RetainerStep[]): number {
  for (let i = steps.length - 1; i >= 0; i--) {
    const site = steps[i].site;
    if (site && !site.file.includes('/node_modules/') && !site.file.startsWith('node:') && /^(variable|closure|async function|generator)/.test(steps[i].name)) return i;
  }
  return 0;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Renders the whole report as text. */
export function renderText(report: Report, options: TextOptions): string {
  const header = `leak-agent: ${report.findings.length === 0 ? 'no findings' : `${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}`}` +
    ` (${report.reason}${report.process ? `, pid ${report.process.pid}, level ${report.process.level}` : ''})`;
  const parts = [header, ...report.findings.map((f) => renderFinding(f, options))];
  if (report.dropped.handles || report.dropped.sites) parts.push(`note: caps dropped ${report.dropped.handles} handles and ${report.dropped.sites} sites`);
  for (const n of report.notices) parts.push(`note: ${n}`);
  return parts.join('\n\n') + '\n';
}
