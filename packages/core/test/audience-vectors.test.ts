/**
 * Conformance for the `audiences` member of the vector file (docs/format.md
 * §6.6–6.8, §10): documents split among audiences with record binding,
 * shared-key and public-key (X25519, P-256, RSA) field tokens, and the
 * documents a reader must reject. The file itself is checked byte for byte by
 * conformance.test.ts; here wireseal reads every vector, the recorded content
 * keys, ephemeral keys and OAEP seeds are checked with node:crypto alone, and
 * jose (an independent JS implementation) opens every token.
 */
import { createDecipheriv, createHash, createPrivateKey, createPublicKey, constants, diffieHellman, publicEncrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import type { EngineName, FieldKeys, Jwks } from '@wireseal/core';
import { decryptFields, FieldPolicy, KeySet, PrivateKeySet } from '@wireseal/core';
import type { Vectors } from '../scripts/vectors.ts';
import { oaepEncode } from '../scripts/audience-vectors.ts';
import { codeOf } from './helpers.ts';

const V = JSON.parse(readFileSync(fileURLToPath(new URL('./vectors/wireseal-vectors.json', import.meta.url)), 'utf8')) as Vectors;
const A = V.audiences;
const ENGINES: EngineName[] = ['node', 'noble'];
const headerOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
const seg = (t: string, i: number) => Buffer.from(t.split('.')[i]!, 'base64url');

/** wsc computed independently, as docs/format.md §5.2 says. */
function wscOf(ctx: Record<string, string>): string {
  const entries = Object.entries(ctx).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(entries), 'utf8').digest().subarray(0, 16).toString('base64url');
}

const isShared = (set: string) => A.keySets[set]!.keys[0]!.kty === 'oct';
const readerRing = (keyring: Record<string, string>): FieldKeys =>
  Object.fromEntries(
    Object.entries(keyring).map(([aud, set]) => [aud, isShared(set) ? KeySet.fromJwks(A.keySets[set] as unknown as Jwks) : PrivateKeySet.fromJwks(A.keySets[set]!)]),
  ) as FieldKeys;
const jwkOf = (set: string) => A.keySets[set]!.keys[0]! as Record<string, string>;

