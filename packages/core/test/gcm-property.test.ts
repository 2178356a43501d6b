// The batched GCM engine against node:crypto's aes-256-gcm on random batches:
// byte-identical output, node:crypto's output opens, and any single-bit flip
// of ciphertext, tag, IV or AAD is rejected (only for the flipped item).
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GCM_MAX_AAD_BYTES, GCM_MAX_ITEM_BYTES, prepareGcmKey } from '../src/gcm/index.ts';
import type { GcmOpenItem, PreparedAad } from '../src/gcm/index.ts';
import { codeOf } from './helpers.ts';

const bytes = (max: number) =>
  fc.oneof(fc.integer({ min: 0, max: 48 }), fc.integer({ min: 0, max: max })).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));

const nodeSeal = (key: Uint8Array, iv: Uint8Array, aad: Uint8Array, pt: Uint8Array) => {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const ciphertext = Buffer.concat([c.update(pt), c.final()]);
  return { ciphertext: new Uint8Array(ciphertext), tag: new Uint8Array(c.getAuthTag()) };
};

const flip = (b: Uint8Array, bit: number): Uint8Array => {
  const out = b.slice();
  out[bit >>> 3]! ^= 1 << (bit & 7);
  return out;
};

const batch = fc.record({
  key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  aads: fc.array(bytes(300), { minLength: 1, maxLength: 3 }),
  items: fc.array(
    fc.record({
      iv: fc.uint8Array({ minLength: 12, maxLength: 12 }),
      aad: fc.nat(),
      prepared: fc.boolean(),
      plaintext: bytes(2000),
    }),
    { minLength: 1, maxLength: 10 },
  ),
  victim: fc.nat(),
  bit: fc.nat(),
});

