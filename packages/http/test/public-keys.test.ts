// Asymmetric key sets: what is accepted, what is refused at load (type, size,
// curve, private part present or absent, pairs that do not match), with the
// kid named and no key material in the message; and the providers (a file
// re-read on refresh, a real Secrets Manager API on moto).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { SecretsManagerHandle } from '@wireseal-tooling/local-secrets';
import { PrivateKeySet, PublicKeySet, jwksFile, jwksProvider } from '@wireseal/http';
import { WiresealError } from '@wireseal/core/errors';

type Jwk = Record<string, unknown>;
const jwkOf = (k: { privateKey: { export(o: { format: 'jwk' }): unknown } }, kid: string, extra: Jwk = {}): Jwk => ({
  ...(k.privateKey.export({ format: 'jwk' }) as Jwk),
  kid,
  ...extra,
});
const publicOf = (jwk: Jwk): Jwk => {
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  void [d, p, q, dp, dq, qi];
  return pub;
};

const rsa2048 = jwkOf(generateKeyPairSync('rsa', { modulusLength: 2048 }), 'rsa-2048');
const rsa1024 = jwkOf(generateKeyPairSync('rsa', { modulusLength: 1024 }), 'rsa-1024');
const rsaE3 = jwkOf(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }), 'rsa-e3');
const rsaOther = jwkOf(generateKeyPairSync('rsa', { modulusLength: 2048 }), 'rsa-other');
const p256 = jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'p256');
const p256b = jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'p256b');
const p384 = jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }), 'p384');
const x25519 = jwkOf(generateKeyPairSync('x25519'), 'x25519');
const x25519b = jwkOf(generateKeyPairSync('x25519'), 'x25519b');
const ed25519 = jwkOf(generateKeyPairSync('ed25519'), 'ed25519');

/** A public RSA JWK with a random odd modulus of `bits` bits (createPublicKey does not test primality). */
function rsaPublicOfBits(bits: number, kid: string): Jwk {
  const n = randomBytes(bits / 8);
  n[0]! |= 0x80;
  n[n.length - 1]! |= 1;
  return { kty: 'RSA', kid, n: n.toString('base64url'), e: 'AQAB' };
}

function refused(load: () => unknown): WiresealError {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(WiresealError);
    return err as WiresealError;
  }
  throw new Error('expected the key set to be refused');
}

/** Secret members of every key above: none may appear in a message. */
const secrets = [rsa2048, rsa1024, rsaE3, rsaOther, p256, p256b, p384, x25519, x25519b, ed25519].flatMap((k) =>
  ['d', 'p', 'q', 'dp', 'dq', 'qi'].map((m) => k[m]).filter((v): v is string => typeof v === 'string').map((v) => v.slice(0, 16)),
);

