/**
 * secretsManagerKeyring against a real Secrets Manager API (moto_server on a loopback port):
 * one secret per audience, each loaded, refreshed and going stale on its own.
 */
import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it, vi } from 'vitest';
import { FieldPolicy, KeySet, PrivateKeySet, PublicKeySet, decodeProtectedHeader, decryptFields, encryptFields } from '@wireseal/core';
import type { WiresealError } from '@wireseal/core/errors';
import { secretsManagerKeyring } from '../src/index.ts';
import type { SecretsManagerAudienceErrorInfo, SecretsManagerAudienceRefreshInfo, SecretsManagerAudiences, SecretsManagerKeyring, SecretsManagerKeyringOptions } from '../src/index.ts';
import { caught, codeOf, countingClient, createSecret, expectNoKeyBytes, jwksWithKeyOf, putSecret, secretName, secretsManagerSuite } from './helpers.ts';

const moto = secretsManagerSuite<SecretsManagerKeyring>();

const policy = FieldPolicy.parse({ audiences: { pci: ['card.number'], pii: ['customer.ssn'] } });
const both = { id: 'pay_1', card: { number: '4111 1111 1111 1111' }, customer: { ssn: '078-05-1120' } };
const pciOnly = { id: 'pay_2', card: { number: '5500 0000 0000 0004' } };
const piiOnly = { id: 'pay_3', customer: { ssn: '219-09-9999' } };
type Doc = { id: string; card?: { number: string }; customer?: { ssn: string } };


/** The error a synchronous call throws. */
function thrown(fn: () => unknown): WiresealError {
  try {
    fn();
  } catch (err) {
    return err as WiresealError;
  }
  throw new Error('expected a failure');
}

const kidOf = (token: unknown): string | undefined => decodeProtectedHeader(token as string).kid;

/** A keyring over a counting client, with hooks recorded. */
function track<const A extends SecretsManagerAudiences>(options: Omit<SecretsManagerKeyringOptions<A>, 'client'>) {
  const { client, gets } = countingClient(moto.sm.clientConfig());
  const errors: Array<[WiresealError, SecretsManagerAudienceErrorInfo]> = [];
  const refreshes: SecretsManagerAudienceRefreshInfo[] = [];
  const ring = secretsManagerKeyring<A>({
    client,
    refreshIntervalMs: 200,
    jitter: 0,
    maxStaleMs: 10_000,
    onError: (e, i) => errors.push([e, i]),
    onRefresh: (i) => refreshes.push(i),
    ...options,
  });
  moto.track(ring as unknown as SecretsManagerKeyring);
  return { ring, client, gets, errors, refreshes };
}

/** Two secrets, `pci` and `pii`, each with a fresh shared key set. */
async function twoSecrets(prefix: string) {
  const admin = countingClient(moto.sm.clientConfig()).client;
  const pciKeys = KeySet.generate({ kid: `${prefix}-pci-1` });
  const piiKeys = KeySet.generate({ kid: `${prefix}-pii-1` });
  const pciId = secretName();
  const piiId = secretName();
  await createSecret(admin, pciId, pciKeys.toJwks());
  await createSecret(admin, piiId, piiKeys.toJwks());
  return { admin, pciKeys, piiKeys, pciId, piiId };
}

