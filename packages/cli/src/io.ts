/**
 * The process surface a command uses: standard streams and the environment.
 * Commands never touch `process` directly, so `run()` can be driven from code.
 */
import type { Readable, Writable } from 'node:stream';
import { LimitExceededError } from '@wireseal/core/errors';
import { ioError } from './errors.ts';

/** Streams and environment of one CLI invocation. */
export interface Io {
  /** Input for seal, open, inspect and fields. */
  stdin: Readable;
  /** Command output (tokens, plaintext, documents, key sets, `--json` summaries). */
  stdout: Writable;
  /** Diagnostics: status lines, progress, summaries, errors. Never key bytes. */
  stderr: Writable;
  /** Environment variables (`--keyset-env`, AWS configuration). */
  env: Record<string, string | undefined>;
  /** True when stderr is a terminal (progress bar instead of periodic lines). */
  stderrIsTTY: boolean;
}

/** The Io of the current process. */
export function processIo(): Io {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

/** Reads all of `stream` into one buffer, refusing more than `maxBytes`. */
export async function readAll(stream: Readable, maxBytes: number, what = 'standard input'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      total += buf.length;
      if (total > maxBytes) throw new LimitExceededError(`${what} is over the limit of ${maxBytes} bytes`);
      chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof LimitExceededError) throw err;
    throw ioError(`cannot read ${what}`, err);
  }
  return Buffer.concat(chunks, total);
}

/** Writes and waits until the stream has accepted the data. */
export function write(stream: Writable, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (err) => (err ? reject(ioError('cannot write output', err)) : resolve()));
  });
}