describe('PrivateKeySet (key pairs)', () => {
  it('accepts RSA 2048, P-256 and X25519 pairs, reports them without key material', () => {
    const set = PrivateKeySet.fromJwks(JSON.stringify({ keys: [rsa2048, p256, x25519] }));
    expect(set.kids).toEqual(['rsa-2048', 'p256', 'x25519']);
    expect(set.list()).toEqual([
      { kid: 'rsa-2048', kty: 'RSA', bits: 2048, algs: ['RSA-OAEP-256'], private: true },
      { kid: 'p256', kty: 'EC', crv: 'P-256', algs: ['ECDH-ES+A256KW'], private: true },
      { kid: 'x25519', kty: 'OKP', crv: 'X25519', algs: ['ECDH-ES+A256KW', 'HPKE-X25519-SHA256-A256GCM'], private: true },
    ]);
    const shown = `${JSON.stringify(set)} ${inspect(set)} ${JSON.stringify(set.publicJwks())}`;
    for (const s of secrets) expect(shown).not.toContain(s);
    expect(set.publicJwks().keys[0]).toEqual(publicOf(rsa2048));
    expect(PublicKeySet.of(set).kids).toEqual(set.kids);
  });

  it('honours alg: an X25519 key with alg ECDH-ES+A256KW is not an HPKE key', () => {
    const set = PrivateKeySet.fromJwks({ keys: [{ ...x25519, alg: 'ECDH-ES+A256KW' }] });
    expect(set.list()[0]!.algs).toEqual(['ECDH-ES+A256KW']);
  });

  it('round-trips through toPrivateJwks and generate()', () => {
    const g = PrivateKeySet.generate({ kid: 'gen', type: 'X25519' });
    const again = PrivateKeySet.fromJwks(g.toPrivateJwks());
    expect(again.publicJwks()).toEqual(g.publicJwks());
    expect(PrivateKeySet.generate({ kid: 'r', type: 'RSA', bits: 2048 }).list()[0]!.bits).toBe(2048);
  });

  const cases: Array<[string, unknown, RegExp]> = [
    ['RSA 1024 bits (too small)', { keys: [rsa1024] }, /"rsa-1024".*2048-8192 bits, got 1024/],
    ['RSA with e = 3', { keys: [rsaE3] }, /"rsa-e3".*65537/],
    ['P-384', { keys: [p384] }, /"p384".*P-256/],
    ['Ed25519 (a signature key)', { keys: [ed25519] }, /"ed25519".*signature curve/],
    ['an oct key', { keys: [{ kty: 'oct', kid: 'shared', k: randomBytes(32).toString('base64url') }] }, /"shared".*symmetric/],
    ['no private part', { keys: [publicOf(rsa2048)] }, /"rsa-2048".*private part \("d"\) is missing/],
    ['RSA d from another key', { keys: [{ ...rsa2048, d: rsaOther.d }] }, /"rsa-2048".*does not belong/],
    ['RSA p/q from another key', { keys: [{ ...rsa2048, p: rsaOther.p, q: rsaOther.q }] }, /"rsa-2048"/],
    ['P-256 d from another key', { keys: [{ ...p256, d: p256b.d }] }, /"p256".*does not belong/],
    ['X25519 d from another key', { keys: [{ ...x25519, d: x25519b.d }] }, /"x25519".*does not belong/],
    ['a P-256 point off the curve', { keys: [{ ...p256, y: p256b.y }] }, /"p256".*not a valid P-256/],
    ['use "sig"', { keys: [{ ...p256, use: 'sig' }] }, /"p256".*use must be absent or "enc"/],
    ['key_ops sign', { keys: [{ ...p256, key_ops: ['sign'] }] }, /"p256".*signing key/],
    ['alg RSA1_5 on an RSA key', { keys: [{ ...rsa2048, alg: 'RSA1_5' }] }, /"rsa-2048".*alg must be absent or one of RSA-OAEP-256/],
    ['alg RSA-OAEP-256 on an X25519 key', { keys: [{ ...x25519, alg: 'RSA-OAEP-256' }] }, /"x25519".*alg/],
    ['a duplicate kid', { keys: [p256, { ...p256b, kid: 'p256' }] }, /"p256" \(index 1\).*not unique/],
    ['a kid that is not printable ASCII', { keys: [{ ...p256, kid: 'bad\nkid' }] }, /index 0: kid must be/],
    ['no keys', { keys: [] }, /no keys/],
    ['not a JWK Set', '[1,2]', /"keys" array/],
    ['not JSON', '{"keys": [', /not valid JSON/],
  ];
  it.each(cases)('refuses %s with ERR_KEYSET_INVALID naming the key', (_name, input, message) => {
    const err = refused(() => PrivateKeySet.fromJwks(input as never));
    expect(err.code).toBe('ERR_KEYSET_INVALID');
    expect(err.message).toMatch(message);
    for (const s of secrets) expect(err.message).not.toContain(s);
  });
});

describe('PublicKeySet (public keys only)', () => {
  it('accepts public RSA (2048 and 8192 bits), P-256 and X25519 keys', () => {
    const set = PublicKeySet.fromJwks({ keys: [publicOf(rsa2048), rsaPublicOfBits(8192, 'rsa-8192'), publicOf(p256), publicOf(x25519)] });
    expect(set.list().map((k) => [k.kid, k.bits ?? k.crv, k.private])).toEqual([
      ['rsa-2048', 2048, false],
      ['rsa-8192', 8192, false],
      ['p256', 'P-256', false],
      ['x25519', 'X25519', false],
    ]);
  });

  it.each([
    ['a private member (d)', { keys: [x25519] }, /"x25519".*private member\(s\) d/],
    ['RSA private members', { keys: [rsa2048] }, /"rsa-2048".*private member\(s\) d, p, q, dp, dq, qi/],
    ['RSA over 8192 bits', { keys: [rsaPublicOfBits(8200, 'big')] }, /"big".*2048-8192 bits, got 8200/],
    ['RSA under 2048 bits', { keys: [publicOf(rsa1024)] }, /"rsa-1024".*got 1024/],
    ['an X25519 x of 31 bytes', { keys: [{ ...publicOf(x25519), x: randomBytes(31).toString('base64url') }] }, /"x25519".*32 bytes/],
    ['Ed25519', { keys: [publicOf(ed25519)] }, /signature curve/],
  ])('refuses %s', (_name, input, message) => {
    const err = refused(() => PublicKeySet.fromJwks(input as never));
    expect(err.code).toBe('ERR_KEYSET_INVALID');
    expect(err.message).toMatch(message);
    for (const s of secrets) expect(err.message).not.toContain(s);
  });
});

