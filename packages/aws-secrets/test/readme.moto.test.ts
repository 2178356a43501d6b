/** The README's example runs, as written, against a local Secrets Manager API. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
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
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const example = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  expect(example!.split('\n').length).toBeLessThanOrEqual(16);

  const id = secretName();
  await createSecret(countingClient(sm.clientConfig()).client, id, KeySet.generate({ kid: 'readme-1' }).toJwks());
  // The example's client finds the endpoint, region and credentials the way the AWS SDK does: from env.
  const child = spawn(process.execPath, ['--conditions=@wireseal/source', '--input-type=module-typescript', '-e', example!], {
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
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  expect({ code, out, err }).toEqual({ code: 0, out: '4111 1111 1111 1111\n', err: '' });
});
