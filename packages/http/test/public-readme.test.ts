/** The README's partner example (public-key profiles) runs, as written, in a fresh Node process. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

it('README partner example', async () => {
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const example = /### Example: partners\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  expect(example!.split('\n').length).toBeLessThanOrEqual(17);
  const child = spawn(process.execPath, ['--conditions=@wireseal/source', '--input-type=module-typescript', '-e', example!], {
    cwd: pkgDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  expect({ code, out, err }).toEqual({ code: 0, out: "{ accepted: 'PO-7731' }\n", err: '' });
});
