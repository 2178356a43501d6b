/** The README's first example runs, as written, in a fresh Node process. */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { readmeExample, runExample } from '@wireseal-tooling/vitest-config/readme';

const pkgDir = fileURLToPath(new URL('..', import.meta.url)); // resolves '@wireseal/core' (self-reference)

it('README example', async () => {
  const example = readmeExample(new URL('../README.md', import.meta.url));
  expect(example).toContain("from '@wireseal/core'");
  expect(await runExample(example, { cwd: pkgDir })).toEqual({
    code: 0,
    out: "4111111111111111 [ 'card.number', 'card.cvv', 'accounts[0].iban' ]\nwhole payload\n",
    err: '',
  });
});
