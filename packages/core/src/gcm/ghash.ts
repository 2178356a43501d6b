/**
 * Constant-time GHASH (the universal hash of AES-GCM, NIST SP 800-38D §6.4)
 * in plain JavaScript integer arithmetic.
 *
 * Side-channel stance: H = E_K(0^128) and every GHASH state are secret (they
 * give forgeries). Nothing here indexes memory or branches on them: the
 * multiply in GF(2^128) is a port of the technique of BearSSL's
 * `ghash_ctmul32.c` (Thomas Pornin, MIT licence): carry-less 32x32
 * multiplications built from the CPU's integer multiplier (`Math.imul`, low
 * 32 bits), with the operands split into four masks that keep one bit in four
 * ("holes"), so the carries of an integer product can never reach a bit that
 * is kept; Karatsuba turns the 128x128 product into nine 32x32 ones, and the
 * high halves come from the same multiplies on bit-reversed operands
 * (rev32(x)·rev32(y) = rev64(x·y)), eighteen in all. The only tables are the
 * per-key masked forms of H, read at fixed offsets. Loop counts and branches
 * depend on lengths only, which are public in GCM. Integer multiplication is
 * constant-time on every current x86-64 and ARMv8 core that Node runs on (the
 * same assumption BearSSL makes for `ctmul32`).
 *
 * Word order (as in BearSSL): a 16-byte block is four big-endian 32-bit
 * words, `w[3]` the first four bytes and `w[0]` the last four.
 */

const M0 = 0x11111111;
const M1 = 0x22222222;
const M2 = 0x44444444;
const M3 = 0x88888888 | 0;

/** Bit-reverses a 32-bit word (constant-time shifts and masks). */
function rev32(x: number): number {
  x = ((x & 0x55555555) << 1) | ((x >>> 1) & 0x55555555);
  x = ((x & 0x33333333) << 2) | ((x >>> 2) & 0x33333333);
  x = ((x & 0x0f0f0f0f) << 4) | ((x >>> 4) & 0x0f0f0f0f);
  x = ((x & 0x00ff00ff) << 8) | ((x >>> 8) & 0x00ff00ff);
  return (x << 16) | (x >>> 16);
}

/**
 * Carry-less product of `x` and the word whose four masked parts are
 * `t[o..o+3]` (`y & 0x1111…`, `y & 0x2222…`, `y & 0x4444…`, `y & 0x8888…`),
 * truncated to its low 32 bits. Each `Math.imul` multiplies two words with at
 * most eight bits set, spaced four apart: a bit position of the integer
 * product collects at most eight partial products, a count that fits in the
 * four bits up to the next kept position, so masking the result keeps exactly
 * the XOR (parity) of the partial products.
 */
function bmul32(x: number, t: Int32Array, o: number): number {
  const x0 = x & M0;
  const x1 = x & M1;
  const x2 = x & M2;
  const x3 = x & M3;
  const y0 = t[o]!;
  const y1 = t[o + 1]!;
  const y2 = t[o + 2]!;
  const y3 = t[o + 3]!;
  const z0 = Math.imul(x0, y0) ^ Math.imul(x1, y3) ^ Math.imul(x2, y2) ^ Math.imul(x3, y1);
  const z1 = Math.imul(x0, y1) ^ Math.imul(x1, y0) ^ Math.imul(x2, y3) ^ Math.imul(x3, y2);
  const z2 = Math.imul(x0, y2) ^ Math.imul(x1, y1) ^ Math.imul(x2, y0) ^ Math.imul(x3, y3);
  const z3 = Math.imul(x0, y3) ^ Math.imul(x1, y2) ^ Math.imul(x2, y1) ^ Math.imul(x3, y0);
  return (z0 & M0) | (z1 & M1) | (z2 & M2) | (z3 & M3);
}

/** Length of the per-key table of H made by {@link ghashTable}: 18 Karatsuba operands, 4 masked parts each. */
export const GHASH_TABLE_WORDS = 72;

