// seal/open/inspect/fields against independent JOSE implementations: tokens
// the CLI seals open in jose (and Python's jwcrypto), and jose's open in the CLI.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CompactEncrypt, compactDecrypt, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextDigest } from '@wireseal/core';
import type { Jwks } from '@wireseal/core';
import { errorCode, tempDir, wireseal } from './helpers.ts';

const tmp = tempDir();
const keys = tmp.path('keys.json');
let jwks: Jwks;
afterAll(() => tmp.cleanup());
beforeAll(async () => {
  expect((await wireseal(['keygen', '--kid', 'k-2026', '--out', keys])).code).toBe(0);
  jwks = JSON.parse(readFileSync(keys, 'utf8')) as Jwks;
});

const header = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
const joseKey = async () => importJWK({ kty: 'oct', k: jwks.keys[0]!.k }, 'A256KW');

describe('seal and open', () => {
  it('seals with the CLI; jose opens it, with wsf and wsc in the authenticated header', async () => {
    const plaintext = Buffer.from('{"pan":"4111111111111111"} ünïcødé', 'utf8');
    const r = await wireseal(['seal', '--keyset', keys, '--context', 'topic=payments', '--context', 'tenant=acme', '--field', 'card.number', '--cty', 'application/json'], { input: plaintext });
    expect(r.code).toBe(0);
    expect(r.out.endsWith('\n')).toBe(true);
    const token = r.out.trim();
    const { plaintext: opened, protectedHeader } = await compactDecrypt(token, await joseKey());
    expect(Buffer.from(opened).equals(plaintext)).toBe(true);
    expect(protectedHeader).toEqual({
      alg: 'A256KW',
      enc: 'A256GCM',
      kid: 'k-2026',
      cty: 'application/json',
      wsf: 'card.number',
      wsc: contextDigest({ topic: 'payments', tenant: 'acme' }),
    });
  });

  it('--alg dir gives an empty encrypted key that jose opens with the key itself', async () => {
    const r = await wireseal(['seal', '--keyset', keys, '--alg', 'dir'], { input: 'direct' });
    const token = r.out.trim();
    expect(token.split('.')[1]).toBe('');
    const key = await importJWK({ kty: 'oct', k: jwks.keys[0]!.k }, 'dir');
    expect(Buffer.from((await compactDecrypt(token, key)).plaintext).toString()).toBe('direct');
  });

  it('opens what jose sealed, checking context and field (ERR_CONTEXT_MISMATCH, ERR_FIELD_MISMATCH)', async () => {
    const wsc = contextDigest({ topic: 'payments' });
    const token = await new CompactEncrypt(new TextEncoder().encode('from jose'))
      .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: 'k-2026', wsf: 'a.b', wsc })
      .encrypt(await joseKey());
    const ok = await wireseal(['open', '--keyset', keys, '--context', 'topic=payments', '--field', 'a.b'], { input: `${token}\n` });
    expect([ok.code, ok.out]).toEqual([0, 'from jose']);
    const wrongCtx = await wireseal(['open', '--keyset', keys, '--context', 'topic=refunds', '--field', 'a.b'], { input: token });
    expect([wrongCtx.code, errorCode(wrongCtx), wrongCtx.out]).toEqual([1, 'ERR_CONTEXT_MISMATCH', '']);
    const wrongField = await wireseal(['open', '--keyset', keys, '--context', 'topic=payments', '--field', 'a.c'], { input: token });
    expect([wrongField.code, errorCode(wrongField)]).toEqual([1, 'ERR_FIELD_MISMATCH']);
  });

  it('a tampered token is ERR_DECRYPT and prints nothing on stdout', async () => {
    const token = (await wireseal(['seal', '--keyset', keys], { input: 'secret stuff' })).out.trim();
    const parts = token.split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0]! ^= 1;
    parts[3] = ct.toString('base64url');
    const r = await wireseal(['open', '--keyset', keys], { input: parts.join('.') });
    expect([r.code, errorCode(r), r.out]).toEqual([1, 'ERR_DECRYPT', '']);
    expect(r.stderr).not.toContain('secret');
  });

  it('--max-age needs iat: ERR_STALE without it, fine with --iat', async () => {
    const fresh = (await wireseal(['seal', '--keyset', keys, '--iat'], { input: 'now' })).out.trim();
    expect(typeof header(fresh).iat).toBe('number');
    expect((await wireseal(['open', '--keyset', keys, '--max-age', '60'], { input: fresh })).out).toBe('now');
    const noIat = (await wireseal(['seal', '--keyset', keys], { input: 'then' })).out.trim();
    const r = await wireseal(['open', '--keyset', keys, '--max-age', '60'], { input: noIat });
    expect([r.code, errorCode(r)]).toEqual([1, 'ERR_STALE']);
  });

  it("Python's jwcrypto opens a token the CLI sealed", async (ctx) => {
    const python = process.env.WIRESEAL_PYTHON;
    if (!python || !existsSync(python)) return ctx.skip();
    const token = (await wireseal(['seal', '--keyset', keys, '--context', 'topic=t'], { input: 'über jwcrypto' })).out.trim();
    const script = [
      'import sys, json',
      'from jwcrypto import jwk, jwe',
      'key = jwk.JWK(**json.loads(sys.argv[1])["keys"][0])',
      't = jwe.JWE()',
      't.deserialize(sys.argv[2], key=key)',
      'sys.stdout.buffer.write(t.payload)',
    ].join('\n');
    const out = execFileSync(python, ['-c', script, readFileSync(keys, 'utf8'), token]);
    expect(out.toString('utf8')).toBe('über jwcrypto');
  });
});

