/**
 * secretsManagerKeyProvider against a real Secrets Manager API (moto_server on a loopback port).
 */
import { describe, expect, it, vi } from 'vitest';
import { KeySet, decodeProtectedHeader, open, seal } from '@wireseal/core';
import type { WiresealError } from '@wireseal/core/errors';
import { secretsManagerKeyProvider } from '../src/index.ts';
import type { SecretsManagerErrorInfo, SecretsManagerKeyProvider, SecretsManagerKeyProviderOptions, SecretsManagerRefreshInfo } from '../src/index.ts';
import { caught, countingClient, createSecret, expectNoKeyBytes, jwksWithKeyOf, putSecret, secretName, secretsManagerSuite } from './helpers.ts';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

const moto = secretsManagerSuite<SecretsManagerKeyProvider>();

/** A provider over a counting client, with hooks recorded. */
function track(options: Partial<SecretsManagerKeyProviderOptions> & { secretId: string }) {
  const { client, gets } = countingClient(moto.sm.clientConfig());
  const errors: Array<[WiresealError, SecretsManagerErrorInfo]> = [];
  const refreshes: SecretsManagerRefreshInfo[] = [];
  const provider = secretsManagerKeyProvider({
    client,
    refreshIntervalMs: 200,
    jitter: 0,
    maxStaleMs: 10_000,
    onError: (e, i) => errors.push([e, i]),
    onRefresh: (i) => refreshes.push(i),
    ...options,
  });
  moto.track(provider);
  return { provider, client, gets, errors, refreshes };
}

