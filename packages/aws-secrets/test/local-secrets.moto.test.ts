/** The local Secrets Manager emulator other packages reuse (tooling/local-secrets). */
import { GetSecretValueCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { expect, it } from 'vitest';
import { secretsManagerAvailable, startSecretsManager } from '@wireseal-tooling/local-secrets';
import { countingClient, createSecret, secretName } from './helpers.ts';

it('names the fix when the virtualenv is missing', async () => {
  const avail = secretsManagerAvailable({ python: '/nonexistent/venv/bin/python' });
  expect(avail.ok).toBe(false);
  await expect(startSecretsManager({ python: '/nonexistent/venv/bin/python' })).rejects.toThrow(/\.\/dev setup/);
});

it('answers the Secrets Manager API, restarts on the same port with empty state, resets', async () => {
  const sm = await startSecretsManager();
  try {
    expect(sm.endpoint).toBe(`http://127.0.0.1:${sm.port}`);
    expect(sm.clientConfig()).toEqual({ endpoint: sm.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const { client } = countingClient(sm.clientConfig());
    const id = secretName();
    await createSecret(client, id, 'v1');
    expect((await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString).toBe('v1');

    await sm.stop();
    expect(sm.running()).toBe(false);
    await expect(client.send(new GetSecretValueCommand({ SecretId: id }))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const port = sm.port;
    await sm.start();
    expect(sm.port).toBe(port);
    await expect(client.send(new GetSecretValueCommand({ SecretId: id }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    await createSecret(client, id, 'v2');
    await sm.reset();
    expect((await client.send(new ListSecretsCommand({}))).SecretList).toEqual([]);
  } finally {
    await sm.stop();
  }
});
