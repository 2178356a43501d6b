// Runs the built `wireseal` executable as a subprocess.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/cli.js, built by test/global-setup.ts. */
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** What a run of the executable gave. */
export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as UTF-8. */
  out: string;
}

/** Options for {@link wireseal}. */
export interface RunOptions {
  input?: string | Uint8Array;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Called with the child once it is spawned (to kill it, for instance). */
  onSpawn?: (child: ChildProcess) => void;
}

/** A clean environment: no WIRESEAL_KEYSET or AWS settings leak in from the developer's shell. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('AWS_') || k === 'WIRESEAL_KEYSET' || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return env;
}

/** The Node that runs the executable: `process.execPath`, or WIRESEAL_CLI_NODE (e.g. a Node 20 binary). */
export const NODE = process.env.WIRESEAL_CLI_NODE || process.execPath;

/** Runs `wireseal ...args` with {@link NODE}. */
export function wireseal(args: string[], options: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const env = { ...baseEnv(), ...options.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(NODE, [CLI, ...args], { cwd: options.cwd, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out);
      resolve({ code, signal, stdout, out: stdout.toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading its input
    child.stdin.end(options.input ?? '');
    options.onSpawn?.(child);
  });
}

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'wireseal-cli-'): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The `error CODE:` code a failed run printed. */
export function errorCode(r: Result): string | undefined {
  return /^error (ERR_[A-Z_]+):/m.exec(r.stderr)?.[1];
}
