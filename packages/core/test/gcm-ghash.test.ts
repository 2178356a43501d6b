// The constant-time GHASH multiply against the spec's bit-by-bit GF(2^128)
// multiply (NIST SP 800-38D, Algorithm 1) in BigInt, on random and edge inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ghashLengths, ghashMul, ghashTable, ghashUpdate } from '../src/gcm/ghash.ts';

const R = 0xe1n << 120n;
const toBig = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
const fromBig = (x: bigint): Uint8Array => Uint8Array.from(Buffer.from(x.toString(16).padStart(32, '0'), 'hex'));

/** X·Y in GF(2^128), GCM bit order (bit 0 = most significant bit of byte 0). */
function refMul(x: bigint, y: bigint): bigint {
  let z = 0n;
  let v = y;
  for (let i = 0; i < 128; i++) {
    if ((x >> BigInt(127 - i)) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}

/** GHASH_H over blocks (zero-padded), as the spec defines it. */
function refGhash(h: Uint8Array, data: Uint8Array): bigint {
  const hb = toBig(h);
  let y = 0n;
  for (let o = 0; o < data.length; o += 16) {
    const block = new Uint8Array(16);
    block.set(data.subarray(o, o + 16));
    y = refMul(y ^ toBig(block), hb);
  }
  return y;
}

const toState = (b: Uint8Array): Int32Array => {
  const v = new DataView(b.buffer, b.byteOffset, 16);
  return Int32Array.of(v.getInt32(12), v.getInt32(8), v.getInt32(4), v.getInt32(0));
};
const fromState = (s: Int32Array): Uint8Array => {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  for (let q = 0; q < 4; q++) v.setInt32(4 * q, s[3 - q]!);
  return out;
};

const block = fc.uint8Array({ minLength: 16, maxLength: 16 });
// Edge blocks: zero, one (the field's 1 is 0x80 00..), all ones, single high/low bits.
const edges = ['00'.repeat(16), `80${'00'.repeat(15)}`, 'ff'.repeat(16), `${'00'.repeat(15)}01`, `01${'00'.repeat(15)}`, `${'00'.repeat(15)}80`].map((h) =>
  Uint8Array.from(Buffer.from(h, 'hex')),
);
const anyBlock = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...edges) }, { weight: 4, arbitrary: block });

describe('GHASH multiply (BearSSL ctmul32 port) against the BigInt reference', () => {
  it('X·H for random and edge X, H (property)', () => {
    fc.assert(
      fc.property(anyBlock, anyBlock, (x, h) => {
        const s = toState(x);
        ghashMul(s, ghashTable(h));
        expect(toBig(fromState(s))).toBe(refMul(toBig(x), toBig(h)));
      }),
      { numRuns: 2000 },
    );
  });

  it('multiplying by the field’s 1 (0x80 00..) is the identity, by 0 is 0', () => {
    const x = Uint8Array.from(Buffer.from('0123456789abcdeffedcba9876543210', 'hex'));
    const s = toState(x);
    ghashMul(s, ghashTable(edges[1]!));
    expect(Buffer.from(fromState(s)).toString('hex')).toBe('0123456789abcdeffedcba9876543210');
    ghashMul(s, ghashTable(edges[0]!));
    expect(Array.from(s)).toEqual([0, 0, 0, 0]);
  });

  it('GHASH over any length (zero-padded tail) and the length block (property)', () => {
    fc.assert(
      fc.property(block, fc.integer({ min: 0, max: 200 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), fc.nat(1 << 20), fc.nat(1 << 20), (h, data, a, c) => {
        const t = ghashTable(h);
        const s = new Int32Array(4);
        ghashUpdate(s, t, data, 0, data.length);
        expect(toBig(fromState(s))).toBe(refGhash(h, data));
        ghashLengths(s, t, a, c);
        const len = new Uint8Array(16);
        const v = new DataView(len.buffer);
        v.setBigUint64(0, BigInt(a) * 8n);
        v.setBigUint64(8, BigInt(c) * 8n);
        const padded = new Uint8Array(((data.length + 15) & ~15) + 16);
        padded.set(data);
        padded.set(len, padded.length - 16);
        expect(toBig(fromState(s))).toBe(refGhash(h, padded));
      }),
      { numRuns: 300 },
    );
  });

  it('ghashUpdate honours its [from, to) window', () => {
    const h = fromBig(0x66e94bd4ef8a2c3b884cfa59ca342b2en);
    const data = Uint8Array.from({ length: 70 }, (_, i) => i * 7);
    const s = new Int32Array(4);
    ghashUpdate(s, ghashTable(h), data, 5, 62);
    expect(toBig(fromState(s))).toBe(refGhash(h, data.subarray(5, 62)));
  });
});
