/**
 * The practical AES-256-GCM limit of this machine: `openssl speed` at 16 KiB
 * blocks, run as a child process in the same benchmark run and parsed from its
 * machine-readable output (`-mr`). By default openssl divides by its CPU user
 * time (comparable with the CPU-time figures of the in-process cases);
 * `-elapsed` makes it divide by wall-clock time (comparable with their wall
 * figures).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One `openssl speed` measurement. */
export interface OpensslSpeed {
  /** Bytes per second. */
  readonly bytesPerSecond: number;
  /** The command line that produced it. */
  readonly command: string;
}

/** `openssl version`, or undefined when openssl is not on PATH. */
export async function opensslVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await run('openssl', ['version']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/**
 * Runs `openssl speed -evp aes-256-gcm -bytes 16384 -seconds N` and returns its throughput
 * per wall-clock second (`-elapsed`) or per CPU second (openssl's default).
 * The `+F:<n>:AES-256-GCM:<bytes/s>` line of `-mr` output carries the figure.
 */
export async function opensslSpeed(seconds: number, clock: 'wall' | 'cpu', bytes = 16384): Promise<OpensslSpeed> {
  const args = ['speed', '-mr', ...(clock === 'wall' ? ['-elapsed'] : []), '-evp', 'aes-256-gcm', '-bytes', String(bytes), '-seconds', String(seconds)];
  const { stdout, stderr } = await run('openssl', args, { timeout: (seconds + 30) * 1000 });
  const line = `${stdout}\n${stderr}`.split('\n').find((l) => /^\+F:\d+:AES-256-GCM:/i.test(l));
  if (!line) throw new Error(`could not parse 'openssl ${args.join(' ')}' output:\n${stdout}${stderr}`);
  const value = Number(line.split(':')[3]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`unexpected 'openssl speed' figure: ${line}`);
  return { bytesPerSecond: value, command: `openssl ${args.join(' ')}` };
}
