/** The refresh timer never keeps a process alive. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { SecretsManagerHandle } from '@wireseal-tooling/local-secrets';
import { KeySet } from '@wireseal/core';
import { countingClient, createSecret, secretName } from './helpers.ts';

let sm: SecretsManagerHandle;
beforeAll(async () => {
  sm = await startSecretsManager();
});
afterAll(async () => {
  await sm?.stop();
});

it('a process with a ready provider and no close() exits by itself', async () => {
  const id = secretName();
  await createSecret(countingClient(sm.clientConfig()).client, id, KeySet.generate({ kid: 'exit-1' }).toJwks());
  const script = fileURLToPath(new URL('./fixtures/no-close.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=@wireseal/source', script], {
    env: { ...process.env, SECRET_ID: id, CLIENT_CONFIG: JSON.stringify(sm.clientConfig()) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);
  expect({ code, signal, out, err }).toEqual({ code: 0, signal: null, out: 'ready exit-1\n', err: '' });
});