describe('batched GCM = node:crypto aes-256-gcm (property)', () => {
  it('seal, open, and single-bit flips over random batches', () => {
    fc.assert(
      fc.property(batch, ({ key, aads, items, victim, bit }) => {
        const aadOf = (i: number) => aads[items[i]!.aad % aads.length]!;
        // Seal with a fresh key whose AADs are prepared before H is known.
        const k = prepareGcmKey(key);
        const before = aads.map((a) => k.prepareAad(a));
        const aadArg = (i: number, p: readonly PreparedAad[]) => (items[i]!.prepared ? p[items[i]!.aad % aads.length]! : aadOf(i));
        const sealed = k.sealBatch(items.map((it, i) => ({ iv: it.iv, aad: aadArg(i, before), plaintext: it.plaintext })));
        const expected = items.map((it, i) => nodeSeal(key, it.iv, aadOf(i), it.plaintext));
        expect(sealed).toEqual(expected);

        // node:crypto's output opens under a fresh key whose first call is an open.
        const k2 = prepareGcmKey(createSecretKey(key));
        const fromNode: GcmOpenItem[] = items.map((it, i) => ({ iv: it.iv, aad: aadOf(i), ciphertext: expected[i]!.ciphertext, tag: expected[i]!.tag }));
        expect(k2.openBatch(fromNode)).toEqual(items.map((it) => it.plaintext));

        // And under the sealing key, AADs prepared after H is known.
        const after = aads.map((a) => k.prepareAad(a));
        const good: GcmOpenItem[] = items.map((it, i) => ({ ...fromNode[i]!, aad: aadArg(i, after) }));
        expect(k.openBatch(good)).toEqual(items.map((it) => it.plaintext));

        // One flipped bit in one item: that item fails, the others still open.
        const v = victim % items.length;
        const target = good[v]!;
        const rawAad = aadOf(v);
        const tampered: GcmOpenItem[] = [{ ...target, tag: flip(target.tag, bit % 128) }, { ...target, iv: flip(target.iv, bit % 96) }];
        if (target.ciphertext.length > 0) tampered.push({ ...target, ciphertext: flip(target.ciphertext, bit % (target.ciphertext.length * 8)) });
        if (rawAad.length > 0) {
          const bad = flip(rawAad, bit % (rawAad.length * 8));
          tampered.push({ ...target, aad: bad }, { ...target, aad: k.prepareAad(bad) });
        }
        // A truncated or extended ciphertext (a different length block) fails too.
        if (target.ciphertext.length > 0) tampered.push({ ...target, ciphertext: target.ciphertext.subarray(0, target.ciphertext.length - 1) });
        tampered.push({ ...target, ciphertext: Uint8Array.of(...target.ciphertext, 0) });
        for (const t of tampered) {
          const opened = k.openBatch(good.map((g, i) => (i === v ? t : g)));
          expect(opened[v]).toBeNull();
          opened.forEach((p, i) => {
            if (i !== v) expect(p).toEqual(items[i]!.plaintext);
          });
          expect(codeOf(() => k.open(t.iv, t.aad, t.ciphertext, t.tag))).toBe('ERR_DECRYPT');
        }
      }),
      { numRuns: 600 },
    );
  });

  it('AADs sharing prefixes of any length, strict prefixes and repeats, across the 1 KiB memo limit (property)', () => {
    const derived = fc.record({
      cut: fc.nat(),
      suffix: fc.oneof(fc.constant(new Uint8Array(0)), bytes(40)),
      prepared: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.oneof(bytes(300), fc.integer({ min: 1000, max: 1100 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))),
        fc.array(derived, { minLength: 1, maxLength: 8 }),
        (key, base, derivations) => {
          const k = prepareGcmKey(key);
          const aads = derivations.map((d) => Uint8Array.of(...base.subarray(0, d.cut % (base.length + 1)), ...d.suffix));
          const prepared = aads.map((a, i) => (derivations[i]!.prepared ? k.prepareAad(a) : a));
          const iv = randomBytes(12);
          const pt = randomBytes(20);
          const sealed = k.sealBatch(prepared.map((aad) => ({ iv, aad, plaintext: pt })));
          expect(sealed).toEqual(aads.map((a) => nodeSeal(key, iv, a, pt)));
          // Again, one by one in reverse order, under a key that has seen them all.
          for (let i = aads.length - 1; i >= 0; i--) expect(k.seal(iv, aads[i]!, pt)).toEqual(sealed[i]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every bit of a tag, ciphertext and AAD, one at a time, on a small field', () => {
    const key = randomBytes(32);
    const k = prepareGcmKey(key);
    const iv = randomBytes(12);
    const aad = randomBytes(33);
    const pt = new TextEncoder().encode('"4111111111111111"');
    const { ciphertext, tag } = nodeSeal(key, iv, aad, pt);
    const prepared = k.prepareAad(aad);
    expect(k.open(iv, prepared, ciphertext, tag)).toEqual(pt);
    const items: GcmOpenItem[] = [];
    for (let b = 0; b < 128; b++) items.push({ iv, aad: prepared, ciphertext, tag: flip(tag, b) });
    for (let b = 0; b < ciphertext.length * 8; b++) items.push({ iv, aad: prepared, ciphertext: flip(ciphertext, b), tag });
    for (let b = 0; b < aad.length * 8; b++) items.push({ iv, aad: flip(aad, b), ciphertext, tag });
    expect(k.openBatch(items).every((p) => p === null)).toBe(true);
  });
});

describe('batched GCM: arguments and limits', () => {
  const key = randomBytes(32);

  it('rejects bad keys, IVs, tags, sizes, and an AAD prepared by another key', () => {
    expect(codeOf(() => prepareGcmKey(randomBytes(16)))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => prepareGcmKey(createSecretKey(randomBytes(16))))).toBe('ERR_ARGUMENT_INVALID');
    const k = prepareGcmKey(key);
    const other = prepareGcmKey(key).prepareAad(new Uint8Array(3));
    const iv = randomBytes(12);
    expect(codeOf(() => k.seal(randomBytes(16), new Uint8Array(0), new Uint8Array(1)))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => k.seal(iv, other, new Uint8Array(1)))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => k.seal(iv, new Uint8Array(0), new Uint8Array(GCM_MAX_ITEM_BYTES + 1)))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => k.prepareAad(new Uint8Array(GCM_MAX_AAD_BYTES + 1)))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => k.open(iv, new Uint8Array(0), new Uint8Array(1), new Uint8Array(12)))).toBe('ERR_ARGUMENT_INVALID');
  });

  it('handles the largest item and an empty batch', () => {
    const k = prepareGcmKey(key);
    expect(k.sealBatch([])).toEqual([]);
    expect(k.openBatch([])).toEqual([]);
    const iv = randomBytes(12);
    const aad = randomBytes(200);
    const pt = randomBytes(GCM_MAX_ITEM_BYTES);
    const sealed = k.seal(iv, k.prepareAad(aad), pt);
    expect(sealed).toEqual(nodeSeal(key, iv, aad, pt));
    expect(k.open(iv, aad, sealed.ciphertext, sealed.tag)).toEqual(new Uint8Array(pt));
  });

  it('a prepared AAD is reused unchanged after its source bytes change', () => {
    const k = prepareGcmKey(key);
    const aad = randomBytes(40);
    const copy = new Uint8Array(aad);
    const p = k.prepareAad(aad);
    aad.fill(0);
    const iv = randomBytes(12);
    expect(k.seal(iv, p, new Uint8Array(5))).toEqual(nodeSeal(key, iv, copy, new Uint8Array(5)));
  });

  it('a destroyed key refuses to work', () => {
    const k = prepareGcmKey(key);
    k.seal(randomBytes(12), new Uint8Array(0), new Uint8Array(1));
    k.destroy();
    expect(codeOf(() => k.seal(randomBytes(12), new Uint8Array(0), new Uint8Array(1)))).toBe('ERR_ARGUMENT_INVALID');
  });

  it('PreparedAad and GcmKey cannot be constructed directly, and show no state', () => {
    const k = prepareGcmKey(key);
    const p = k.prepareAad(new Uint8Array(10));
    k.seal(randomBytes(12), p, new Uint8Array(1)); // state computed
    expect(JSON.stringify(p)).toBe('{}');
    expect(inspect(p, { showHidden: true, depth: 9 })).toBe('PreparedAad { [length]: [Getter] }');
    expect(inspect(k, { showHidden: true, depth: 9 })).toBe('GcmKey {}');
    expect(p.length).toBe(10);
    const Ctor = p.constructor as new (...args: unknown[]) => unknown;
    expect(codeOf(() => new Ctor(k, new Uint8Array(1), Symbol('x')))).toBe('ERR_ARGUMENT_INVALID');
  });
});

