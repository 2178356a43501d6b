// Public-key audiences: the writer holds only the public JWK Set (it can seal, never open), the reader the private one.
import { compactDecrypt, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, PrivateKeySet, PublicKeySet, decryptFields, encryptFields, encryptFieldsWithReport } from '@wireseal/core';
import { codeOf } from './helpers.ts';

const policy = FieldPolicy.parse({ audiences: { pci: ['card.number', 'card.cvv', 'accounts[*].iban'], pii: ['customer.ssn'] }, bind: ['id'] });
const doc = { id: 'pay_9', card: { number: '4111111111111111', cvv: '737' }, customer: { ssn: '078-05-1120' }, accounts: [{ iban: 'DE1' }, { iban: 'DE2' }] };
type Doc = typeof doc;
const headerOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
const pii = KeySet.generate({ kid: 'pii-1' });

const kinds = [
  ['X25519', 'ECDH-ES+A256KW'],
  ['P-256', 'ECDH-ES+A256KW'],
  ['RSA', 'RSA-OAEP-256'],
] as const;

describe.each(kinds)('public-key audience on %s (%s)', (type, alg) => {
  const reader = PrivateKeySet.generate({ kid: `pci-${type}`, type, ...(type === 'RSA' ? { bits: 2048 } : {}) });
  const writer = PublicKeySet.of(reader);
  const sealed = encryptFields({ pci: writer, pii }, doc, policy, { context: { topic: 'payments' } }) as Doc;

  it('one key agreement / transport per document: every pci token shares ek (and epk); each is a standalone JWE jose opens with the private key', async () => {
    const tokens = [sealed.card.number, sealed.card.cvv, sealed.accounts[0]!.iban, sealed.accounts[1]!.iban];
    expect(new Set(tokens.map((t) => t.split('.')[1])).size).toBe(1);
    const h = headerOf(sealed.card.number);
    expect(h).toMatchObject({ alg, enc: 'A256GCM', kid: `pci-${type}`, wsf: 'card.number' });
    expect(typeof h.wsc).toBe('string');
    if (alg === 'ECDH-ES+A256KW') {
      expect(h.epk).toMatchObject({ crv: type, kty: type === 'X25519' ? 'OKP' : 'EC' });
      expect(new Set(tokens.map((t) => JSON.stringify(headerOf(t).epk))).size).toBe(1);
    } else expect(h.epk).toBeUndefined();
    const jwk = reader.toPrivateJwks().keys[0]!;
    const key = await importJWK(jwk as never, alg);
    const plain = await Promise.all(tokens.map(async (t) => Buffer.from((await compactDecrypt(t, key)).plaintext).toString()));
    expect(plain).toEqual(['"4111111111111111"', '"737"', '"DE1"', '"DE2"']);
  });

  it('the reader opens its fields; a writer holding only public keys cannot open what it wrote (its paths stay sealed, reported)', () => {
    const r = decryptFields<Doc>({ pci: reader, pii }, sealed, policy, { context: { topic: 'payments' } });
    expect(r.doc).toEqual(doc);
    const w = decryptFields<Doc>({ pci: writer, pii }, sealed, policy, { context: { topic: 'payments' } });
    expect(w.sealed).toEqual(['card.number', 'card.cvv', 'accounts[0].iban', 'accounts[1].iban']);
    expect(w.doc.card.number).toBe(sealed.card.number);
    expect(w.doc.customer.ssn).toBe('078-05-1120');
  });

  it('tampering, another reader\'s key and a moved token are refused with typed errors', () => {
    const other = PrivateKeySet.generate({ kid: `pci-${type}`, type, ...(type === 'RSA' ? { bits: 2048 } : {}) });
    expect(codeOf(() => decryptFields({ pci: other, pii }, sealed, policy, { context: { topic: 'payments' } }))).toBe('ERR_DECRYPT');
    const parts = sealed.card.cvv.split('.');
    parts[3] = parts[3]!.slice(0, -2) + (parts[3]!.endsWith('AA') ? 'BA' : 'AA');
    expect(['ERR_DECRYPT', 'ERR_TOKEN_MALFORMED']).toContain(codeOf(() => decryptFields({ pci: reader, pii }, { ...sealed, card: { ...sealed.card, cvv: parts.join('.') } }, policy, { context: { topic: 'payments' } })));
    const moved = { ...sealed, card: { ...sealed.card, cvv: sealed.card.number } };
    expect(codeOf(() => decryptFields({ pci: reader, pii }, moved, policy, { context: { topic: 'payments' } }))).toBe('ERR_FIELD_MISMATCH');
    const otherRecord = encryptFields({ pci: writer, pii }, { ...doc, id: 'pay_10' }, policy, { context: { topic: 'payments' } }) as Doc;
    const swapped = { ...sealed, card: { ...sealed.card, number: otherRecord.card.number } };
    expect(codeOf(() => decryptFields({ pci: reader, pii }, swapped, policy, { context: { topic: 'payments' } }))).toBe('ERR_CONTEXT_MISMATCH');
  });
});

