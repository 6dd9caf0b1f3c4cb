/**
 * One error hierarchy with stable codes (like undici's `UndiciError` subclasses). Every error the CLI
 * reports carries a `code`; exit codes are chosen in {@link exitCodeFor} and nowhere else.
 */

/** Base class: a stable `code`, an optional `cause`, and context for `--json` output. */
export class LeakAgentError extends Error {
  override name = 'LeakAgentError';
  code: string = 'LEAK_AGENT_ERROR';
  context: Record<string, unknown>;
  constructor(message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.context = options.context ?? {};
  }
}

/** A command-line argument or option is malformed. */
export class InvalidArgumentError extends LeakAgentError {
  override name = 'InvalidArgumentError';
  override code = 'LEAK_AGENT_INVALID_ARGUMENT';
}

/** An input file is missing or unreadable. */
export class FileNotFoundError extends LeakAgentError {
  override name = 'FileNotFoundError';
  override code = 'LEAK_AGENT_FILE_NOT_FOUND';
}

/** An input file is readable but not what it claims to be (a broken heap snapshot, a report of another version). */
export class InvalidInputError extends LeakAgentError {
  override name = 'InvalidInputError';
  override code = 'LEAK_AGENT_INVALID_INPUT';
}

/** The target program could not be started. */
export class SpawnError extends LeakAgentError {
  override name = 'SpawnError';
  override code = 'LEAK_AGENT_SPAWN_FAILED';
}

/** The agent in the target never connected or stopped answering. */
export class AgentUnreachableError extends LeakAgentError {
  override name = 'AgentUnreachableError';
  override code = 'LEAK_AGENT_UNREACHABLE';
}

/** A CDP (inspector) call failed or the connection closed with calls pending. */
export class CdpError extends LeakAgentError {
  override name = 'CdpError';
  override code = 'LEAK_AGENT_CDP';
}

/** Exit codes, documented in the README. The app's own exit code passes through otherwise. */
export const ExitCode = {
  ok: 0,
  /** `--fail-on` matched findings. */
  findings: 3,
  /** Bad arguments or input. */
  usage: 64,
  /** Input file missing or invalid. */
  input: 66,
  /** The target could not be started or reached. */
  unavailable: 69,
  /** A bug in leak-agent. */
  internal: 70,
} as const;

/** The one place that maps errors to exit codes. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof LeakAgentError)) return ExitCode.internal;
  switch (err.code) {
    case 'LEAK_AGENT_INVALID_ARGUMENT':
      return ExitCode.usage;
    case 'LEAK_AGENT_FILE_NOT_FOUND':
    case 'LEAK_AGENT_INVALID_INPUT':
      return ExitCode.input;
    case 'LEAK_AGENT_SPAWN_FAILED':
    case 'LEAK_AGENT_UNREACHABLE':
    case 'LEAK_AGENT_CDP':
      return ExitCode.unavailable;
    default:
      return ExitCode.internal;
  }
}