/**
 * The per-key precomputation of H (16 bytes, big-endian as in the spec): the
 * eighteen Karatsuba operands of H (direct and bit-reversed) split into their
 * four masked parts. Pure arithmetic on H, no lookups.
 */
export function ghashTable(h: Uint8Array, offset = 0): Int32Array {
  const hw0 = be32(h, offset + 12);
  const hw1 = be32(h, offset + 8);
  const hw2 = be32(h, offset + 4);
  const hw3 = be32(h, offset);
  const b = new Int32Array(18);
  b[0] = hw0;
  b[1] = hw1;
  b[2] = hw2;
  b[3] = hw3;
  b[4] = hw0 ^ hw1;
  b[5] = hw2 ^ hw3;
  b[6] = hw0 ^ hw2;
  b[7] = hw1 ^ hw3;
  b[8] = b[6]! ^ b[7]!;
  b[9] = rev32(hw0);
  b[10] = rev32(hw1);
  b[11] = rev32(hw2);
  b[12] = rev32(hw3);
  b[13] = b[9]! ^ b[10]!;
  b[14] = b[11]! ^ b[12]!;
  b[15] = b[9]! ^ b[11]!;
  b[16] = b[10]! ^ b[12]!;
  b[17] = b[15]! ^ b[16]!;
  const t = new Int32Array(GHASH_TABLE_WORDS);
  for (let i = 0; i < 18; i++) {
    const v = b[i]!;
    t[4 * i] = v & M0;
    t[4 * i + 1] = v & M1;
    t[4 * i + 2] = v & M2;
    t[4 * i + 3] = v & M3;
  }
  b.fill(0);
  return t;
}

/** Big-endian 32-bit word at `o` (as a signed int32). */
function be32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/**
 * s ← s · H in GF(2^128) with the GCM bit order, `s` in BearSSL word order
 * (`s[3]` holds bytes 0-3). `t` is {@link ghashTable}(H).
 */
export function ghashMul(s: Int32Array, t: Int32Array): void {
  const a0 = s[0]!;
  const a1 = s[1]!;
  const a2 = s[2]!;
  const a3 = s[3]!;
  const a6 = a0 ^ a2;
  const a7 = a1 ^ a3;
  const r0 = rev32(a0);
  const r1 = rev32(a1);
  const r2 = rev32(a2);
  const r3 = rev32(a3);
  const r6 = r0 ^ r2;
  const r7 = r1 ^ r3;

  // y[0,1]*h[0,1] -> c0,c1,c4; y[2,3]*h[2,3] -> c2,c3,c5; (y[0,1]+y[2,3])*(h[0,1]+h[2,3]) -> c6,c7,c8;
  // c9..c17: the same on bit-reversed operands (the high halves).
  const c0 = bmul32(a0, t, 0);
  const c1 = bmul32(a1, t, 4);
  const c2 = bmul32(a2, t, 8);
  const c3 = bmul32(a3, t, 12);
  const c4 = bmul32(a0 ^ a1, t, 16) ^ c0 ^ c1;
  const c5 = bmul32(a2 ^ a3, t, 20) ^ c2 ^ c3;
  const c6 = bmul32(a6, t, 24);
  const c7 = bmul32(a7, t, 28);
  const c8 = bmul32(a6 ^ a7, t, 32) ^ c6 ^ c7;
  const c9 = bmul32(r0, t, 36);
  const c10 = bmul32(r1, t, 40);
  const c11 = bmul32(r2, t, 44);
  const c12 = bmul32(r3, t, 48);
  const c13 = bmul32(r0 ^ r1, t, 52) ^ c9 ^ c10;
  const c14 = bmul32(r2 ^ r3, t, 56) ^ c11 ^ c12;
  const c15 = bmul32(r6, t, 60);
  const c16 = bmul32(r7, t, 64);
  const c17 = bmul32(r6 ^ r7, t, 68) ^ c15 ^ c16;

  // Recombine Karatsuba into the 256-bit product d7..d0 (bit-reflected).
  const d0 = c0;
  const d1 = c4 ^ (rev32(c9) >>> 1);
  const d2 = c1 ^ c0 ^ c2 ^ c6 ^ (rev32(c13) >>> 1);
  const d3 = c4 ^ c5 ^ c8 ^ (rev32(c10 ^ c9 ^ c11 ^ c15) >>> 1);
  const d4 = c2 ^ c1 ^ c3 ^ c7 ^ (rev32(c13 ^ c14 ^ c17) >>> 1);
  const d5 = c5 ^ (rev32(c11 ^ c10 ^ c12 ^ c16) >>> 1);
  const d6 = c3 ^ (rev32(c14) >>> 1);
  const d7 = rev32(c12) >>> 1;

  // Shift left by one (GCM's reflected bit order), then reduce modulo
  // x^128 + x^7 + x^2 + x + 1, one low word at a time.
  const z0 = d0 << 1;
  const z1 = (d1 << 1) | (d0 >>> 31);
  const z2 = (d2 << 1) | (d1 >>> 31);
  let z3 = (d3 << 1) | (d2 >>> 31);
  let z4 = (d4 << 1) | (d3 >>> 31);
  let z5 = (d5 << 1) | (d4 >>> 31);
  let z6 = (d6 << 1) | (d5 >>> 31);
  let z7 = (d7 << 1) | (d6 >>> 31);

  z4 ^= z0 ^ (z0 >>> 1) ^ (z0 >>> 2) ^ (z0 >>> 7);
  z3 ^= (z0 << 31) ^ (z0 << 30) ^ (z0 << 25);
  z5 ^= z1 ^ (z1 >>> 1) ^ (z1 >>> 2) ^ (z1 >>> 7);
  z4 ^= (z1 << 31) ^ (z1 << 30) ^ (z1 << 25);
  z6 ^= z2 ^ (z2 >>> 1) ^ (z2 >>> 2) ^ (z2 >>> 7);
  z5 ^= (z2 << 31) ^ (z2 << 30) ^ (z2 << 25);
  z7 ^= z3 ^ (z3 >>> 1) ^ (z3 >>> 2) ^ (z3 >>> 7);
  z6 ^= (z3 << 31) ^ (z3 << 30) ^ (z3 << 25);

  s[0] = z4;
  s[1] = z5;
  s[2] = z6;
  s[3] = z7;
}

