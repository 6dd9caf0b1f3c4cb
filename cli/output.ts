/**
 * Where a command's report goes: `--out FILE` (JSON) and stdout (JSON with `--json`, text otherwise).
 * One place, so every command writes its report the same way.
 */
import { writeFileSync } from 'node:fs';
import type { Report } from '../collector/report-model';
import { InvalidArgumentError } from './errors';
import { renderText } from './render/text';

export interface OutputOptions {
  json: boolean;
  out?: string;
}

/** Writes the report as asked. Throws a coded error when `--out` cannot be written. */
export function writeReport(report: Report, options: OutputOptions): void {
  const json = JSON.stringify(report, null, 2) + '\n';
  if (options.out) {
    try {
      writeFileSync(options.out, json);
    } catch (err) {
      throw new InvalidArgumentError(`--out ${options.out}: ${(err as Error).message}`, { cause: err });
    }
  }
  process.stdout.write(options.json ? json : renderText(report, { cwd: process.cwd(), color: process.stdout.isTTY === true }));
}