describe('secretsManagerKeyProvider (moto)', () => {
  it('loads a key set from SecretString; seals and opens', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const keys = KeySet.generate({ kid: 'load-1' });
    const id = secretName();
    const versionId = await createSecret(admin, id, keys.toJwks());
    const { provider, refreshes, errors } = track({ secretId: id, refreshIntervalMs: 60_000, maxStaleMs: 120_000 });
    await provider.ready();
    await provider.ready(); // idempotent
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]).toEqual({ secretId: id, versionId, previousVersionId: undefined, primaryKid: 'load-1', kids: ['load-1'], changed: true });

    const token = seal(provider.current(), 'card 4111');
    expect(text(open(keys, token))).toBe('card 4111'); // the secret's key, not something the provider made up
    expect(text(open(provider.current(), seal(keys, 'back')))).toBe('back');
    expect(provider.status()).toMatchObject({ loaded: true, usable: true, versionId, primaryKid: 'load-1', consecutiveFailures: 0 });
    expect(errors).toEqual([]);
  });

  it('accepts the key set as SecretBinary', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const keys = KeySet.generate({ kid: 'bin-1' });
    const id = secretName();
    await createSecret(admin, id, new TextEncoder().encode(JSON.stringify(keys.toJwks())));
    const { provider } = track({ secretId: id });
    await provider.ready();
    expect(provider.current().primaryKid).toBe('bin-1');
    expect(text(open(keys, seal(provider.current(), 'x')))).toBe('x');
  });

  it('creates its own client from clientConfig', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const id = secretName();
    await createSecret(admin, id, KeySet.generate({ kid: 'own-1' }).toJwks());
    const provider = secretsManagerKeyProvider({ secretId: id, clientConfig: moto.sm.clientConfig() });
    moto.track(provider);
    await provider.ready();
    expect(provider.current().primaryKid).toBe('own-1');
  });

  it('fails fast at start-up with ERR_KEY_SOURCE: missing secret, invalid content, nothing listening', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const missing = track({ secretId: secretName() });
    const e1 = await caught(() => missing.provider.ready());
    expect(e1.code).toBe('ERR_KEY_SOURCE');
    expect(missing.errors).toHaveLength(1);
    expect(missing.errors[0]![1]).toMatchObject({ phase: 'startup', stage: 'AWSCURRENT', consecutiveFailures: 1 });
    expect((await caught(() => missing.provider.current())).code).toBe('ERR_KEY_SOURCE');

    const bad = jwksWithKeyOf(16, 'short');
    const badId = secretName();
    await createSecret(admin, badId, bad);
    const invalid = track({ secretId: badId });
    const e2 = await caught(() => invalid.provider.ready());
    expect(e2.code).toBe('ERR_KEY_SOURCE');
    expect((e2.cause as WiresealError).code).toBe('ERR_KEYSET_INVALID');
    expectNoKeyBytes([e2, ...invalid.errors.flat()], bad);

    // a port nothing listens on: moto is reachable, this endpoint is not
    const down = secretsManagerKeyProvider({
      secretId: badId,
      clientConfig: { ...moto.sm.clientConfig(), endpoint: 'http://127.0.0.1:9', maxAttempts: 1 },
    });
    moto.track(down);
    expect((await caught(() => down.ready())).code).toBe('ERR_KEY_SOURCE');

    // a later ready() tries again and succeeds once the secret exists
    await putSecret(admin, badId, KeySet.generate({ kid: 'now-good' }).toJwks());
    await invalid.provider.ready();
    expect(invalid.provider.current().primaryKid).toBe('now-good');
  });

  it('rotation: after the next refresh new tokens use the new kid; tokens sealed before still open (AWSPREVIOUS)', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const a = KeySet.generate({ kid: 'rot-a' });
    const b = KeySet.generate({ kid: 'rot-b' }); // the new version holds only the new key
    const c = KeySet.generate({ kid: 'rot-c' });
    const id = secretName();
    await createSecret(admin, id, a.toJwks());
    const { provider, refreshes, errors } = track({ secretId: id });
    await provider.ready();
    const before = seal(provider.current(), 'sealed before rotation');
    expect(decodeProtectedHeader(before).kid).toBe('rot-a');

    const vB = await putSecret(admin, id, b.toJwks());
    await vi.waitFor(() => expect(refreshes.at(-1)).toMatchObject({ versionId: vB, primaryKid: 'rot-b', changed: true }), { timeout: 5000, interval: 20 });
    const after = seal(provider.current(), 'sealed after rotation');
    expect(decodeProtectedHeader(after).kid).toBe('rot-b');
    expect(text(open(provider.current(), before))).toBe('sealed before rotation');
    expect(text(open(b, after))).toBe('sealed after rotation');
    expect(provider.current().list()).toEqual([{ kid: 'rot-b', role: 'primary' }, { kid: 'rot-a', role: 'decrypt-only' }]);

    // a service that starts after the rotation opens old tokens too
    const late = track({ secretId: id });
    await late.provider.ready();
    expect(text(open(late.provider.current(), before))).toBe('sealed before rotation');
    expect(decodeProtectedHeader(seal(late.provider.current(), 'x')).kid).toBe('rot-b');

    // includePrevious: false serves AWSCURRENT only
    const strict = track({ secretId: id, includePrevious: false });
    await strict.provider.ready();
    expect((await caught(() => open(strict.provider.current(), before))).code).toBe('ERR_KEY_UNKNOWN');

    // the next rotation pushes rot-a out of AWSPREVIOUS: its tokens no longer open
    await putSecret(admin, id, c.toJwks());
    await provider.refresh();
    expect(provider.current().primaryKid).toBe('rot-c');
    expect(text(open(provider.current(), after))).toBe('sealed after rotation');
    expect((await caught(() => open(provider.current(), before))).code).toBe('ERR_KEY_UNKNOWN');
    expect(errors).toEqual([]);
  });

  it('a send-only service (encrypt-only keys) cannot open what was sealed under its previous key after a rotation', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const sendOnly = (keys: KeySet) => ({ keys: keys.toJwks().keys.map((k) => ({ ...k, key_ops: ['encrypt' as const] })) });
    const a = KeySet.generate({ kid: 'send-a' });
    const b = KeySet.generate({ kid: 'send-b' });
    const id = secretName();
    await createSecret(admin, id, sendOnly(a));
    const { provider, refreshes, errors } = track({ secretId: id });
    await provider.ready();
    const before = seal(provider.current(), 'sealed by the sender under send-a');
    expect((await caught(() => open(provider.current(), before))).code).toBe('ERR_KEY_UNKNOWN');
    const vB = await putSecret(admin, id, sendOnly(b));
    await vi.waitFor(() => expect(refreshes.at(-1)).toMatchObject({ versionId: vB, primaryKid: 'send-b' }), { timeout: 5000, interval: 20 });
    // AWSPREVIOUS held send-a encrypt-only: merging it must not make it a decrypt key.
    expect(provider.current().list()).toEqual([{ kid: 'send-b', role: 'encrypt-only' }]);
    expect((await caught(() => open(provider.current(), before))).code).toBe('ERR_KEY_UNKNOWN');
    expect(text(open(a, before))).toBe('sealed by the sender under send-a');
    expect(errors).toEqual([]);
  });

  it('bad content (not JSON, no primary, a 16-byte key): the last good set stays, the error is reported without key bytes', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const good = KeySet.generate({ kid: 'good-1' });
    const id = secretName();
    await createSecret(admin, id, good.toJwks());
    const { provider, errors, refreshes } = track({ secretId: id, refreshIntervalMs: 60_000, maxStaleMs: 120_000 });
    await provider.ready();
    const sealedGood = seal(provider.current(), 'still opens');

    const noPrimary = { keys: [{ ...KeySet.generate({ kid: 'np-1' }).toJwks().keys[0]!, key_ops: ['decrypt' as const] }] };
    const short = jwksWithKeyOf(16, 'short-1');
    const notJson = `${JSON.stringify(good.toJwks()).slice(0, -3)} oops`; // truncated JSON around real key bytes
    const bad = [notJson, JSON.stringify(noPrimary), JSON.stringify(short)];
    for (const [i, content] of bad.entries()) {
      const versionId = await putSecret(admin, id, content);
      const err = await caught(() => provider.refresh());
      expect(err.code).toBe('ERR_KEY_SOURCE');
      expect(errors).toHaveLength(i + 1);
      const [reported, info] = errors[i]!;
      expect(reported).toBe(err);
      expect((reported.cause as WiresealError).code).toBe('ERR_KEYSET_INVALID');
      expect(info).toMatchObject({ secretId: id, phase: 'refresh', stage: 'AWSCURRENT', versionId, consecutiveFailures: i + 1, servingPrimaryKid: 'good-1' });
      expect(info.usableForMs).toBeGreaterThan(0);
      // the last good set is still in force
      expect(provider.current().primaryKid).toBe('good-1');
      expect(text(open(provider.current(), sealedGood))).toBe('still opens');
      expect(decodeProtectedHeader(seal(provider.current(), 'x')).kid).toBe('good-1');
      expect(provider.status()).toMatchObject({ usable: true, consecutiveFailures: i + 1 });
    }
    expect(refreshes).toHaveLength(1);
    expectNoKeyBytes([...errors.flat(), provider.status(), ...refreshes], good.toJwks(), noPrimary, short);

    // a good version recovers; the bad one (now AWSPREVIOUS) is reported and skipped
    const fixed = good.addKey({ kid: 'good-2' }).promote('good-2');
    const vFixed = await putSecret(admin, id, fixed.toJwks());
    await provider.refresh();
    expect(provider.current().primaryKid).toBe('good-2');
    expect(text(open(provider.current(), sealedGood))).toBe('still opens');
    expect(refreshes.at(-1)).toMatchObject({ versionId: vFixed, previousVersionId: undefined, kids: ['good-1', 'good-2'] });
    expect(errors.at(-1)![1]).toMatchObject({ stage: 'AWSPREVIOUS', phase: 'refresh' });
    expect((errors.at(-1)![0].cause as WiresealError).code).toBe('ERR_KEYSET_INVALID');
    expect(provider.status()).toMatchObject({ consecutiveFailures: 0, lastError: undefined });
    expectNoKeyBytes([...errors.flat(), ...refreshes], fixed.toJwks(), short);
  });

  it('caching: 100,000 seal/open calls cause no GetSecretValue; each background refresh makes exactly one', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const id = secretName();
    await createSecret(admin, id, KeySet.generate({ kid: 'cache-1' }).toJwks());
    const intervalMs = 250;
    const { provider, gets, refreshes } = track({ secretId: id, refreshIntervalMs: intervalMs });
    await provider.ready();
    const gets0 = gets();
    const refreshes0 = refreshes.length;
    const t0 = Date.now();
    let calls = 0;
    while (calls < 100_000 || Date.now() - t0 < 3 * intervalMs) {
      for (let i = 0; i < 500; i++, calls += 2) {
        const token = seal(provider.current(), 'p', { alg: 'dir' }); // dir: the cheaper alg keeps the test short
        open(provider.current(), token);
      }
      await new Promise((r) => setImmediate(r)); // let the refresh timer run between batches
    }
    const elapsed = Date.now() - t0;
    await provider.refresh(); // settle a refresh that may be in flight (or make one more)
    const madeGets = gets() - gets0;
    const madeRefreshes = refreshes.length - refreshes0;
    expect(calls).toBeGreaterThanOrEqual(100_000);
    expect(madeRefreshes).toBeGreaterThanOrEqual(2);
    expect(madeGets).toBe(madeRefreshes);
    expect(madeRefreshes).toBeLessThanOrEqual(Math.ceil(elapsed / intervalMs) + 2);
  });

  it('one request in flight however many callers', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const id = secretName();
    await createSecret(admin, id, KeySet.generate({ kid: 'flight-1' }).toJwks());
    const { provider, gets } = track({ secretId: id, refreshIntervalMs: 60_000, maxStaleMs: 120_000 });
    await Promise.all(Array.from({ length: 20 }, () => provider.ready()));
    expect(gets()).toBe(2); // AWSCURRENT, then AWSPREVIOUS (absent)
    await Promise.all(Array.from({ length: 50 }, () => provider.refresh()));
    expect(gets()).toBe(3); // AWSCURRENT only: version unchanged
  });

  it('close() stops refreshing, and current() throws ERR_KEY_SOURCE afterwards', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const id = secretName();
    await createSecret(admin, id, KeySet.generate({ kid: 'close-1' }).toJwks());
    const { provider, gets } = track({ secretId: id, refreshIntervalMs: 50, maxStaleMs: 5000 });
    await provider.ready();
    await provider.close();
    const n = gets();
    await new Promise((r) => setTimeout(r, 200));
    expect(gets()).toBe(n);
    expect((await caught(() => provider.current())).code).toBe('ERR_KEY_SOURCE');
    expect((await caught(() => provider.refresh())).code).toBe('ERR_KEY_SOURCE');
  });
});