/**
 * Absorbs `data[from, to)` into the state `s`: block by block, the last
 * partial block zero-padded (GCM pads AAD and ciphertext separately).
 */
export function ghashUpdate(s: Int32Array, t: Int32Array, data: Uint8Array, from: number, to: number): void {
  let o = from;
  const full = to - ((to - from) & 15);
  for (; o < full; o += 16) {
    s[3]! ^= be32(data, o);
    s[2]! ^= be32(data, o + 4);
    s[1]! ^= be32(data, o + 8);
    s[0]! ^= be32(data, o + 12);
    ghashMul(s, t);
  }
  if (o < to) {
    // The tail: the bytes that exist, shifted into place; missing ones are zero.
    let w3 = 0;
    let w2 = 0;
    let w1 = 0;
    let w0 = 0;
    for (let i = 0; o + i < to; i++) {
      const v = data[o + i]!;
      const sh = 24 - 8 * (i & 3);
      if (i < 4) w3 |= v << sh;
      else if (i < 8) w2 |= v << sh;
      else if (i < 12) w1 |= v << sh;
      else w0 |= v << sh;
    }
    s[3]! ^= w3;
    s[2]! ^= w2;
    s[1]! ^= w1;
    s[0]! ^= w0;
    ghashMul(s, t);
  }
}

/**
 * Absorbs GCM's final length block: the AAD and ciphertext lengths in bits,
 * each a 64-bit big-endian integer.
 */
export function ghashLengths(s: Int32Array, t: Int32Array, aadBytes: number, ciphertextBytes: number): void {
  s[3]! ^= Math.floor(aadBytes / 0x20000000);
  s[2]! ^= aadBytes << 3;
  s[1]! ^= Math.floor(ciphertextBytes / 0x20000000);
  s[0]! ^= ciphertextBytes << 3;
  ghashMul(s, t);
}
