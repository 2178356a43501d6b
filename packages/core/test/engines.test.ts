// The two engines: RFC 3394 vectors and a byte-for-byte cross-check on random inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeySet, getEngine, open } from '@wireseal/core';
import { sealWith } from '../src/token/content.ts';
import { encodeHeader } from '../src/token/header.ts';
import { encode } from '../src/base64url.ts';
import { codeOf } from './helpers.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const node = getEngine('node');
const noble = getEngine('noble');

describe('RFC 3394 §4.6: wrap 256 bits of key data with a 256-bit KEK', () => {
  const kek = hex('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F');
  const keyData = hex('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F');
  const expected = hex('28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21');
  it.each([node, noble])('$name engine wraps and unwraps', (engine) => {
    expect(Buffer.from(engine.keyWrap(kek, keyData)).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    expect(Buffer.from(engine.keyUnwrap(kek, expected)).toString('hex')).toBe(Buffer.from(keyData).toString('hex'));
    const bad = expected.slice();
    bad[5]! ^= 1;
    expect(codeOf(() => engine.keyUnwrap(kek, bad))).toBe('ERR_DECRYPT');
  });
});

describe('engines agree byte for byte', () => {
  it('on random keys, content keys, IVs, plaintexts and headers (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 2048 }),
        fc.constantFrom('A256KW' as const, 'dir' as const),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        (k, cek, iv, plaintext, alg, field) => {
          const keys = KeySet.fromJwks({ keys: [{ kty: 'oct', kid: 'p', k: encode(k), key_ops: ['encrypt', 'decrypt'] }] });
          const entry = keys.primaryEntry();
          const header = encodeHeader(alg, 'p', undefined, undefined, field, undefined);
          const ekN = alg === 'dir' ? '' : encode(node.keyWrap(k, cek));
          const ekB = alg === 'dir' ? '' : encode(noble.keyWrap(k, cek));
          expect(ekB).toBe(ekN);
          const a = sealWith(node, entry, alg, cek, ekN, iv, plaintext, header);
          const b = sealWith(noble, entry, alg, cek, ekB, iv, plaintext, header);
          expect(b).toBe(a);
          const opts = field === undefined ? {} : { field };
          expect(Buffer.from(open(keys, a, { ...opts, engine: 'noble' })).equals(Buffer.from(plaintext))).toBe(true);
          expect(Buffer.from(open(keys, b, { ...opts, engine: 'node' })).equals(Buffer.from(plaintext))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agree on SHA-256 and GCM tags for large inputs', () => {
    const data = node.randomBytes(1 << 20).slice();
    expect(Buffer.from(noble.sha256(data)).equals(Buffer.from(node.sha256(data)))).toBe(true);
    const key = node.randomBytes(32).slice();
    const iv = node.randomBytes(12).slice();
    const aad = new TextEncoder().encode('eyJhbGciOiJkaXIifQ');
    const x = node.gcmEncrypt(key, iv, data, aad);
    const y = noble.gcmEncrypt(key, iv, data, aad);
    expect(Buffer.from(y.tag).equals(Buffer.from(x.tag))).toBe(true);
    expect(Buffer.from(y.ciphertext).equals(Buffer.from(x.ciphertext))).toBe(true);
  });
});
