/**
 * `leak-agent report <report.json> [--json]`: renders a saved JSON report as text (or re-prints the JSON).
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { Report } from '../../collector/report-model';
import { FileNotFoundError, InvalidInputError } from '../errors';
import { renderText } from '../render/text';

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
    .description('render a saved JSON report (from run --out or LEAK_AGENT_OUT)')
    .argument('<report.json>', 'the report file')
    .option('--json', 'print the report as JSON', false)
    .action((file: string, opts: { json: boolean }) => {
      const report = collect(file);
      process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : renderText(report, { cwd: process.cwd(), color: process.stdout.isTTY === true }));
    });
}
