// Property tests of the per-record re-sealing (in-process, on the sources):
// whatever the document and its formatting, the result opens to the same
// plaintext under the new primary, everything outside the policy is
// unchanged, and a record with nothing to do is returned byte for byte.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, decryptFields, encryptFields } from '@wireseal/core';
import type { JsonValue } from '@wireseal/core';
import { resealDocument } from '../src/reencrypt/record.ts';

const old = KeySet.generate({ kid: 'old' });
const rotated = old.addKey({ kid: 'new' }).promote('new');
const policy = FieldPolicy.parse({ fields: ['a', 'b.c', 'arr[*].x'] });
const ctx = Object.freeze({ t: '1' });

const kidsIn = (text: string): string[] =>
  [...text.matchAll(/"(eyJ[A-Za-z0-9_-]+)\.[A-Za-z0-9_.-]+"/g)].map((m) => (JSON.parse(Buffer.from(m[1]!, 'base64url').toString()) as { kid: string }).kid);

const withoutPolicy = (doc: Record<string, JsonValue>): unknown => {
  const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
  delete copy.a;
  if (copy.b && typeof copy.b === 'object' && !Array.isArray(copy.b)) delete (copy.b as Record<string, unknown>).c;
  if (Array.isArray(copy.arr)) for (const e of copy.arr) if (e && typeof e === 'object' && !Array.isArray(e)) delete (e as Record<string, unknown>).x;
  return copy;
};

const docArb = fc.record(
  {
    a: fc.jsonValue({ maxDepth: 2 }),
    b: fc.record({ c: fc.jsonValue({ maxDepth: 2 }), d: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['d'] }),
    arr: fc.array(fc.record({ x: fc.jsonValue({ maxDepth: 1 }), y: fc.string() }, { requiredKeys: ['y'] }), { maxLength: 4 }),
    other: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['other'] },
) as fc.Arbitrary<Record<string, JsonValue>>;

describe('resealDocument (properties)', () => {
  it('any document, sealed under the old key or the new one or not at all, re-seals to the same plaintext', () => {
    const seen = { resealed: 0, current: 0, fromPlaintext: 0 };
    fc.assert(
      fc.property(docArb, fc.constantFrom('old', 'new', 'plain'), fc.constantFrom(0, 1, 2), (doc, sealedWith, indent) => {
        const plain = JSON.parse(JSON.stringify(doc)) as Record<string, JsonValue>; // what JSON can carry
        const input = sealedWith === 'plain' ? plain : encryptFields(sealedWith === 'old' ? old : rotated, plain, policy, { context: ctx });
        const text = JSON.stringify(input, null, indent);
        const r = resealDocument(rotated, text, { policy, fromContext: ctx });
        const out = JSON.parse(r.text) as Record<string, JsonValue>;
        expect(decryptFields(rotated, out, policy, { context: ctx }).doc).toEqual(plain);
        expect(withoutPolicy(out)).toEqual(withoutPolicy(plain));
        expect(kidsIn(r.text).every((k) => k === 'new')).toBe(true);
        const fields = r.resealed + r.current + r.fromPlaintext;
        seen.resealed += r.resealed;
        seen.current += r.current;
        seen.fromPlaintext += r.fromPlaintext;
        if (sealedWith === 'new' || fields === 0) {
          expect(r.changed).toBe(false);
          expect(r.text).toBe(text);
        }
        if (sealedWith === 'old') expect([r.resealed, r.current, r.fromPlaintext]).toEqual([fields, 0, 0]);
        if (sealedWith === 'plain') expect([r.resealed, r.current, r.fromPlaintext]).toEqual([0, 0, fields]);
        // Token-for-token changes keep the rest of the text (indentation included).
        if (sealedWith === 'old') expect(r.text.replace(/"eyJ[^"]+"/g, '"T"')).toBe(text.replace(/"eyJ[^"]+"/g, '"T"'));
      }),
      { numRuns: 300 },
    );
    // The generator reaches every case often enough to mean something.
    expect(Math.min(seen.resealed, seen.current, seen.fromPlaintext)).toBeGreaterThan(50);
  });

  it('a value whose text also appears elsewhere falls back to re-serialising, still correct', () => {
    const plain = { a: 'same', other: 'same', b: { c: 'same', d: ['same'] } };
    const r = resealDocument(rotated, JSON.stringify(plain), { policy, fromContext: ctx });
    expect(r.fromPlaintext).toBe(2);
    const out = JSON.parse(r.text) as Record<string, JsonValue>;
    expect(out.other).toBe('same');
    expect(decryptFields(rotated, out, policy, { context: ctx }).doc).toEqual(plain);
  });
});
