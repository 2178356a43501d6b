/**
 * Outage: moto is stopped mid-test. The cached key set keeps serving until maxStaleMs after the
 * last successful refresh, then current() throws ERR_KEY_SOURCE; when moto is back (with the secret
 * recreated: moto loses its state) the provider recovers by itself.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { SecretsManagerHandle } from '@wireseal-tooling/local-secrets';
import { KeySet, open, seal } from '@wireseal/core';
import type { WiresealError } from '@wireseal/core/errors';
import { secretsManagerKeyProvider } from '../src/index.ts';
import type { SecretsManagerErrorInfo } from '../src/index.ts';
import { codeOf, countingClient, createSecret, expectNoKeyBytes, secretName } from './helpers.ts';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

let sm: SecretsManagerHandle;
beforeAll(async () => {
  sm = await startSecretsManager();
});
afterAll(async () => {
  await sm?.stop();
});


it('serves the cached set through an outage, goes stale after maxStaleMs, recovers by itself', async () => {
  const keys = KeySet.generate({ kid: 'outage-1' });
  const id = secretName();
  await createSecret(countingClient(sm.clientConfig()).client, id, keys.toJwks());

  const maxStaleMs = 2000;
  const errors: Array<[WiresealError, SecretsManagerErrorInfo]> = [];
  const { client } = countingClient({ ...sm.clientConfig(), maxAttempts: 1 });
  const provider = secretsManagerKeyProvider({
    secretId: id,
    client,
    refreshIntervalMs: 200,
    jitter: 0,
    maxStaleMs,
    requestTimeoutMs: 1000,
    onError: (e, i) => errors.push([e, i]),
  });
  try {
    await provider.ready();
    const before = seal(provider.current(), 'sealed before the outage');

    await sm.stop();
    // the refresh fails and is reported; the cached set keeps working
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: 5000, interval: 20 });
    const [firstErr, firstInfo] = errors[0]!;
    expect(firstErr.code).toBe('ERR_KEY_SOURCE');
    expect(firstInfo).toMatchObject({ phase: 'refresh', stage: 'AWSCURRENT', servingPrimaryKid: 'outage-1' });
    const { lastSuccessAt } = provider.status();
    if (Date.now() - lastSuccessAt! < maxStaleMs - 200) {
      const during = seal(provider.current(), 'sealed during the outage');
      expect(text(open(provider.current(), during))).toBe('sealed during the outage');
      expect(text(open(provider.current(), before))).toBe('sealed before the outage');
    } else {
      throw new Error('machine too slow: the outage was detected only near maxStaleMs');
    }

    // past maxStaleMs: nothing is sealed or opened with keys that may have been revoked
    await vi.waitFor(() => expect(codeOf(() => provider.current())).toBe('ERR_KEY_SOURCE'), { timeout: maxStaleMs + 3000, interval: 20 });
    expect(Date.now() - lastSuccessAt!).toBeGreaterThan(maxStaleMs);
    expect(codeOf(() => seal(provider.current(), 'x'))).toBe('ERR_KEY_SOURCE');
    expect(codeOf(() => open(provider.current(), before))).toBe('ERR_KEY_SOURCE');
    expect(provider.status()).toMatchObject({ usable: false, loaded: true });
    expect(errors.length).toBeGreaterThan(1); // it keeps trying

    // moto comes back empty: recreate the secret; the provider recovers without any call from us
    await sm.start();
    await createSecret(countingClient(sm.clientConfig()).client, id, keys.toJwks());
    await vi.waitFor(() => expect(codeOf(() => provider.current())).toBeUndefined(), { timeout: 5000, interval: 20 });
    expect(text(open(provider.current(), before))).toBe('sealed before the outage');
    expect(provider.status()).toMatchObject({ usable: true, consecutiveFailures: 0 });
    expectNoKeyBytes(errors.flat(), keys.toJwks());
  } finally {
    await provider.close();
  }
});