describe('inspect', () => {
  it('shows the header and segment sizes without a key', async () => {
    const token = (await wireseal(['seal', '--keyset', keys, '--field', 'x', '--context', 'a=b'], { input: '12345678901234567' })).out.trim();
    const r = await wireseal(['inspect', '--json', token]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.header).toEqual({ alg: 'A256KW', enc: 'A256GCM', kid: 'k-2026', wsf: 'x', wsc: contextDigest({ a: 'b' }) });
    expect(report.bytes).toEqual({ protectedHeader: Buffer.from(token.split('.')[0]!, 'base64url').length, encryptedKey: 40, iv: 12, ciphertext: 17, tag: 16 });
    expect(report.problems).toEqual([]);
    const human = await wireseal(['inspect'], { input: token });
    expect(human.out).toContain('encrypted key 40, iv 12, ciphertext 17, tag 16');
    expect(human.out).toContain('"kid":"k-2026"');
  });

  it('lists what open would reject, and refuses what is not a token (ERR_TOKEN_MALFORMED)', async () => {
    const h = Buffer.from(JSON.stringify({ alg: 'A128KW', enc: 'A256GCM', kid: 'z', zip: 'DEF' })).toString('base64url');
    const odd = `${h}.${Buffer.alloc(24).toString('base64url')}.${Buffer.alloc(8).toString('base64url')}.AAAA.${Buffer.alloc(16).toString('base64url')}`;
    const r = await wireseal(['inspect', '--json', odd]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).problems).toHaveLength(3); // alg, zip, iv length
    for (const bad of ['not-a-token', 'a.b.c.d', `${h}.!!.a.b.c`]) {
      const x = await wireseal(['inspect', bad]);
      expect([x.code, errorCode(x)]).toEqual([1, 'ERR_TOKEN_MALFORMED']);
    }
  });
});

