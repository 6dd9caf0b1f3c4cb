#!/usr/bin/env node
/**
 * The `leak-agent` command: assembles the commands and maps errors to exit codes (the only place that does).
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './commands/run';
import { reportCommand } from './commands/report';
import { analyzeCommand } from './commands/analyze';
import { attachCommand } from './commands/attach';
import { exitCodeFor, ExitCode, LeakAgentError } from './errors';

const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };

const program = new Command('leak-agent')
  .description('Find leaks in asynchronous Node.js work: tasks and promises that never settle, resources never released, settled results still held.')
  .version(version)
  .enablePositionalOptions()
  .exitOverride()
  .showHelpAfterError();
for (const command of [runCommand(), reportCommand(), analyzeCommand(), attachCommand()]) {
  // Errors from every command reach fail() below instead of commander's own process.exit().
  program.addCommand(command.exitOverride().showHelpAfterError());
}

function fail(err: unknown): void {
  const json = process.argv.includes('--json');
  if (err instanceof CommanderError) {
    // Help and version are not errors; commander already printed its message.
    process.exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    return;
  }
  const code = err instanceof LeakAgentError ? err.code : 'LEAK_AGENT_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  if (json) process.stdout.write(JSON.stringify({ error: { code, message } }) + '\n');
  process.stderr.write(`leak-agent: ${message} [${code}]\n`);
  if (!(err instanceof LeakAgentError) && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  process.exitCode = exitCodeFor(err);
}

program.parseAsync(process.argv).catch(fail);
