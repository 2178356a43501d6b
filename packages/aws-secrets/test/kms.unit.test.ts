/** protectKeySet / unprotectKeySet / isProtectedKeySet against an in-memory KMS (the real API: kms.moto.test.ts). */
import { describe, expect, it } from 'vitest';
import { KeySet, open, seal } from '@wireseal/core';
import { isProtectedKeySet, parseProtectedKeySet, protectKeySet, secretsManagerKeyProvider, unprotectKeySet } from '../src/index.ts';
import type { KeySourceFailure } from '../src/index.ts';
import { caught, expectNoKeyBytes } from './helpers.ts';
import { fakeKms } from './fake-kms.ts';

const secretId = 'prod/payments/wireseal-keys';

describe('KMS-protected key sets', () => {
  it('round-trips: kids and roles readable, key bytes not; one Encrypt and one Decrypt per key', async () => {
    const { kmsClient, counts } = fakeKms();
    const set = KeySet.generate({ kid: 'a' }).addKey({ kid: 'b' });
    const prot = await protectKeySet(set.toJwks(), { kmsClient, kmsKeyId: 'alias/wireseal', secretId });
    expect(counts.Encrypt).toBe(2);
    expect(prot.wireseal).toBe('kms-v1');
    expect(prot.kmsKeyId).toBe('alias/wireseal');
    expect(prot.keys.map((k) => [k.kid, k.key_ops])).toEqual([['a', ['encrypt', 'decrypt']], ['b', ['decrypt']]]);
    expect(prot.keys.every((k) => !('k' in k) && typeof k.k_kms === 'string')).toBe(true);
    expectNoKeyBytes([prot], set.toJwks());
    expect(isProtectedKeySet(prot)).toBe(true);
    expect(isProtectedKeySet(JSON.stringify(prot))).toBe(true);
    expect(isProtectedKeySet(new TextEncoder().encode(JSON.stringify(prot)))).toBe(true);
    expect(isProtectedKeySet(set.toJwks())).toBe(false);
    expect(isProtectedKeySet('not json')).toBe(false);

    const back = await unprotectKeySet(JSON.stringify(prot), { kmsClient, secretId });
    expect(counts.Decrypt).toBe(2);
    const restored = KeySet.fromJwks(back);
    expect(restored.toJwks()).toEqual(set.toJwks());
    const token = seal(set, 'hello');
    expect(new TextDecoder().decode(open(restored, token))).toBe('hello');
  });

  it('binds the secret name and the kid: a blob copied to another secret or kid does not decrypt', async () => {
    const { kmsClient } = fakeKms();
    const set = KeySet.generate({ kid: 'a' }).addKey({ kid: 'b' });
    const prot = await protectKeySet(set.toJwks(), { kmsClient, kmsKeyId: 'k1', secretId });
    const other = await caught(() => unprotectKeySet(prot, { kmsClient, secretId: 'prod/other' }));
    expect(other.code).toBe('ERR_KEY_SOURCE');
    expect((other as KeySourceFailure).reason).toBe('kms');
    const swapped = { ...prot, keys: [{ ...prot.keys[0]!, k_kms: prot.keys[1]!.k_kms }, prot.keys[1]!] };
    const err = await caught(() => unprotectKeySet(swapped, { kmsClient, secretId }));
    expect(err.message).toContain('key "a"');
    expectNoKeyBytes([other, err], set.toJwks());
  });

  it('with previous, only new keys get an Encrypt; changed roles are taken from the new set', async () => {
    const { kmsClient, counts } = fakeKms();
    const v1 = KeySet.generate({ kid: 'a' });
    const p1 = await protectKeySet(v1.toJwks(), { kmsClient, kmsKeyId: 'k1', secretId });
    const v2 = v1.addKey({ kid: 'b' }).promote('b');
    const before = counts.Encrypt;
    const p2 = await protectKeySet(v2.toJwks(), { kmsClient, kmsKeyId: 'k1', secretId, previous: JSON.stringify(p1) });
    expect(counts.Encrypt - before).toBe(1);
    expect(p2.keys[0]!.k_kms).toBe(p1.keys[0]!.k_kms);
    expect(p2.keys.map((k) => [k.kid, k.key_ops])).toEqual([['a', ['decrypt']], ['b', ['encrypt', 'decrypt']]]);
    expect(KeySet.fromJwks(await unprotectKeySet(p2, { kmsClient, secretId })).toJwks()).toEqual(v2.toJwks());
    // another KMS key: everything is encrypted again
    const p3 = await protectKeySet(v2.toJwks(), { kmsClient, kmsKeyId: 'k2', secretId, previous: p2 });
    expect(counts.Encrypt - before).toBe(3);
    expect(p3.kmsKeyId).toBe('k2');
  });

  it('refuses invalid input without echoing key bytes', async () => {
    const { kmsClient } = fakeKms();
    const set = KeySet.generate({ kid: 'a' });
    expect((await caught(() => protectKeySet({ keys: [] }, { kmsClient, kmsKeyId: 'k', secretId }))).code).toBe('ERR_KEYSET_INVALID');
    expect((await caught(() => protectKeySet(set.toJwks(), { kmsClient, kmsKeyId: 'k', secretId: 'arn:aws:secretsmanager:us-east-1:1:secret:x-abcdef' }))).code).toBe('ERR_KEY_SOURCE');
    const leak = { wireseal: 'kms-v1', kmsKeyId: 'k', keys: [{ ...set.toJwks().keys[0]!, k_kms: 'AAAA' }] };
    const err = await caught(() => parseProtectedKeySet(leak));
    expect(err.code).toBe('ERR_KEYSET_INVALID');
    expect(err.message).toContain('clear "k"');
    expectNoKeyBytes([err], set.toJwks());
    expect((await caught(() => parseProtectedKeySet({ wireseal: 'kms-v9', kmsKeyId: 'k', keys: [] }))).message).toContain('kms-v9');
  });

  it('a KMS failure is ERR_KEY_SOURCE with reason "kms"', async () => {
    const { kmsClient, fail } = fakeKms();
    const set = KeySet.generate({ kid: 'a' });
    const prot = await protectKeySet(set.toJwks(), { kmsClient, kmsKeyId: 'k', secretId });
    fail.on = true;
    const err = (await caught(() => unprotectKeySet(prot, { kmsClient, secretId }))) as KeySourceFailure;
    expect(err.code).toBe('ERR_KEY_SOURCE');
    expect(err.reason).toBe('kms');
    expect(err.message).toContain('AccessDeniedException');
  });
});