describe('secretsManagerKeyring (moto)', () => {
  it('two audiences, one secret each: seals and opens a two-audience document with each audience under its own secret', async () => {
    const { pciKeys, piiKeys, pciId, piiId } = await twoSecrets('two');
    const { ring, gets, refreshes, errors } = track({ audiences: { pci: { secretId: pciId }, pii: { secretId: piiId } } });
    await ring.ready();
    expect(gets()).toBe(4); // one client for both: AWSCURRENT and AWSPREVIOUS (absent) of each
    expect(refreshes.map((r) => [r.audience, r.kind, r.secretId, r.primaryKid]).sort()).toEqual([
      ['pci', 'shared', pciId, 'two-pci-1'],
      ['pii', 'shared', piiId, 'two-pii-1'],
    ]);

    const sealed = encryptFields(ring.keyring, both, policy) as Doc;
    expect(kidOf(sealed.card!.number)).toBe('two-pci-1');
    expect(kidOf(sealed.customer!.ssn)).toBe('two-pii-1');
    expect(sealed.id).toBe('pay_1');
    expect(decryptFields(ring.keyring, sealed, policy).doc).toEqual(both);
    // the keys are the secrets' own: a reader holding only the pii secret's set opens pii, leaves pci sealed
    const piiReader = decryptFields<Doc>({ pii: piiKeys }, sealed, policy);
    expect(piiReader.doc.customer).toEqual(both.customer);
    expect(piiReader.sealed).toEqual(['card.number']);
    expect(decryptFields({ pci: pciKeys, pii: piiKeys }, sealed, policy).doc).toEqual(both);

    expect(ring.status()).toMatchObject({
      loaded: true,
      usable: true,
      closed: false,
      unusable: [],
      audiences: { pci: { secretId: pciId, kind: 'shared', primaryKid: 'two-pci-1', usable: true }, pii: { secretId: piiId, primaryKid: 'two-pii-1', usable: true } },
    });
    expect(Object.keys(ring.keyring)).toEqual(['pci', 'pii']);
    expect(Object.isFrozen(ring.keyring)).toBe(true);
    expect(errors).toEqual([]);
  });

  it("a deleted secret: after maxStaleMs only that audience's documents fail (ERR_KEY_SOURCE); the other audience keeps sealing and opening", async () => {
    const { admin, pciKeys, piiKeys, pciId, piiId } = await twoSecrets('del');
    const maxStaleMs = 1500;
    const { ring, errors, refreshes } = track({ audiences: { pci: { secretId: pciId }, pii: { secretId: piiId } }, maxStaleMs });
    await ring.ready();
    const sealedBoth = encryptFields(ring.keyring, both, policy) as Doc;
    const sealedPci = encryptFields(ring.keyring, pciOnly, policy) as Doc;
    const sealedPii = encryptFields(ring.keyring, piiOnly, policy) as Doc;

    await admin.send(new DeleteSecretCommand({ SecretId: piiId, ForceDeleteWithoutRecovery: true }));
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: 5000, interval: 20 });
    const [firstErr, firstInfo] = errors[0]!;
    expect(firstErr.code).toBe('ERR_KEY_SOURCE');
    expect(firstErr.message).toContain(`cannot read secret ${piiId} for audience "pii" (AWSCURRENT): ResourceNotFoundException`);
    expect(firstInfo).toMatchObject({ audience: 'pii', kind: 'shared', secretId: piiId, phase: 'refresh', stage: 'AWSCURRENT', servingPrimaryKid: 'del-pii-1' });
    // within maxStaleMs the last good pii set still serves
    const piiLastSuccess = ring.status().audiences.pii.lastSuccessAt!;
    if (Date.now() - piiLastSuccess < maxStaleMs - 300) {
      expect(decryptFields(ring.keyring, encryptFields(ring.keyring, both, policy), policy).doc).toEqual(both);
    } else {
      throw new Error('machine too slow: the failed refresh was seen only near maxStaleMs');
    }

    // past maxStaleMs the pii provider refuses; pci is untouched
    await vi.waitFor(() => expect(codeOf(() => ring.keyring.pii.current())).toBe('ERR_KEY_SOURCE'), { timeout: maxStaleMs + 3000, interval: 20 });
    const refreshesAtStale = refreshes.filter((r) => r.audience === 'pci').length;
    const stale = thrown(() => ring.keyring.pii.current());
    expect(stale.message).toMatch(new RegExp(`^key set from secret ${piiId} for audience "pii" is stale`));
    expect((stale.cause as WiresealError).code).toBe('ERR_KEY_SOURCE');

    // writers: a document with pii values fails whole (nothing half-sealed); pci-only documents seal
    expect(codeOf(() => encryptFields(ring.keyring, piiOnly, policy))).toBe('ERR_KEY_SOURCE');
    expect(codeOf(() => encryptFields(ring.keyring, both, policy))).toBe('ERR_KEY_SOURCE');
    const freshPci = encryptFields(ring.keyring, pciOnly, policy) as Doc;
    expect(kidOf(freshPci.card!.number)).toBe('del-pci-1');
    // readers: the pii provider is asked only when a pii token is met
    expect(decryptFields(ring.keyring, freshPci, policy).doc).toEqual(pciOnly);
    expect(decryptFields(ring.keyring, sealedPci, policy).doc).toEqual(pciOnly);
    expect(codeOf(() => decryptFields(ring.keyring, sealedPii, policy))).toBe('ERR_KEY_SOURCE');
    expect(codeOf(() => decryptFields(ring.keyring, sealedBoth, policy))).toBe('ERR_KEY_SOURCE');
    // a reader that prefers to leave pii sealed: usableKeyring()
    const usable = ring.usableKeyring();
    expect(Object.keys(usable)).toEqual(['pci']);
    const partial = decryptFields<Doc>(usable, sealedBoth, policy);
    expect(partial.doc.card).toEqual(both.card);
    expect(partial.doc.customer!.ssn).toBe(sealedBoth.customer!.ssn);
    expect(partial.sealed).toEqual(['customer.ssn']);

    expect(ring.status()).toMatchObject({ loaded: true, usable: false, unusable: ['pii'], audiences: { pci: { usable: true, consecutiveFailures: 0 }, pii: { usable: false, loaded: true } } });
    const refreshErr = await caught(() => ring.refresh());
    expect(refreshErr.code).toBe('ERR_KEY_SOURCE');
    expect(refreshErr.message).toMatch(/^secretsManagerKeyring: 1 of 2 audiences failed to refresh: audience "pii": cannot read secret /);
    expect(refreshErr.message).not.toContain('audience "pci"');
    // pci keeps refreshing; every failure reported was pii's
    await vi.waitFor(() => expect(refreshes.filter((r) => r.audience === 'pci').length).toBeGreaterThan(refreshesAtStale), { timeout: 3000, interval: 20 });
    expect(new Set(errors.map(([, i]) => i.audience))).toEqual(new Set(['pii']));
    expect(errors.length).toBeGreaterThanOrEqual(2); // pii keeps trying

    // the secret comes back: pii recovers by itself
    await createSecret(admin, piiId, piiKeys.toJwks());
    await vi.waitFor(() => expect(ring.status().usable).toBe(true), { timeout: 5000, interval: 20 });
    expect(decryptFields(ring.keyring, sealedBoth, policy).doc).toEqual(both);

    expectNoKeyBytes([...errors.flat(), stale, refreshErr, ring.status(), ...refreshes], pciKeys.toJwks(), piiKeys.toJwks());
  });

  it('start-up: ready() rejects naming the audience whose secret is missing or invalid; the others are ready; a later ready() retries only the failed one', async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const pciKeys = KeySet.generate({ kid: 'up-pci-1' });
    const pciId = secretName();
    const piiId = secretName();
    await createSecret(admin, pciId, pciKeys.toJwks());
    const { ring, errors, gets } = track({ audiences: { pci: { secretId: pciId }, pii: { secretId: piiId } } });

    const missing = await caught(() => ring.ready());
    expect(missing.code).toBe('ERR_KEY_SOURCE');
    expect(missing.message).toMatch(/^secretsManagerKeyring: 1 of 2 audiences not ready: audience "pii": /);
    expect(missing.message).toContain(`cannot read secret ${piiId} for audience "pii" (AWSCURRENT): ResourceNotFoundException`);
    expect(missing.message).not.toContain('audience "pci"');
    expect((missing.cause as WiresealError).code).toBe('ERR_KEY_SOURCE');
    expect(errors.map(([, i]) => [i.audience, i.phase])).toEqual([['pii', 'startup']]);
    expect(ring.status()).toMatchObject({ loaded: false, usable: false, unusable: ['pii'], audiences: { pci: { loaded: true, usable: true }, pii: { loaded: false, usable: false } } });
    expect(codeOf(() => ring.keyring.pii.current())).toBe('ERR_KEY_SOURCE');
    // pci is ready: pci-only documents seal already
    expect(kidOf((encryptFields(ring.keyring, pciOnly, policy) as Doc).card!.number)).toBe('up-pci-1');

    // invalid content: the cause chain ends at ERR_KEYSET_INVALID, and no key bytes anywhere
    const bad = jwksWithKeyOf(16, 'short');
    await createSecret(admin, piiId, bad);
    const invalid = await caught(() => ring.ready());
    expect(invalid.message).toMatch(/^secretsManagerKeyring: 1 of 2 audiences not ready: audience "pii": secret .* for audience "pii" \(AWSCURRENT, version [^)]+\) does not hold a valid key set/);
    expect(((invalid.cause as WiresealError).cause as WiresealError).code).toBe('ERR_KEYSET_INVALID');
    expectNoKeyBytes([missing, invalid, ...errors.flat(), ring.status()], bad, pciKeys.toJwks());

    // fixed: ready() resolves, reading only pii again
    const piiKeys = KeySet.generate({ kid: 'up-pii-1' });
    await putSecret(admin, piiId, piiKeys.toJwks());
    const before = gets();
    await ring.ready();
    expect(gets() - before).toBe(2); // pii's AWSCURRENT and AWSPREVIOUS (the bad version: reported, skipped)
    expect(errors.at(-1)![1]).toMatchObject({ audience: 'pii', stage: 'AWSPREVIOUS' });
    expect(decryptFields(ring.keyring, encryptFields(ring.keyring, both, policy), policy).doc).toEqual(both);
    expect(ring.status()).toMatchObject({ loaded: true, usable: true, unusable: [] });

    // both missing: both named
    const none = track({ audiences: { pci: { secretId: secretName() }, pii: { secretId: secretName() } } });
    const e = await caught(() => none.ring.ready());
    expect(e.message).toMatch(/^secretsManagerKeyring: 2 of 2 audiences not ready: audience "pci": .*; audience "pii": /);
  });

  it("per-audience options override the keyring's (includePrevious, refreshIntervalMs)", async () => {
    const { admin, pciKeys, piiKeys, pciId, piiId } = await twoSecrets('ovr');
    const { ring, refreshes } = track({
      audiences: { pci: { secretId: pciId }, pii: { secretId: piiId, includePrevious: false, refreshIntervalMs: 60_000, maxStaleMs: 120_000 } },
    });
    await ring.ready();
    const before = encryptFields(ring.keyring, both, policy) as Doc;

    const pci2 = KeySet.generate({ kid: 'ovr-pci-2' });
    const pii2 = KeySet.generate({ kid: 'ovr-pii-2' });
    const vPci = await putSecret(admin, pciId, pci2.toJwks());
    await putSecret(admin, piiId, pii2.toJwks());
    // pci (every 200 ms) sees the rotation; pii (every 60 s) does not yet
    await vi.waitFor(() => expect(refreshes.at(-1)).toMatchObject({ audience: 'pci', versionId: vPci, primaryKid: 'ovr-pci-2' }), { timeout: 5000, interval: 20 });
    expect(ring.keyring.pii.current().primaryKid).toBe('ovr-pii-1');
    await ring.refresh();
    const after = encryptFields(ring.keyring, both, policy) as Doc;
    expect([kidOf(after.card!.number), kidOf(after.customer!.ssn)]).toEqual(['ovr-pci-2', 'ovr-pii-2']);
    // pci keeps AWSPREVIOUS (decrypt-only); pii, with includePrevious: false, does not
    expect(ring.keyring.pci.current().list()).toEqual([{ kid: 'ovr-pci-2', role: 'primary' }, { kid: 'ovr-pci-1', role: 'decrypt-only' }]);
    expect(ring.keyring.pii.current().list()).toEqual([{ kid: 'ovr-pii-2', role: 'primary' }]);
    expect(decryptFields<Doc>({ pci: ring.keyring.pci }, before, policy).doc.card).toEqual(both.card);
    expect(codeOf(() => decryptFields(ring.keyring, before, policy))).toBe('ERR_KEY_UNKNOWN');
    expect(decryptFields(ring.keyring, after, policy).doc).toEqual(both);
    expect(decryptFields({ pci: pciKeys, pii: piiKeys }, before, policy).doc).toEqual(both);
  });

  it("public-key audience: the writer's secret holds the public JWK Set (kind 'public'), the reader's the key pairs (kind 'private')", async () => {
    const admin = countingClient(moto.sm.clientConfig()).client;
    const pciPairs = PrivateKeySet.generate({ kid: 'pub-pci-1', type: 'X25519' });
    const piiKeys = KeySet.generate({ kid: 'pub-pii-1' });
    const [pubId, privId, piiId] = [secretName(), secretName(), secretName()];
    await createSecret(admin, pubId, JSON.stringify(pciPairs.publicJwks()));
    await createSecret(admin, privId, JSON.stringify(pciPairs.toPrivateJwks()));
    await createSecret(admin, piiId, piiKeys.toJwks());

    const writer = track({ audiences: { pci: { secretId: pubId, kind: 'public' }, pii: { secretId: piiId } } });
    const reader = track({ audiences: { pci: { secretId: privId, kind: 'private' }, pii: { secretId: piiId } } });
    await Promise.all([writer.ring.ready(), reader.ring.ready()]);
    expect(writer.gets()).toBe(3); // public: AWSCURRENT only; pii: AWSCURRENT and AWSPREVIOUS
    const pub: PublicKeySet = writer.ring.keyring.pci.current();
    const priv: PrivateKeySet = reader.ring.keyring.pci.current();
    expect([pub instanceof PublicKeySet, priv instanceof PrivateKeySet, pub.kids, priv.kids]).toEqual([true, true, ['pub-pci-1'], ['pub-pci-1']]);
    expect(writer.refreshes[0]).toMatchObject({ audience: 'pci', kind: 'public', primaryKid: undefined, kids: ['pub-pci-1'] });
    expect(writer.ring.status().audiences.pci).toMatchObject({ kind: 'public', primaryKid: undefined, usable: true });

    const sealed = encryptFields(writer.ring.keyring, both, policy) as Doc;
    expect(decodeProtectedHeader(sealed.card!.number)).toMatchObject({ alg: 'ECDH-ES+A256KW', kid: 'pub-pci-1' });
    // the writer cannot read what it sealed for pci; the reader can
    const w = decryptFields<Doc>(writer.ring.keyring, sealed, policy);
    expect([w.sealed, w.doc.customer]).toEqual([['card.number'], both.customer]);
    expect(decryptFields(reader.ring.keyring, sealed, policy).doc).toEqual(both);

    // rotation: new key pair; the writer seals to it, the reader opens old and new (AWSPREVIOUS pairs kept)
    const next = PrivateKeySet.generate({ kid: 'pub-pci-2', type: 'P-256' });
    await putSecret(admin, privId, JSON.stringify(next.toPrivateJwks()));
    await putSecret(admin, pubId, JSON.stringify(next.publicJwks()));
    await Promise.all([writer.ring.refresh(), reader.ring.refresh()]);
    expect(reader.ring.keyring.pci.current().kids).toEqual(['pub-pci-2', 'pub-pci-1']);
    expect(writer.ring.keyring.pci.current().kids).toEqual(['pub-pci-2']);
    const sealed2 = encryptFields(writer.ring.keyring, both, policy) as Doc;
    expect(kidOf(sealed2.card!.number)).toBe('pub-pci-2');
    expect(decryptFields(reader.ring.keyring, sealed2, policy).doc).toEqual(both);
    expect(decryptFields(reader.ring.keyring, sealed, policy).doc).toEqual(both);

    // key pairs where public keys belong: refused at start-up, naming the audience, without key bytes
    const wrong = track({ audiences: { pci: { secretId: privId, kind: 'public' } } });
    const e = await caught(() => wrong.ring.ready());
    expect(e.message).toMatch(/^secretsManagerKeyring: 1 of 1 audiences not ready: audience "pci": secret .* for audience "pci" \(AWSCURRENT, version [^)]+\) does not hold a valid key set/);
    expect(((e.cause as WiresealError).cause as WiresealError).code).toBe('ERR_KEYSET_INVALID');
    const secretsOf = (s: PrivateKeySet) => ({ keys: s.toPrivateJwks().keys.map((k) => ({ k: String(k.d) })) });
    expectNoKeyBytes([e, ...wrong.errors.flat(), ...writer.refreshes, ...reader.refreshes, reader.ring.status()], secretsOf(pciPairs), secretsOf(next), piiKeys.toJwks());
    expect([writer.errors, reader.errors]).toEqual([[], []]);
  });

  it('close() closes every audience, keeps a given client, and is idempotent', async () => {
    const { pciId, piiId } = await twoSecrets('close');
    const { ring, client, gets } = track({ audiences: { pci: { secretId: pciId }, pii: { secretId: piiId } }, refreshIntervalMs: 50, maxStaleMs: 5000 });
    await ring.ready();
    await ring.close();
    await ring.close();
    const n = gets();
    await new Promise((r) => setTimeout(r, 200));
    expect(gets()).toBe(n);
    expect(ring.status()).toMatchObject({ closed: true, usable: false, unusable: ['pci', 'pii'] });
    expect(codeOf(() => ring.keyring.pci.current())).toBe('ERR_KEY_SOURCE');
    expect(codeOf(() => encryptFields(ring.keyring, both, policy))).toBe('ERR_KEY_SOURCE');
    expect((await caught(() => ring.ready())).code).toBe('ERR_KEY_SOURCE');
    // the client was given, not created: still usable
    await createSecret(client, secretName(), 'still open');
  });
});

