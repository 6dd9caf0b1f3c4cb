/**
 * The HTML report: one self-contained page (no scripts, no external assets) with the same content as the
 * text report, for attaching to a ticket. Computes nothing; every string from the report is escaped.
 */
import { relative, isAbsolute } from 'node:path';
import type { Frame } from '../../collector/probe-state';
import type { Finding, Report } from '../../collector/report-model';

export interface HtmlOptions {
  /** Paths are shown relative to this folder. */
  cwd: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function where(frame: Frame, cwd: string): string {
  const file = isAbsolute(frame.file) && !relative(cwd, frame.file).startsWith('..') ? relative(cwd, frame.file) : frame.file;
  return `${file}:${frame.line}`;
}

function frameCell(frame: Frame | null, cwd: string): string {
  if (!frame) return '';
  return `<code>${esc(where(frame, cwd))}</code>${frame.function ? ` <span class="fn">${esc(frame.function)}</span>` : ''}`;
}

function counts(record: Record<string, number>): string {
  return Object.entries(record)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
}

function finding(f: Finding, cwd: string): string {
  const rows: string[] = [];
  const row = (label: string, html: string): void => {
    if (html) rows.push(`<tr><th>${esc(label)}</th><td>${html}</td></tr>`);
  };
  row('site', frameCell(f.site, cwd));
  row('via', frameCell(f.libraryFrame, cwd));
  row('count', `${f.count}${Object.keys(f.states).length ? ` (${esc(counts(f.states))})` : ''}`);
  row('errors', esc(counts(f.errors)));
  row('keeps the process alive', f.keepsProcessAlive ? 'yes' : 'no');
  for (const r of f.related) row(r.role, `${frameCell(r.site, cwd)} ${r.count} submitted${Object.keys(r.states).length ? `: ${esc(counts(r.states))}` : ''}`);
  if (f.retainers?.length) {
    const steps = f.retainers.map((s) => `<li>${esc(s.name)}${s.site && !s.name.includes(`:${s.site.line})`) ? ` <code>${esc(where(s.site, cwd))}</code>` : ''}</li>`).join('');
    row('held by (from a GC root)', `<ol class="path">${steps}</ol>`);
  }
  if (f.retainedBytes !== undefined) row('retains', `${f.retainedBytes} bytes`);
  if (f.stack.length) row('stack', `<ol class="stack">${f.stack.map((fr) => `<li>${frameCell(fr, cwd)}</li>`).join('')}</ol>`);
  return `<section class="finding ${esc(f.kind)}${f.keepsProcessAlive ? ' alive' : ''}">
<h2><span class="kind">${esc(f.kind.toUpperCase())}</span> ${esc(f.summary)}${f.seen ? ` <small>(${esc(f.seen)})</small>` : ''}</h2>
<table>${rows.join('\n')}</table>
</section>`;
}

/** Renders the report as a standalone HTML page. */
export function renderHtml(report: Report, options: HtmlOptions): string {
  const title = `leak-agent: ${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}`;
  const meta = report.process
    ? `${esc(report.reason)} · pid ${report.process.pid} · level ${esc(report.process.level)} · ${esc(report.process.node)} · ${esc(report.process.argv.join(' '))}`
    : esc(report.reason);
  const notices = report.notices.map((n) => `<li>${esc(n)}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
h1{font-size:1.4em}h2{font-size:1.05em;margin:.2em 0 .5em}
.finding{border-left:4px solid #d90;padding:.5em 1em;margin:1em 0;background:#fffaf0}
.finding.alive{border-color:#c00;background:#fff5f5}
.kind{font-family:monospace;font-weight:bold}
th{text-align:left;vertical-align:top;padding-right:1em;color:#555;font-weight:normal;white-space:nowrap}
code{background:#f0f0f0;padding:0 .2em}.fn{color:#555}ol{margin:0;padding-left:1.4em}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${meta} · ${esc(report.generatedAt)}</p>
${report.findings.map((f) => finding(f, options.cwd)).join('\n')}
${notices ? `<h2>Notes</h2><ul>${notices}</ul>` : ''}
</body></html>
`;
}
