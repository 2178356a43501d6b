// Runs the project's Python partners (tooling/python) as child processes
// with $WIRESEAL_PYTHON. Asynchronous on purpose: the servers under test run
// in this process and must keep answering while Python waits for them.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TOOLING = fileURLToPath(new URL('../../../tooling/python/', import.meta.url));

/** The project venv's python; throws (never skips) when the environment is not set up. */
export function python(): string {
  const py = process.env.WIRESEAL_PYTHON;
  if (!py) throw new Error('WIRESEAL_PYTHON is not set: run ./dev setup (it installs jwcrypto and pyhpke) and source scripts/env.sh');
  return py;
}

/** Runs `tooling/python/<script> ...args` with `input` as JSON on stdin; resolves with its JSON output. */
export function runPartner(script: string, args: string[], input?: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(python(), [`${TOOLING}${script}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString().slice(-2000);
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(Buffer.concat(out).toString()));
      } catch {
        reject(new Error(`${script} printed no JSON: ${stderr}`));
      }
    });
    child.stdin.end(input === undefined ? '' : JSON.stringify(input));
  });
}
