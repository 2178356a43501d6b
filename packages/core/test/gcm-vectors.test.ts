// The batched GCM engine on the AES-256 test vectors with 96-bit IVs of McGrew
// and Viega, "The Galois/Counter Mode of Operation (GCM)", Test Cases 13-16:
// byte-exact ciphertext and tag, as a batch and one by one, sealed and opened.
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { prepareGcmKey } from '../src/gcm/index.ts';
import { codeOf } from './helpers.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const K0 = '00000000000000000000000000000000 00000000000000000000000000000000';
const K1 = 'feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308';
const P64 =
  'd9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72 1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b391aafd255';
const C64 =
  '522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa 8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662898015ad';

interface Vector {
  readonly name: string;
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly plaintext: string;
  readonly ciphertext: string;
  readonly tag: string;
}

const VECTORS: readonly Vector[] = [
  { name: 'Test Case 13', key: K0, iv: '000000000000000000000000', aad: '', plaintext: '', ciphertext: '', tag: '530f8afbc74536b9a963b4f1c4cb738b' },
  {
    name: 'Test Case 14',
    key: K0,
    iv: '000000000000000000000000',
    aad: '',
    plaintext: '00000000000000000000000000000000',
    ciphertext: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  { name: 'Test Case 15', key: K1, iv: 'cafebabefacedbaddecaf888', aad: '', plaintext: P64, ciphertext: C64, tag: 'b094dac5d93471bdec1a502270e3cc6c' },
  {
    name: 'Test Case 16',
    key: K1,
    iv: 'cafebabefacedbaddecaf888',
    aad: 'feedfacedeadbeeffeedfacedeadbeef abaddad2',
    plaintext: P64.replace(/\s+/g, '').slice(0, 120),
    ciphertext: C64.replace(/\s+/g, '').slice(0, 120),
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
];

describe('GCM spec Test Cases 13-16 (AES-256, 96-bit IV)', () => {
  it.each(VECTORS)('$name: seal and open, raw and prepared AAD', (v) => {
    const k = prepareGcmKey(hex(v.key));
    for (const aad of [hex(v.aad), k.prepareAad(hex(v.aad))]) {
      const sealed = k.seal(hex(v.iv), aad, hex(v.plaintext));
      expect(toHex(sealed.ciphertext)).toBe(v.ciphertext.replace(/\s+/g, ''));
      expect(toHex(sealed.tag)).toBe(v.tag);
      expect(toHex(k.open(hex(v.iv), aad, hex(v.ciphertext), hex(v.tag)))).toBe(v.plaintext.replace(/\s+/g, ''));
    }
  });

  it.each(VECTORS)('$name: the expected values are node:crypto’s too', (v) => {
    const c = createCipheriv('aes-256-gcm', hex(v.key), hex(v.iv));
    c.setAAD(hex(v.aad));
    const ct = Buffer.concat([c.update(hex(v.plaintext)), c.final()]);
    expect(ct.toString('hex')).toBe(v.ciphertext.replace(/\s+/g, ''));
    expect(c.getAuthTag().toString('hex')).toBe(v.tag);
  });

  it.each(VECTORS)('$name: a flipped tag bit fails with ERR_DECRYPT', (v) => {
    const k = prepareGcmKey(hex(v.key));
    const tag = hex(v.tag);
    tag[15]! ^= 0x80;
    expect(codeOf(() => k.open(hex(v.iv), hex(v.aad), hex(v.ciphertext), tag))).toBe('ERR_DECRYPT');
  });

  it('all four in one batch per key, the first batch of a key computing H in its own ECB call', () => {
    for (const keyHex of [K0, K1]) {
      const vs = VECTORS.filter((v) => v.key === keyHex);
      const k = prepareGcmKey(hex(keyHex));
      const prepared = vs.map((v) => k.prepareAad(hex(v.aad))); // before H is known: computed on first use
      const sealed = k.sealBatch(vs.map((v, i) => ({ iv: hex(v.iv), aad: prepared[i]!, plaintext: hex(v.plaintext) })));
      vs.forEach((v, i) => {
        expect(toHex(sealed[i]!.ciphertext)).toBe(v.ciphertext.replace(/\s+/g, ''));
        expect(toHex(sealed[i]!.tag)).toBe(v.tag);
      });
      const fresh = prepareGcmKey(hex(keyHex)); // first call is an open
      const opened = fresh.openBatch(vs.map((v) => ({ iv: hex(v.iv), aad: hex(v.aad), ciphertext: hex(v.ciphertext), tag: hex(v.tag) })));
      expect(opened.map((p) => toHex(p!))).toEqual(vs.map((v) => v.plaintext.replace(/\s+/g, '')));
    }
  });
});
