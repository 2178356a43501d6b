/**
 * CLI errors and exit codes. Library failures arrive as `WiresealError`s with
 * their own stable codes (exit 1); the CLI adds `ERR_USAGE` (exit 2) and
 * `ERR_INPUT_INVALID` (exit 1: input that is not JSON/JSONL), `ERR_USAGE`
 * (exit 2) and `ERR_IO` (exit 3). Every error is printed as `error CODE: message`.
 */
import { WiresealError } from '@wireseal/core';

/** The stable exit codes of the `wireseal` command. */
export const EXIT = Object.freeze({
  /** Success. */
  OK: 0,
  /** A wireseal error (bad key set, token, policy, key source, ...) or `ERR_INPUT_INVALID`: `error ERR_...: message`. */
  WIRESEAL: 1,
  /** Bad command line, or an action refused without `--force`: `error ERR_USAGE: message`. */
  USAGE: 2,
  /** A file, stream, Secrets Manager or Kafka operation failed: `error ERR_IO: message`. */
  IO: 3,
  /** `reencrypt` finished, but some records were rejected (see the reject file); `scan` found tokens under a `--require-absent` kid. */
  REJECTED: 4,
  /** Interrupted (SIGINT/SIGTERM); `reencrypt` wrote a checkpoint and can `--resume`. */
  INTERRUPTED: 130,
} as const);

/** Codes the CLI itself adds to wireseal's. */
export type CliErrorCode = 'ERR_USAGE' | 'ERR_IO' | 'ERR_INPUT_INVALID';

/** An error raised by the CLI itself, with a stable code and exit status. */
export class CliError extends Error {
  /** `ERR_USAGE`, `ERR_IO` or `ERR_INPUT_INVALID`. */
  readonly code: CliErrorCode;
  /** The process exit status this error maps to. */
  readonly exitCode: number;

  /**
   * @param code - the stable code
   * @param message - operator-facing text; never key bytes or plaintext
   */
  constructor(code: CliErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.exitCode = code === 'ERR_USAGE' ? EXIT.USAGE : code === 'ERR_IO' ? EXIT.IO : EXIT.WIRESEAL;
    this.name = 'CliError';
  }
}

/** A bad command line, or an action refused without `--force` (exit 2). */
export function usageError(message: string): CliError {
  return new CliError('ERR_USAGE', message);
}

/** An I/O failure (exit 3). `cause` may be a Node `ErrnoException`: its code is appended. */
export function ioError(message: string, cause?: unknown): CliError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new CliError('ERR_IO', typeof code === 'string' ? `${message} (${code})` : message, cause === undefined ? undefined : { cause });
}

/** Input that is not what the command reads (not JSON, not JSONL) (exit 1). */
export function inputError(message: string): CliError {
  return new CliError('ERR_INPUT_INVALID', message);
}

/** The exit status and the one line (`error CODE: message`) to print for any thrown value. */
export function describeError(err: unknown): { exitCode: number; line: string } {
  if (err instanceof CliError) return { exitCode: err.exitCode, line: `error ${err.code}: ${err.message}` };
  if (err instanceof WiresealError) return { exitCode: EXIT.WIRESEAL, line: `error ${err.code}: ${err.message}` };
  // Anything else is a bug in the CLI (or a dependency): say so, but never dump objects that might hold secrets.
  const message = err instanceof Error ? `${err.name}: ${err.message}` : 'unknown failure';
  return { exitCode: EXIT.WIRESEAL, line: `error ERR_INTERNAL: ${message}` };
}