describe('secretsManagerKeyProvider over a protected secret (fake clients)', () => {
  const answer = (content: string) => ({
    send: async () => ({ SecretString: content, VersionId: 'v1', Name: secretId, $metadata: {} }),
  });

  it('an unknown "wireseal" format is refused as content, naming it', async () => {
    const provider = secretsManagerKeyProvider({ secretId, client: answer(JSON.stringify({ wireseal: 'kms-v9', kmsKeyId: 'k', keys: [] })), includePrevious: false });
    const err = (await caught(() => provider.ready())) as KeySourceFailure;
    expect([err.code, err.reason]).toEqual(['ERR_KEY_SOURCE', 'content']);
    expect(err.message).toContain('"kms-v9"');
    await provider.close();
  });

  it('loads with one Decrypt per key, then one re-check Decrypt per unchanged refresh, each key in turn', async () => {
    const { kmsClient, counts } = fakeKms();
    const set = KeySet.generate({ kid: 'a' }).addKey({ kid: 'b' });
    const prot = await protectKeySet(set.toJwks(), { kmsClient, kmsKeyId: 'k', secretId });
    const provider = secretsManagerKeyProvider({ secretId, client: answer(JSON.stringify(prot)), kmsClient, includePrevious: false });
    await provider.ready();
    expect(counts.Decrypt).toBe(2);
    expect(provider.current().toJwks()).toEqual(set.toJwks());
    await provider.refresh();
    await provider.refresh();
    expect(counts.Decrypt).toBe(4);
    expect(provider.status()).toMatchObject({ kmsKeyId: 'k', lastErrorReason: undefined, consecutiveFailures: 0 });
    await provider.close();
  });
});
