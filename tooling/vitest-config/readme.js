// Runs a README's code example as written, in a fresh Node process, so the
// example a user copies is the example the tests ran.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';

/**
 * The ```ts block right under the heading line `heading` (matched as a whole
 * line, e.g. '## Example'), or the first ```ts block of the file when heading
 * is omitted.
 * @param {string | URL} readme
 * @param {string} [heading]
 */
export function readmeExample(readme, heading) {
  const text = fs.readFileSync(readme, 'utf8');
  const escaped = heading?.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = escaped === undefined ? /```ts\n([\s\S]*?)```/ : new RegExp(`^${escaped}[ \\t]*\\n\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``, 'm');
  const code = re.exec(text)?.[1];
  if (code === undefined) throw new Error(`no \`\`\`ts block${heading ? ` right under "${heading}"` : ''} in ${String(readme)}`);
  return code;
}

/**
 * Runs `code` as a TypeScript module with the workspace's source condition.
 * Resolves with the exit code and output, when the process exits, or as soon
 * as `until(stdout)` holds (the process is then killed: for examples that
 * serve or consume forever), or after `timeoutMs` (killed, code null).
 * @param {string} code
 * @param {{ cwd: string, env?: NodeJS.ProcessEnv, until?: (out: string) => boolean, timeoutMs?: number }} options
 * @returns {Promise<{ code: number | null, out: string, err: string }>}
 */
export async function runExample(code, options) {
  const child = spawn(process.execPath, ['--conditions=@wireseal/source', '--input-type=module-typescript', '-e', code], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let stopped = false;
  child.stdout.on('data', (d) => {
    out += d;
    if (!stopped && options.until?.(out)) {
      stopped = true;
      child.kill('SIGKILL');
    }
  });
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const [exit] = await once(child, 'close'); // after stdout and stderr are fully read
  clearTimeout(timer);
  return { code: stopped ? 0 : exit, out, err };
}
