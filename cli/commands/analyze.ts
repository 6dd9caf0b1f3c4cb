/**
 * `leak-agent analyze <file.heapsnapshot> [--baseline <file>] [--json] [--top N] [--show-strings]`:
 * offline analysis of a heap snapshot from anywhere (Chrome DevTools, `v8.writeHeapSnapshot`,
 * `--heapsnapshot-signal`): pending-promise census by holder, largest retainers, growth against a baseline.
 */
import { Command } from 'commander';
import { promises as fsp } from 'node:fs';
import { analyzeSnapshot, type SnapshotAnalysis } from '../../collector/analyze';
import { loadSnapshot } from '../../collector/snapshot';
import { FileNotFoundError, InvalidArgumentError } from '../errors';
import { renderAnalyzeText } from '../render/analyze-text';

/** Options of the `analyze` command. */
export interface AnalyzeCommandOptions {
  baseline?: string;
  json?: boolean;
  top?: string | number;
  showStrings?: boolean;
}

async function sizeOf(file: string): Promise<number> {
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw new FileNotFoundError(`${file} is not a file`, { context: { file } });
    return st.size;
  } catch (err) {
    if (err instanceof FileNotFoundError) throw err;
    throw new FileNotFoundError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err, context: { file } });
  }
}

function parseTop(top: string | number | undefined): number {
  if (top === undefined) return 10;
  const n = typeof top === 'number' ? top : Number(top);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`--top must be a positive integer, got ${JSON.stringify(top)}`, { context: { option: 'top' } });
  return n;
}

/** Loads the snapshot(s) and returns the analysis (the object `--json` prints). */
export async function collect(file: string, options: AnalyzeCommandOptions = {}): Promise<SnapshotAnalysis> {
  const top = parseTop(options.top);
  const bytes = await sizeOf(file);
  const baselineBytes = options.baseline ? await sizeOf(options.baseline) : undefined;
  // The baseline is only tallied; load it first so that its graph can be dropped before the main analysis.
  const baseline = options.baseline ? await loadSnapshot(options.baseline) : null;
  const graph = await loadSnapshot(file);
  return analyzeSnapshot(graph, baseline, {
    top,
    showStrings: options.showStrings === true,
    file,
    bytes,
    baselineFile: options.baseline,
    baselineBytes,
  });
}

/** The `analyze` command. */
export function analyzeCommand(): Command {
  return new Command('analyze')
    .description('analyse a .heapsnapshot: pending promises by holder, largest retainers, growth against --baseline')
    .argument('<file>', 'heap snapshot (.heapsnapshot)')
    .option('--baseline <file>', 'an earlier snapshot of the same process: report growth by constructor and allocation site')
    .option('--json', 'print the analysis as JSON')
    .option('--top <n>', 'rows per table', '10')
    .option('--show-strings', 'show string contents (redacted by default: heaps hold secrets)')
    .action(async (file: string, options: AnalyzeCommandOptions) => {
      const data = await collect(file, options);
      process.stdout.write(options.json ? JSON.stringify(data, null, 2) + '\n' : renderAnalyzeText(data));
    });
}
