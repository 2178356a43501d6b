/** The README's example runs, as written, against a local Secrets Manager API. */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readmeExample, runExample } from '@wireseal-tooling/vitest-config/readme';
import { startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { SecretsManagerHandle } from '@wireseal-tooling/local-secrets';
import { KeySet } from '@wireseal/core';
import { countingClient, createSecret, secretName } from './helpers.ts';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

let sm: SecretsManagerHandle;
beforeAll(async () => {
  sm = await startSecretsManager();
});
afterAll(async () => {
  await sm?.stop();
});

/** Env for an example: its client finds the endpoint, region and credentials the way the AWS SDK does. */
const exampleEnv = (vars: Record<string, string>): NodeJS.ProcessEnv => ({
  ...process.env,
  ...vars,
  AWS_ENDPOINT_URL: sm.endpoint,
  AWS_REGION: sm.region,
  AWS_ACCESS_KEY_ID: sm.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: sm.credentials.secretAccessKey,
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
});

it('README example', async () => {
  const example = readmeExample(new URL('../README.md', import.meta.url), '## Example');
  expect(example.split('\n').length).toBeLessThanOrEqual(16);

  const id = secretName();
  await createSecret(countingClient(sm.clientConfig()).client, id, KeySet.generate({ kid: 'readme-1' }).toJwks());
  const run = runExample(example, {
    cwd: pkgDir, // resolves '@wireseal/aws-secrets' (self-reference) and '@wireseal/core'
    env: exampleEnv({ WIRESEAL_SECRET_ID: id }),
  });
  expect(await run).toEqual({ code: 0, out: '4111 1111 1111 1111\n', err: '' });
});

it('README audiences example', async () => {
  const example = readmeExample(new URL('../README.md', import.meta.url), '### Example with two audiences');
  expect(example.split('\n').length).toBeLessThanOrEqual(18);

  const admin = countingClient(sm.clientConfig()).client;
  const [pci, pii] = [secretName(), secretName()];
  await createSecret(admin, pci, KeySet.generate({ kid: 'readme-pci' }).toJwks());
  await createSecret(admin, pii, KeySet.generate({ kid: 'readme-pii' }).toJwks());
  const run = runExample(example, { cwd: pkgDir, env: exampleEnv({ WIRESEAL_PCI_SECRET_ID: pci, WIRESEAL_PII_SECRET_ID: pii }) });
  expect(await run).toEqual({ code: 0, out: '{"card":{"number":"4111 1111 1111 1111"},"customer":{"ssn":"078-05-1120"}}\n', err: '' });

  // without the pii secret the example stops at ready(), naming the audience
  const failed = await runExample(example, { cwd: pkgDir, env: exampleEnv({ WIRESEAL_PCI_SECRET_ID: pci, WIRESEAL_PII_SECRET_ID: secretName() }) });
  expect(failed.code).not.toBe(0);
  expect(failed.out).toBe('');
  expect(failed.err).toContain('wireseal keys (pii): ERR_KEY_SOURCE (AWSCURRENT)');
  expect(failed.err).toMatch(/KeySourceError: secretsManagerKeyring: 1 of 2 audiences not ready: audience "pii": /);
});