describe('public-key audiences: misuse', () => {
  it('a public-key token at a shared-key audience is refused by the allow-list, and the reverse', () => {
    const reader = PrivateKeySet.generate({ kid: 'x', type: 'X25519' });
    const p = FieldPolicy.parse({ fields: ['a'] });
    const pub = encryptFields(PublicKeySet.of(reader), { a: 1 }, p);
    expect(codeOf(() => decryptFields(KeySet.generate({ kid: 'x' }), pub, p))).toBe('ERR_ALG_UNSUPPORTED');
    const shared = encryptFields(KeySet.generate({ kid: 'x' }), { a: 1 }, p);
    expect(codeOf(() => decryptFields(reader, shared, p))).toBe('ERR_ALG_UNSUPPORTED');
  });

  it('an HPKE-only key cannot seal field tokens (ERR_KEYSET_INVALID)', () => {
    const hpkeOnly = PrivateKeySet.generate({ kid: 'h', type: 'X25519', alg: 'HPKE-X25519-SHA256-A256GCM' });
    expect(codeOf(() => encryptFields(PublicKeySet.of(hpkeOnly), { a: 1 }, FieldPolicy.parse({ fields: ['a'] })))).toBe('ERR_KEYSET_INVALID');
  });

  it('an epk on the wrong curve is ERR_TOKEN_MALFORMED', () => {
    const reader = PrivateKeySet.generate({ kid: 'x', type: 'X25519' });
    const p = FieldPolicy.parse({ fields: ['a'] });
    const sealedDoc = encryptFieldsWithReport(PublicKeySet.of(reader), { a: 1 }, p).doc as unknown as { a: string };
    const [h, ...rest] = sealedDoc.a.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    header.epk = { kty: 'EC', crv: 'P-256', x: header.epk.x, y: header.epk.x };
    const forged = [Buffer.from(JSON.stringify(header)).toString('base64url'), ...rest].join('.');
    expect(codeOf(() => decryptFields(reader, { a: forged }, p))).toBe('ERR_TOKEN_MALFORMED');
  });
});

describe('a token moved under another audience\'s path', () => {
  it('is ERR_FIELD_MISMATCH even when the two audiences use different kinds of keys (the path is checked before the algorithm)', () => {
    const pciReader = PrivateKeySet.generate({ kid: 'pci-x', type: 'X25519' });
    const piiKeys = KeySet.generate({ kid: 'pii-s' });
    const p = FieldPolicy.parse({ audiences: { pci: ['card.number'], pii: ['customer.ssn'] } });
    const s = encryptFields({ pci: PublicKeySet.of(pciReader), pii: piiKeys }, { card: { number: '4111' }, customer: { ssn: '078' } }, p) as { card: { number: string }; customer: { ssn: string } };
    const cardAtPii = { ...s, customer: { ssn: s.card.number } };
    expect(codeOf(() => decryptFields({ pii: piiKeys }, cardAtPii, p))).toBe('ERR_FIELD_MISMATCH');
    const ssnAtPci = { ...s, card: { number: s.customer.ssn } };
    expect(codeOf(() => decryptFields({ pci: pciReader }, ssnAtPci, p))).toBe('ERR_FIELD_MISMATCH');
    // At its own path, a token of the wrong kind for the audience is still refused by the allow-list.
    const q = FieldPolicy.parse({ audiences: { pci: ['a'] } });
    const shared = encryptFields({ pci: piiKeys }, { a: 1 }, q);
    expect(codeOf(() => decryptFields({ pci: pciReader }, shared, q))).toBe('ERR_ALG_UNSUPPORTED');
    expect(codeOf(() => decryptFields({ pci: piiKeys }, encryptFields({ pci: piiKeys }, { a: 1 }, q), q, { token: { algorithms: ['dir'] } }))).toBe('ERR_ALG_UNSUPPORTED');
  });
});

describe('review findings', () => {
  it('every token\'s header is checked even when its content key is known from a neighbour: a bad epk on the second token is refused', () => {
    const reader = PrivateKeySet.generate({ kid: 'x', type: 'X25519' });
    const p = FieldPolicy.parse({ fields: ['a', 'b'] });
    const s = encryptFields(PublicKeySet.of(reader), { a: 1, b: 2 }, p) as unknown as { a: string; b: string };
    const [h, ...rest] = s.b.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    header.epk = { ...header.epk, d: 'AAAA' };
    const forged = [Buffer.from(JSON.stringify(header)).toString('base64url'), ...rest].join('.');
    expect(codeOf(() => decryptFields(reader, { a: s.a, b: forged }, p))).toBe('ERR_TOKEN_MALFORMED');
  });

  it('apu/apv are refused as unsupported, not reported as a wrong key', () => {
    const reader = PrivateKeySet.generate({ kid: 'x', type: 'P-256' });
    const p = FieldPolicy.parse({ fields: ['a'] });
    const s = encryptFields(PublicKeySet.of(reader), { a: 1 }, p) as unknown as { a: string };
    const [h, ...rest] = s.a.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    header.apu = 'QWxpY2U';
    const forged = [Buffer.from(JSON.stringify(header)).toString('base64url'), ...rest].join('.');
    expect(codeOf(() => decryptFields(reader, { a: forged }, p))).toBe('ERR_ALG_UNSUPPORTED');
  });

  it('__proto__, constructor and prototype are not audience names', () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      expect(codeOf(() => FieldPolicy.parse(`{"audiences":{"${name}":["card.number"],"pii":["ssn"]}}`))).toBe('ERR_POLICY_INVALID');
    }
  });
});
