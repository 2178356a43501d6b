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

it('README example', async () => {
  const example = readmeExample(new URL('../README.md', import.meta.url), '## Example');
  expect(example.split('\n').length).toBeLessThanOrEqual(16);

  const id = secretName();
  await createSecret(countingClient(sm.clientConfig()).client, id, KeySet.generate({ kid: 'readme-1' }).toJwks());
  // The example's client finds the endpoint, region and credentials the way the AWS SDK does: from env.
  const run = runExample(example, {
    cwd: pkgDir, // resolves '@wireseal/aws-secrets' (self-reference) and '@wireseal/core'
    env: {
      ...process.env,
      WIRESEAL_SECRET_ID: id,
      AWS_ENDPOINT_URL: sm.endpoint,
      AWS_REGION: sm.region,
      AWS_ACCESS_KEY_ID: sm.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: sm.credentials.secretAccessKey,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    },
  });
  expect(await run).toEqual({ code: 0, out: '4111 1111 1111 1111\n', err: '' });
});
