/** The README's examples run, as written, in a fresh Node process. */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { readmeExample, runExample } from '@wireseal-tooling/vitest-config/readme';

const pkgDir = fileURLToPath(new URL('..', import.meta.url)); // resolves '@wireseal/http' (self-reference), '@wireseal/core' and 'fastify'
const readme = new URL('../README.md', import.meta.url);

it('README example', async () => {
  const example = readmeExample(readme, '## Example');
  expect(example.split('\n').length).toBeLessThanOrEqual(17);
  expect(await runExample(example, { cwd: pkgDir })).toEqual({
    code: 0,
    out: "{ accepted: true, card: { number: '4111111111111111', cvv: '737' } }\n",
    err: '',
  });
});

it('README partner example (public-key profiles)', async () => {
  const example = readmeExample(readme, '### Example: partners');
  expect(example.split('\n').length).toBeLessThanOrEqual(17);
  expect(await runExample(example, { cwd: pkgDir })).toEqual({ code: 0, out: "{ accepted: 'PO-7731' }\n", err: '' });
});