describe('sealBatchInto (the token layer\'s layout: iv || ciphertext || tag in one buffer)', () => {
  it('writes the same ciphertexts and tags as sealBatch and node:crypto, and refuses ranges outside the buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.array(fc.record({ aad: fc.uint8Array({ maxLength: 200 }), pt: fc.uint8Array({ maxLength: 300 }) }), { minLength: 1, maxLength: 8 }), (k, spec) => {
        const key = prepareGcmKey(k);
        const items = spec.map((x) => ({ iv: randomBytes(12), aad: x.aad, plaintext: x.pt }));
        const at: number[] = [];
        let o = 5;
        for (const it of items) {
          at.push(o + 12);
          o += 28 + it.plaintext.length;
        }
        const out = new Uint8Array(o + 3);
        key.sealBatchInto(items, out, at);
        const plain = key.sealBatch(items);
        items.forEach((it, i) => {
          const c = createCipheriv('aes-256-gcm', createSecretKey(k), it.iv);
          c.setAAD(it.aad);
          const ct = Buffer.concat([c.update(it.plaintext), c.final()]);
          const n = it.plaintext.length;
          expect(Buffer.from(out.subarray(at[i]!, at[i]! + n)).equals(ct)).toBe(true);
          expect(Buffer.from(out.subarray(at[i]! + n, at[i]! + n + 16)).equals(c.getAuthTag())).toBe(true);
          expect(Buffer.from(plain[i]!.ciphertext).equals(ct)).toBe(true);
        });
        expect(codeOf(() => key.sealBatchInto(items, out, at.map((a) => a + o)))).toBe('ERR_ARGUMENT_INVALID');
      }),
      { numRuns: 150 },
    );
  });
});

describe('sealAheadInto (IVs drawn and keystream computed ahead, 32 per ECB call)', () => {
  it('opens with node:crypto under the IV it wrote, across refills; IVs never repeat; bounds are refused', () => {
    const k = randomBytes(32);
    const key = prepareGcmKey(k);
    const seen = new Set<string>();
    let items = 0;
    fc.assert(
      fc.property(fc.array(fc.record({ aad: fc.uint8Array({ maxLength: 200 }), pt: fc.uint8Array({ maxLength: 160 }), prepared: fc.boolean() }), { minLength: 1, maxLength: 9 }), (spec) => {
        const batch = spec.map((x) => ({ aad: x.prepared ? key.prepareAad(x.aad) : x.aad, plaintext: x.pt }));
        const at: number[] = [];
        let o = 3;
        for (const it of batch) {
          at.push(o);
          o += 28 + it.plaintext.length;
        }
        const out = new Uint8Array(o + 5);
        key.sealAheadInto(batch, out, at);
        spec.forEach((x, i) => {
          const iv = out.subarray(at[i]!, at[i]! + 12);
          const n = x.pt.length;
          const d = createDecipheriv('aes-256-gcm', createSecretKey(k), iv);
          d.setAAD(x.aad);
          d.setAuthTag(out.subarray(at[i]! + 12 + n, at[i]! + 28 + n));
          expect(Buffer.concat([d.update(out.subarray(at[i]! + 12, at[i]! + 12 + n)), d.final()]).equals(Buffer.from(x.pt))).toBe(true);
          const id = Buffer.from(iv).toString('hex');
          expect(seen.has(id)).toBe(false);
          seen.add(id);
          items++;
        });
      }),
      { numRuns: 120 },
    );
    expect(items).toBeGreaterThan(64); // several refills of 32
    expect(codeOf(() => key.sealAheadInto([{ aad: new Uint8Array(0), plaintext: new Uint8Array(161) }], new Uint8Array(400), [0]))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => key.sealAheadInto([{ aad: new Uint8Array(0), plaintext: new Uint8Array(10) }], new Uint8Array(30), [0]))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => key.sealAheadInto([{ aad: prepareGcmKey(randomBytes(32)).prepareAad(new Uint8Array(3)), plaintext: new Uint8Array(1) }], new Uint8Array(64), [0]))).toBe('ERR_ARGUMENT_INVALID');
    key.destroy();
    expect(codeOf(() => key.sealAheadInto([{ aad: new Uint8Array(0), plaintext: new Uint8Array(1) }], new Uint8Array(64), [0]))).toBe('ERR_ARGUMENT_INVALID');
  });
});