describe('fields encrypt and decrypt', () => {
  const policy = tmp.path('policy.json');
  const doc = { id: 7, card: { number: '4111111111111111', cvv: 123 }, accounts: [{ iban: 'DE89' }, { iban: 'FR76' }], note: 'plain' };
  beforeAll(() => writeFileSync(policy, JSON.stringify({ fields: ['card.number', 'card.cvv', 'accounts[*].iban'] })));

  it('seals the policy fields (each a JWE jose opens) and decrypts them back', async () => {
    const enc = await wireseal(['fields', 'encrypt', '--policy', policy, '--keyset', keys, '--context', 'topic=p'], { input: JSON.stringify(doc) });
    expect(enc.code).toBe(0);
    const sealed = JSON.parse(enc.out);
    expect(sealed.id).toBe(7);
    expect(sealed.note).toBe('plain');
    const key = await joseKey();
    const cvv = await compactDecrypt(sealed.card.cvv, key);
    expect(JSON.parse(Buffer.from(cvv.plaintext).toString())).toBe(123);
    expect(cvv.protectedHeader.wsf).toBe('card.cvv');
    const iban = await compactDecrypt(sealed.accounts[1].iban, key);
    expect(Buffer.from(iban.plaintext).toString()).toBe('"FR76"');
    expect(iban.protectedHeader.wsf).toBe('accounts[*].iban');

    const dec = await wireseal(['fields', 'decrypt', '--policy', policy, '--keyset', keys, '--context', 'topic=p', '--report'], { input: enc.out });
    expect(dec.code).toBe(0);
    expect(JSON.parse(dec.out)).toEqual(doc);
    expect(JSON.parse(dec.stderr)).toEqual({ decrypted: ['card.number', 'card.cvv', 'accounts[0].iban', 'accounts[1].iban'], passedThrough: [], sealed: [] });
  });

  it('strict mode refuses plaintext at a policy path (ERR_PLAINTEXT_FIELD); migrate passes it through', async () => {
    const strict = await wireseal(['fields', 'decrypt', '--policy', policy, '--keyset', keys], { input: JSON.stringify(doc) });
    expect([strict.code, errorCode(strict), strict.out]).toEqual([1, 'ERR_PLAINTEXT_FIELD', '']);
    expect(strict.stderr).not.toContain('4111');
    const migrate = await wireseal(['fields', 'decrypt', '--policy', policy, '--keyset', keys, '--mode', 'migrate'], { input: JSON.stringify(doc) });
    expect(migrate.code).toBe(0);
    expect(JSON.parse(migrate.out)).toEqual(doc);
  });

  it('a member of the wrong shape on a policy path is ERR_PLAINTEXT_FIELD both ways; nothing is printed', async () => {
    const reshaped = { ...doc, accounts: { 0: { iban: 'DE89370400440532013000' } } };
    for (const cmd of ['encrypt', 'decrypt']) {
      const r = await wireseal(['fields', cmd, '--policy', policy, '--keyset', keys], { input: JSON.stringify(reshaped) });
      expect([r.code, errorCode(r), r.out]).toEqual([1, 'ERR_PLAINTEXT_FIELD', '']);
      expect(r.stderr).not.toContain('DE8937');
    }
  });

  it('bad input: not JSON is ERR_INPUT_INVALID, a bad policy ERR_POLICY_INVALID, a missing policy ERR_IO', async () => {
    const notJson = await wireseal(['fields', 'encrypt', '--policy', policy, '--keyset', keys], { input: '{nope' });
    expect([notJson.code, errorCode(notJson)]).toEqual([1, 'ERR_INPUT_INVALID']);
    const badPolicy = tmp.path('bad-policy.json');
    writeFileSync(badPolicy, JSON.stringify({ fields: ['a.__proto__'] }));
    const bp = await wireseal(['fields', 'encrypt', '--policy', badPolicy, '--keyset', keys], { input: '{}' });
    expect([bp.code, errorCode(bp)]).toEqual([1, 'ERR_POLICY_INVALID']);
    const missing = await wireseal(['fields', 'encrypt', '--policy', tmp.path('none.json'), '--keyset', keys], { input: '{}' });
    expect([missing.code, errorCode(missing)]).toEqual([3, 'ERR_IO']);
  });
});