describe('audience vectors: the file', () => {
  it('holds the documents, key sets and negatives docs/format.md §10 lists', () => {
    expect(A.fields.map((f) => f.name)).toEqual(['two-audiences-bound', 'public-x25519', 'public-p256', 'public-rsa']);
    expect(A.negative.map((n) => [n.name, n.code])).toEqual([
      ['token-moved-between-records', 'ERR_CONTEXT_MISMATCH'],
      ['array-elements-swapped', 'ERR_CONTEXT_MISMATCH'],
      ['pci-token-at-pii-path', 'ERR_FIELD_MISMATCH'],
      ['epk-wrong-curve', 'ERR_TOKEN_MALFORMED'],
      ['x25519-ek-flipped', 'ERR_DECRYPT'],
      ['rsa-ek-flipped', 'ERR_DECRYPT'],
    ]);
    expect(Object.keys(A.keySets)).toEqual(['pci', 'pii', 'pci-x25519', 'pci-p256', 'pci-rsa']);
    // Every private key set loads as wireseal validates it (test keys only).
    for (const name of ['pci-x25519', 'pci-p256', 'pci-rsa']) expect(PrivateKeySet.fromJwks(A.keySets[name]!).size).toBe(1);
    expect(PrivateKeySet.fromJwks(A.keySets['pci-rsa']!).list()[0]!.bits).toBe(2048);
  });

  it('each token lists its bound context and wsc: caller pairs plus "$" + bind path → JSON text, per [*] element', () => {
    const f = A.fields[0]!;
    const at = (c: string) => f.tokens.find((t) => t.at === c)!;
    expect(at('card.number').context).toEqual({ topic: 'payments.v1', $id: '"pay_7"' });
    expect(at('customer.ssn').context).toEqual({ topic: 'payments.v1', $id: '"pay_7"' });
    expect(at('accounts[0].iban').context).toEqual({ topic: 'payments.v1', $id: '"pay_7"', '$accounts[*].accountId': '"acc-1"' });
    expect(at('accounts[1].iban').context).toEqual({ topic: 'payments.v1', $id: '"pay_7"', '$accounts[*].accountId': '2' });
    for (const v of A.fields) {
      for (const t of v.tokens) {
        expect(t.wsc, `${v.name} ${t.at}`).toBe(wscOf(t.context));
        expect(headerOf(t.token).wsc, `${v.name} ${t.at}`).toBe(t.wsc);
        expect(headerOf(t.token).wsf, `${v.name} ${t.at}`).toBe(t.path);
      }
    }
    // Only the moved and swapped tokens carry a wsc other than the one expected where they were found.
    for (const n of A.negative) expect(headerOf(n.token).wsc === wscOf(n.expectedContext), n.name).toBe(n.code !== 'ERR_CONTEXT_MISMATCH');
  });

  it('header members in order alg, enc, kid, epk (ECDH-ES), wsf, wsc; one encrypted key (and epk) per document and audience', () => {
    const algOf: Record<string, string> = { pci: 'A256KW', pii: 'A256KW', 'pci-x25519': 'ECDH-ES+A256KW', 'pci-p256': 'ECDH-ES+A256KW', 'pci-rsa': 'RSA-OAEP-256' };
    for (const v of A.fields) {
      for (const aud of Object.keys(v.keyring)) {
        const toks = v.tokens.filter((t) => t.audience === aud);
        const set = v.keyring[aud]!;
        expect(new Set(toks.map((t) => t.token.split('.')[1])).size, `${v.name} ${aud}`).toBe(1);
        expect(new Set(toks.map((t) => JSON.stringify(headerOf(t.token).epk))).size).toBe(1);
        for (const t of toks) {
          const h = headerOf(t.token);
          const ecdh = algOf[set] === 'ECDH-ES+A256KW';
          expect(Object.keys(h), `${v.name} ${t.at}`).toEqual(['alg', 'enc', 'kid', ...(ecdh ? ['epk'] : []), 'wsf', 'wsc']);
          expect(h).toMatchObject({ alg: algOf[set], enc: 'A256GCM', kid: jwkOf(set).kid });
          if (ecdh) expect(Object.keys(h.epk as object)).toEqual(jwkOf(set).kty === 'OKP' ? ['kty', 'crv', 'x'] : ['kty', 'crv', 'x', 'y']);
        }
      }
    }
  });

  it('the recorded content keys, ephemeral keys and OAEP seeds reproduce every encrypted key (node:crypto only, no wireseal)', () => {
    for (const v of A.fields) {
      for (const t of v.tokens) {
        const cek = Buffer.from(v.ceks[t.audience]!, 'base64url');
        const d = createDecipheriv('aes-256-gcm', cek, seg(t.token, 2));
        d.setAAD(Buffer.from(t.token.split('.')[0]!, 'ascii'));
        d.setAuthTag(seg(t.token, 4));
        expect(JSON.parse(Buffer.concat([d.update(seg(t.token, 3)), d.final()]).toString('utf8')), `${v.name} ${t.at}`).toEqual(t.value);
      }
      for (const [aud, set] of Object.entries(v.keyring)) {
        const token = v.tokens.find((t) => t.audience === aud)!.token;
        const ek = seg(token, 1);
        const cek = Buffer.from(v.ceks[aud]!, 'base64url');
        const jwk = jwkOf(set);
        let kek: Buffer;
        if (jwk.kty === 'oct') kek = Buffer.from(jwk.k!, 'base64url');
        else if (jwk.kty === 'RSA') {
          const pub = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
          const again = publicEncrypt({ key: pub, padding: constants.RSA_NO_PADDING }, oaepEncode(cek, 256, Buffer.from(v.oaepSeed![aud]!, 'base64url')));
          expect(again.equals(ek), `${v.name} ${aud}`).toBe(true);
          continue;
        } else {
          const eph = v.ephemeral![aud]!;
          const { d: _d, ...epk } = eph;
          expect(headerOf(token).epk).toEqual(epk);
          const z = diffieHellman({
            privateKey: createPrivateKey({ key: eph as never, format: 'jwk' }),
            publicKey: createPublicKey({ key: { ...jwk, d: undefined } as never, format: 'jwk' }),
          });
          // Concat KDF (RFC 7518 §4.6.2): counter 1, Z, len+"ECDH-ES+A256KW", empty apu and apv, SuppPubInfo 256.
          const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
          const alg = Buffer.from('ECDH-ES+A256KW');
          kek = createHash('sha256').update(Buffer.concat([u32(1), z, u32(alg.length), alg, u32(0), u32(0), u32(256)])).digest();
        }
        const unwrap = createDecipheriv('id-aes256-wrap', kek, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
        expect(Buffer.concat([unwrap.update(ek), unwrap.final()]).equals(cek), `${v.name} ${aud}`).toBe(true);
      }
    }
  });
});

describe.each(ENGINES)('wireseal (%s engine) on the audience vectors', (engine) => {
  it('decrypts every document to its original with the full keyring, token by token', () => {
    for (const v of A.fields) {
      const r = decryptFields(readerRing(v.keyring), v.sealed, FieldPolicy.parse(v.policy), { engine, ...(v.context ? { context: v.context } : {}) });
      expect(r.doc, v.name).toEqual(v.doc);
      expect(r.decrypted, v.name).toEqual(v.tokens.map((t) => t.at));
      expect(r.sealed).toEqual([]);
    }
  });

  it('a reader holding only pii opens its fields and leaves the pci tokens byte for byte, reported in sealed', () => {
    for (const v of A.fields) {
      const r = decryptFields<Record<string, unknown>>(readerRing(v.partial.keyring), v.sealed, FieldPolicy.parse(v.policy), { engine, ...(v.context ? { context: v.context } : {}) });
      expect(r.decrypted, v.name).toEqual(v.partial.decrypted);
      expect(r.sealed, v.name).toEqual(v.partial.sealed);
      const doc = r.doc as { card: { number: unknown }; customer: { ssn: unknown } };
      expect(doc.card.number).toBe((v.sealed as typeof doc).card.number);
      expect(doc.customer.ssn).toBe('078-05-1120');
    }
  });

  it('rejects every negative audience document with its code', () => {
    for (const n of A.negative) {
      const run = () => decryptFields(readerRing(n.keyring), n.doc, FieldPolicy.parse(n.policy), { engine, mode: n.mode, ...(n.context ? { context: n.context } : {}) });
      expect(codeOf(run), n.name).toBe(n.code);
    }
  });
});

describe('jose (independent JS implementation) on the audience vectors', () => {
  const keyFor = async (set: string, alg: string) => {
    const jwk = jwkOf(set);
    return jose.importJWK(jwk.kty === 'oct' ? { kty: 'oct', k: jwk.k } : ({ ...jwk, kid: undefined } as jose.JWK), alg);
  };

  it('opens every token with its audience\'s key (private key for public-key audiences)', async () => {
    let n = 0;
    for (const v of A.fields) {
      for (const t of v.tokens) {
        const h = jose.decodeProtectedHeader(t.token);
        const out = await jose.compactDecrypt(t.token, await keyFor(v.keyring[t.audience]!, h.alg!), { keyManagementAlgorithms: [h.alg!] });
        expect(JSON.parse(Buffer.from(out.plaintext).toString('utf8')), `${v.name} ${t.at}`).toEqual(t.value);
        expect(out.protectedHeader.wsc).toBe(wscOf(t.context));
        n++;
      }
    }
    expect(n).toBe(A.fields.reduce((s, f) => s + f.tokens.length, 0));
    expect(n).toBe(21);
  });

  it('rejects the negatives a generic JOSE library can; the moved and swapped tokens open there, and only wsc tells them apart', async () => {
    for (const nv of A.negative) {
      const h = jose.decodeProtectedHeader(nv.token);
      const set = nv.keyring[nv.audience]!;
      const attempt = jose.compactDecrypt(nv.token, await keyFor(set, isShared(set) ? 'A256KW' : h.alg!), { keyManagementAlgorithms: [isShared(set) ? 'A256KW' : h.alg!] });
      if (nv.code === 'ERR_CONTEXT_MISMATCH') {
        const out = await attempt;
        expect(out.protectedHeader.wsc, nv.name).not.toBe(wscOf(nv.expectedContext));
      } else {
        await expect(attempt, nv.name).rejects.toThrow();
      }
    }
  });
});
