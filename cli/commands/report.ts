/**
 * `leak-agent report <report.json> [--json]`: renders a saved JSON report as text (or re-prints the JSON).
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { Report } from '../../collector/report-model';
import { FileNotFoundError, InvalidArgumentError, InvalidInputError } from '../errors';
import { renderText } from '../render/text';
import { renderHtml } from '../render/html';

/** Reads and checks a saved report. */
export function collect(file: string): Report {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileNotFoundError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err, context: { file } });
  }
  let report: Report;
  try {
    report = JSON.parse(text) as Report;
  } catch (err) {
    throw new InvalidInputError(`${file} is not JSON: ${(err as Error).message}`, { cause: err, context: { file } });
  }
  if (report === null || typeof report !== 'object' || report.version !== 1 || !Array.isArray(report.findings)) {
    throw new InvalidInputError(`${file} is not a leak-agent report (version 1 with findings)`, { context: { file } });
  }
  report.notices ??= [];
  report.dropped ??= { handles: 0, sites: 0 };
  for (const f of report.findings) {
    f.related ??= [];
    f.states ??= {};
    f.errors ??= {};
    f.libraryFrame ??= null;
  }
  return report;
}

export function reportCommand(): Command {
  return new Command('report')
    .description('render a saved JSON report (from run --out or LEAK_AGENT_OUT) as text, HTML or JSON')
    .argument('<report.json>', 'the report file')
    .option('--json', 'print the report as JSON', false)
    .option('--html', 'print the report as a standalone HTML page', false)
    .action((file: string, opts: { json: boolean; html: boolean }) => {
      const report = collect(file);
      if (opts.json && opts.html) throw new InvalidArgumentError('--json and --html are exclusive');
      const cwd = process.cwd();
      if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else if (opts.html) process.stdout.write(renderHtml(report, { cwd }));
      else process.stdout.write(renderText(report, { cwd, color: process.stdout.isTTY === true }));
    });
}