describe('secretsManagerKeyring options', () => {
  const opts = (audiences: unknown, extra: object = {}) => ({ audiences, client: countingClient(moto.sm.clientConfig()).client, ...extra }) as SecretsManagerKeyringOptions;
  it.each([
    ['no audiences object', undefined, /audiences must be an object/],
    ['an empty one', {}, /names no audience/],
    ['a bad audience name', { 'p ci': { secretId: 'x' } }, /audience name "p ci" is not 1-64/],
    ['an entry that is not an object', { pci: 'prod/pci' }, /audience "pci" must be an object with a secretId/],
    ['an unknown kind', { pci: { secretId: 'x', kind: 'oct' } }, /audience "pci": kind must be "shared", "public" or "private"/],
    ['no secretId', { pci: { secretId: 'x' }, pii: {} }, /^secretsManagerKeyring: audience "pii": secretId is required$/],
    ['an override that breaks maxStaleMs', { pci: { secretId: 'x', refreshIntervalMs: 20_000 } }, /^secretsManagerKeyring: audience "pci": maxStaleMs must exceed/],
  ])('refuses %s with ERR_KEY_SOURCE', (_, audiences, message) => {
    const e = thrown(() => secretsManagerKeyring(opts(audiences, { refreshIntervalMs: 200, maxStaleMs: 10_000 })));
    expect(e.code).toBe('ERR_KEY_SOURCE');
    expect(e.message).toMatch(message);
  });
});