describe('jwksProvider over a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wireseal-jwks-'));
  const file = join(dir, 'server-keys.json');
  const write = (keys: Jwk[]): void => {
    writeFileSync(`${file}.tmp`, JSON.stringify({ keys }));
    renameSync(`${file}.tmp`, file);
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads, rotates on refresh, keeps the last good set when a refresh is invalid, and reports it', async () => {
    write([x25519]);
    const errors: string[] = [];
    const reloads: string[][] = [];
    const provider = jwksProvider({
      source: file,
      read: jwksFile(file),
      parse: PrivateKeySet.fromJwks,
      refreshIntervalMs: 0,
      onError: (e) => errors.push(`${e.code}:${(e.cause as WiresealError | undefined)?.code}`),
      onReload: (i) => reloads.push(i.kids),
    });
    expect(() => provider.current()).toThrow(expect.objectContaining({ code: 'ERR_KEY_SOURCE' }));
    await provider.ready();
    expect(provider.current().kids).toEqual(['x25519']);
    write([x25519b, x25519]); // rotation: the new key first, the old one still accepted
    await provider.refresh();
    expect(provider.current().kids).toEqual(['x25519b', 'x25519']);
    write([rsa1024]);
    await expect(provider.refresh()).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE', cause: { code: 'ERR_KEYSET_INVALID' } });
    expect(provider.current().kids).toEqual(['x25519b', 'x25519']);
    expect(errors).toEqual(['ERR_KEY_SOURCE:ERR_KEYSET_INVALID']);
    expect(reloads).toEqual([['x25519'], ['x25519b', 'x25519']]);
    provider.close();
    expect(() => provider.current()).toThrow(expect.objectContaining({ code: 'ERR_KEY_SOURCE' }));
  });

  it('ready() rejects with ERR_KEY_SOURCE (cause ERR_KEYSET_INVALID) for a wrong key, and for a missing file', async () => {
    write([{ ...p256, d: p256b.d }]);
    const bad = jwksProvider({ source: file, read: jwksFile(file), parse: PrivateKeySet.fromJwks, refreshIntervalMs: 0 });
    await expect(bad.ready()).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE', cause: { code: 'ERR_KEYSET_INVALID' } });
    const missing = jwksProvider({ source: 'nowhere.json', read: jwksFile(join(dir, 'nowhere.json')), parse: PublicKeySet.fromJwks });
    await expect(missing.ready()).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE', message: expect.stringContaining('ENOENT') });
  });

  it('refuses a stale set after maxStaleMs without a successful refresh', async () => {
    write([x25519]);
    let now = 1_000_000;
    const provider = jwksProvider({ source: file, read: jwksFile(file), parse: PrivateKeySet.fromJwks, refreshIntervalMs: 0, maxStaleMs: 60_000, now: () => now });
    await provider.ready();
    now += 60_001;
    expect(() => provider.current()).toThrow(expect.objectContaining({ code: 'ERR_KEY_SOURCE' }));
    await provider.refresh();
    expect(provider.current().kids).toEqual(['x25519']);
  });
});

describe('jwksProvider over AWS Secrets Manager (moto)', () => {
  let sm: SecretsManagerHandle;
  let client: SecretsManagerClient;
  beforeAll(async () => {
    sm = await startSecretsManager();
    client = new SecretsManagerClient(sm.clientConfig());
  });
  afterAll(async () => {
    client?.destroy();
    await sm?.stop();
  });

  it('loads the server key pairs and the client registry from secrets, and refuses a bad version', async () => {
    await client.send(new CreateSecretCommand({ Name: 'partner-api/server-keys', SecretString: JSON.stringify({ keys: [rsa2048, x25519] }) }));
    await client.send(new CreateSecretCommand({ Name: 'partner-api/clients', SecretString: JSON.stringify({ keys: [publicOf(p256), publicOf(x25519b)] }) }));
    const read = (id: string) => async () => (await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString ?? '';
    const server = jwksProvider({ source: 'secret partner-api/server-keys', read: read('partner-api/server-keys'), parse: PrivateKeySet.fromJwks, refreshIntervalMs: 0 });
    const clients = jwksProvider({ source: 'secret partner-api/clients', read: read('partner-api/clients'), parse: PublicKeySet.fromJwks, refreshIntervalMs: 0 });
    await Promise.all([server.ready(), clients.ready()]);
    expect(server.current().kids).toEqual(['rsa-2048', 'x25519']);
    expect(clients.current().kids).toEqual(['p256', 'x25519b']);
    // Someone puts a private key into the client registry: refused, the last good set stays.
    await client.send(new PutSecretValueCommand({ SecretId: 'partner-api/clients', SecretString: JSON.stringify({ keys: [p256] }) }));
    await expect(clients.refresh()).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE', cause: { code: 'ERR_KEYSET_INVALID' } });
    expect(clients.current().kids).toEqual(['p256', 'x25519b']);
    server.close();
    clients.close();
  });
});
