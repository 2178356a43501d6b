// The parts form: the same JWE as the compact string, with the four binary segments as bytes.
import fc from 'fast-check';
import { compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { KeySet, compactToParts, open, openParts, partsToCompact, seal, sealParts } from '@wireseal/core';
import type { TokenParts } from '@wireseal/core';
import { codeOf, FIXED_JWKS } from './helpers.ts';

const keys = KeySet.fromJwks(FIXED_JWKS);
const rawKey = Buffer.from(FIXED_JWKS.keys[0].k, 'base64url');
const text = (b: Uint8Array) => Buffer.from(b).toString();

describe('sealParts / openParts', () => {
  it.each(['A256KW', 'dir'] as const)('%s: parts are a standard JWE: partsToCompact opens with open() and with jose', async (alg) => {
    const parts = sealParts(keys, 'card 4111', { alg, cty: 'text/plain', context: { topic: 'documents' } });
    expect(parts.encryptedKey.length).toBe(alg === 'dir' ? 0 : 40);
    expect([parts.iv.length, parts.ciphertext.length, parts.tag.length]).toEqual([12, 9, 16]);
    const compact = partsToCompact(parts);
    expect(text(open(keys, compact, { context: { topic: 'documents' } }))).toBe('card 4111');
    const jose = await compactDecrypt(compact, rawKey);
    expect(text(jose.plaintext)).toBe('card 4111');
    expect(jose.protectedHeader).toMatchObject({ alg, enc: 'A256GCM', kid: 'k-new', cty: 'text/plain' });
    const opened = openParts(keys, parts, { context: { topic: 'documents' } });
    expect(text(opened.plaintext)).toBe('card 4111');
    expect(opened.header.cty).toBe('text/plain');
  });

  it('compactToParts of a compact token opens with openParts, on both engines', () => {
    for (const engine of ['node', 'noble'] as const) {
      const token = seal(keys, new Uint8Array([0, 1, 2, 255]), { engine, field: 'doc' });
      const parts = compactToParts(token);
      expect(partsToCompact(parts)).toBe(token);
      expect([...openParts(keys, parts, { engine, field: 'doc' }).plaintext]).toEqual([0, 1, 2, 255]);
    }
  });

  it('applies every check of open(): claims, allow-list, lengths, limits, bad input', () => {
    const parts = sealParts(keys, 'x', { context: { topic: 'a' } });
    expect(codeOf(() => openParts(keys, parts, { context: { topic: 'b' } }))).toBe('ERR_CONTEXT_MISMATCH');
    expect(codeOf(() => openParts(keys, parts))).toBe('ERR_CONTEXT_MISMATCH');
    expect(codeOf(() => openParts(keys, parts, { context: { topic: 'a' }, algorithms: ['dir'] }))).toBe('ERR_ALG_UNSUPPORTED');
    expect(codeOf(() => openParts(keys, { ...parts, iv: parts.iv.subarray(1) }, { context: { topic: 'a' } }))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => openParts(keys, { ...parts, tag: new Uint8Array(12) }, { context: { topic: 'a' } }))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => openParts(keys, { ...parts, encryptedKey: new Uint8Array(0) }, { context: { topic: 'a' } }))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => openParts(keys, parts, { context: { topic: 'a' }, maxTokenLength: 50 }))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => openParts(keys, { ...parts, ciphertext: 'x' as never }))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => openParts(keys, null as never))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => openParts(KeySet.generate({ kid: 'other' }), parts, { context: { topic: 'a' } }))).toBe('ERR_KEY_UNKNOWN');
    expect(codeOf(() => compactToParts('a.b.c'))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => compactToParts('!!.b.c.d.e'))).toBe('ERR_TOKEN_MALFORMED');
  });

  it('property: every single-byte change to any binary part, or any header character, is refused with a typed error', () => {
    const parts = sealParts(keys, 'the payload', { alg: 'A256KW' });
    const names = ['encryptedKey', 'iv', 'ciphertext', 'tag'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.nat(), fc.integer({ min: 1, max: 255 }), (name, at, delta) => {
        const bytes = new Uint8Array(parts[name]);
        const i = at % bytes.length;
        bytes[i] = (bytes[i]! + delta) & 0xff;
        const changed: TokenParts = { ...parts, [name]: bytes };
        expect(['ERR_DECRYPT', 'ERR_TOKEN_MALFORMED']).toContain(codeOf(() => openParts(keys, changed)));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), (at, ch) => {
        const h = parts.protectedHeader;
        const i = at % h.length;
        fc.pre(h[i] !== ch);
        const changed = { ...parts, protectedHeader: h.slice(0, i) + ch + h.slice(i + 1) };
        expect(['ERR_DECRYPT', 'ERR_TOKEN_MALFORMED', 'ERR_ALG_UNSUPPORTED', 'ERR_KEY_UNKNOWN']).toContain(codeOf(() => openParts(keys, changed)));
      }),
      { numRuns: 300 },
    );
  });
});
