/**
 * The legacy AES-CBC reader and the insecure writer: key checks, the opt-in,
 * engine cross-checks, one error for every decryption failure, the field and
 * payload hooks, the counts, and a demonstration of why the format is unsafe.
 */
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '@wireseal/core';
import { decryptFields, encryptFields, FieldPolicy, KeySet } from '@wireseal/core';
import { DecryptError } from '@wireseal/core/errors';
import type { LegacyEvent } from '../src/legacy.ts';
import { isLegacyCbcShaped, legacyCbcReader, openLegacyCbc, sealLegacyCbcInsecure, sealLegacyFieldsInsecure } from '../src/legacy.ts';
import { codeOf, td, te } from './helpers.ts';

const KEY_TEXT = 'a 32-character ASCII shared key!';
const KEY = te.encode(KEY_TEXT);
const INSECURE = { insecureLegacy: true } as const;
const keys = KeySet.generate({ kid: 'k1' });

/** The snippet many services use, written independently with node:crypto. */
function snippet(key: Uint8Array, iv: Uint8Array, text: string | Uint8Array): string {
  const c = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv);
  return Buffer.concat([iv, c.update(text), c.final()]).toString('base64');
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

describe('keys', () => {
  it('accepts 16, 24 and 32 bytes, and a string as its UTF-8 bytes', () => {
    for (const n of [16, 24, 32]) {
      const key = new Uint8Array(n).fill(n);
      const value = snippet(key, new Uint8Array(16).fill(1), 'x');
      expect(td.decode(openLegacyCbc(key, value))).toBe('x');
    }
    expect(td.decode(openLegacyCbc(KEY_TEXT, snippet(KEY, new Uint8Array(16), 'from text key')))).toBe('from text key');
  });

  it('rejects any other length with ERR_KEYSET_INVALID and never echoes the key', () => {
    const value = snippet(KEY, new Uint8Array(16), 'x');
    for (const key of [new Uint8Array(0), new Uint8Array(15), new Uint8Array(17), new Uint8Array(31), new Uint8Array(33), new Uint8Array(64)]) {
      expect(codeOf(() => openLegacyCbc(key, value))).toBe('ERR_KEYSET_INVALID');
      expect(codeOf(() => legacyCbcReader({ key }))).toBe('ERR_KEYSET_INVALID');
      expect(codeOf(() => sealLegacyCbcInsecure(key, 'x', INSECURE))).toBe('ERR_KEYSET_INVALID');
    }
    // 32 characters, but "é" is two UTF-8 bytes: 33 bytes.
    const text = 'é1234567890123456789012345678901';
    expect(text.length).toBe(32);
    expect(codeOf(() => legacyCbcReader({ key: text }))).toBe('ERR_KEYSET_INVALID');
    expect(messageOf(() => legacyCbcReader({ key: text }))).not.toContain(text);
    expect(codeOf(() => openLegacyCbc(7 as never, value))).toBe('ERR_KEYSET_INVALID');
  });
});

describe('the insecure writer', () => {
  it('refuses without insecureLegacy: true (ERR_ALG_UNSUPPORTED)', () => {
    for (const options of [undefined, {}, { insecureLegacy: false }, { insecureLegacy: 'true' }, { insecureLegacy: 1 }]) {
      expect(codeOf(() => sealLegacyCbcInsecure(KEY, 'x', options as never))).toBe('ERR_ALG_UNSUPPORTED');
      expect(codeOf(() => sealLegacyFieldsInsecure(KEY, { a: 'x' }, FieldPolicy.parse(['a']), options as never))).toBe('ERR_ALG_UNSUPPORTED');
    }
  });

  it('writes exactly what the common snippet writes, with a fresh IV each time', () => {
    const iv = new Uint8Array(16).map((_, i) => i * 3);
    for (const engine of ['node', 'noble'] as const) {
      expect(sealLegacyCbcInsecure(KEY, 'Grüße', { ...INSECURE, iv, engine })).toBe(snippet(KEY, iv, 'Grüße'));
    }
    const a = sealLegacyCbcInsecure(KEY, 'same', INSECURE);
    const b = sealLegacyCbcInsecure(KEY, 'same', INSECURE);
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64').subarray(0, 16).equals(Buffer.from(b, 'base64').subarray(0, 16))).toBe(false);
    expect(Buffer.from(a, 'base64').length).toBe(32);
  });

  it('node and noble engines agree byte for byte and open each other (random keys, IVs, plaintexts)', () => {
    fc.assert(
      fc.property(fc.constantFrom(16, 24, 32), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (n, iv, pt, keyMaterial) => {
        const key = keyMaterial.subarray(0, n);
        const viaNode = sealLegacyCbcInsecure(key, pt, { ...INSECURE, iv, engine: 'node' });
        const viaNoble = sealLegacyCbcInsecure(key, pt, { ...INSECURE, iv, engine: 'noble' });
        expect(viaNoble).toBe(viaNode);
        expect(viaNode).toBe(snippet(key, iv, pt));
        expect(Buffer.from(openLegacyCbc(key, viaNode, { engine: 'noble' })).equals(Buffer.from(pt))).toBe(true);
        expect(Buffer.from(openLegacyCbc(key, viaNoble, { engine: 'node' })).equals(Buffer.from(pt))).toBe(true);
        expect(Buffer.from(viaNode, 'base64').length).toBe(16 + (Math.floor(pt.length / 16) + 1) * 16);
      }),
      { numRuns: 300 },
    );
  });

  it('runs without node:crypto and Buffer (browsers, edge): same values as on Node', () => {
    const inputs = fc.sample(fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 70 })), { numRuns: 200, seed: 3 });
    const onNode = inputs.map(([iv, pt]) => sealLegacyCbcInsecure(KEY, pt, { ...INSECURE, iv, engine: 'node' }));
    const g = globalThis as { Buffer?: unknown };
    const saved = g.Buffer;
    let sealed: string[];
    let opened: Uint8Array[];
    let fromBytes: Uint8Array;
    try {
      delete g.Buffer;
      sealed = inputs.map(([iv, pt]) => sealLegacyCbcInsecure(KEY, pt, { ...INSECURE, iv, engine: 'noble' }));
      opened = onNode.map((v) => openLegacyCbc(KEY, v, { engine: 'noble' }));
      fromBytes = legacyCbcReader({ key: KEY, engine: 'noble' }).openPayload(new TextEncoder().encode(onNode[0]!))!;
    } finally {
      g.Buffer = saved;
    }
    expect(sealed).toEqual(onNode);
    opened.forEach((o, i) => expect(Buffer.from(o).equals(Buffer.from(inputs[i]![1]))).toBe(true));
    expect(Buffer.from(fromBytes).equals(Buffer.from(inputs[0]![1]))).toBe(true);
  });

  it('seals policy paths of a document without touching the input', () => {
    const policy = FieldPolicy.parse(['card.number', 'accounts[*].iban', 'meta']);
    const doc = { card: { number: '4111111111111111', cvv: '737' }, accounts: [{ iban: 'DE89' }, { iban: 'FR14' }], meta: { a: [1] } };
    const copy = structuredClone(doc);
    const out = sealLegacyFieldsInsecure(KEY, doc, policy, INSECURE) as typeof doc & { meta: string };
    expect(doc).toEqual(copy);
    expect(out.card.cvv).toBe('737');
    expect(isLegacyCbcShaped(out.card.number)).toBe(true);
    expect(td.decode(openLegacyCbc(KEY, out.accounts[1]!.iban))).toBe('FR14');
    expect(td.decode(openLegacyCbc(KEY, out.meta))).toBe('{"a":[1]}');
    const json = sealLegacyFieldsInsecure(KEY, doc, policy, { ...INSECURE, format: 'json' }) as typeof doc;
    expect(td.decode(openLegacyCbc(KEY, json.card.number))).toBe('"4111111111111111"');
  });
});

describe('one error for every decryption failure', () => {
  const DECRYPT_MESSAGE = messageOf(() => openLegacyCbc(KEY, snippet(new Uint8Array(32).fill(9), new Uint8Array(16), 'other key, bad padding here?')));

  it('random shaped values either open or fail with ERR_DECRYPT and the same message (both engines)', () => {
    const seen = { ok: 0, failed: 0 };
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.uint8Array({ minLength: 96, maxLength: 96 }), (blocks, bytes) => {
        const value = Buffer.from(bytes.subarray(0, blocks * 16)).toString('base64');
        expect(isLegacyCbcShaped(value)).toBe(true);
        const outcomes = (['node', 'noble'] as const).map((engine) => {
          try {
            return Buffer.from(openLegacyCbc(KEY, value, { engine })).toString('hex');
          } catch (err) {
            expect(err).toBeInstanceOf(DecryptError);
            expect((err as DecryptError).code).toBe('ERR_DECRYPT');
            expect((err as Error).message).toBe(DECRYPT_MESSAGE);
            return 'failed';
          }
        });
        expect(outcomes[1]).toBe(outcomes[0]);
        seen[outcomes[0] === 'failed' ? 'failed' : 'ok']++;
      }),
      { numRuns: 2000, seed: 7 },
    );
    // About 1 in 256 random values have valid padding: both outcomes happen.
    expect(seen.failed).toBeGreaterThan(1900);
    expect(seen.ok).toBeGreaterThan(0);
  });

  it('the field reader gives one message for bad padding, bad UTF-8 and bad JSON', () => {
    const reader = legacyCbcReader({ key: KEY, parse: 'json' });
    const iv = new Uint8Array(16).fill(4);
    const badPadding = Buffer.concat([iv, createCipheriv('aes-256-cbc', KEY, iv).setAutoPadding(false).update(new Uint8Array(16).fill(0x41))]).toString('base64');
    const badUtf8 = snippet(KEY, iv, new Uint8Array([0xc3, 0x28]));
    const badJson = snippet(KEY, iv, '{"unterminated":');
    const messages = [badPadding, badUtf8, badJson].map((v) => {
      expect(codeOf(() => reader.read(v, 'card.number'))).toBe('ERR_DECRYPT');
      return messageOf(() => reader.read(v, 'card.number'));
    });
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toContain('card.number');
    expect(reader.stats().rejected).toBe(6);
  });

  it('messages never contain the key or the plaintext', () => {
    const plaintext = 'SECRET-PLAINTEXT-4111';
    const reader = legacyCbcReader({ key: KEY_TEXT, parse: 'json' });
    const msg = messageOf(() => reader.read(snippet(KEY, new Uint8Array(16), plaintext), 'x'));
    for (const s of [plaintext, KEY_TEXT, Buffer.from(KEY).toString('hex'), Buffer.from(KEY).toString('base64')]) expect(msg).not.toContain(s);
  });
});

describe('shape', () => {
  it('recognises canonical padded base64 of IV + whole blocks, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (bytes) => {
        const b64 = Buffer.from(bytes).toString('base64');
        expect(isLegacyCbcShaped(b64)).toBe(bytes.length >= 32 && bytes.length % 16 === 0);
        if (bytes.length >= 32 && bytes.length % 16 === 0) {
          expect(isLegacyCbcShaped(Buffer.from(bytes).toString('base64url'))).toBe(!/[-_]/.test(Buffer.from(bytes).toString('base64url')));
          expect(isLegacyCbcShaped(` ${b64}`)).toBe(false);
          expect(isLegacyCbcShaped(`${b64}\n`)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
    for (const v of [undefined, null, 42, true, {}, [], 'eyJhbGciOiJkaXIifQ..a.b.c']) expect(isLegacyCbcShaped(v)).toBe(false);
  });

  it('openLegacyCbc: not shaped is ERR_TOKEN_MALFORMED; over maxLength too; bytes input works', () => {
    const value = snippet(KEY, new Uint8Array(16), 'x');
    expect(codeOf(() => openLegacyCbc(KEY, value.slice(0, -4)))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => openLegacyCbc(KEY, value, { maxLength: value.length - 1 }))).toBe('ERR_TOKEN_MALFORMED');
    expect(td.decode(openLegacyCbc(KEY, te.encode(value)))).toBe('x');
    expect(codeOf(() => openLegacyCbc(KEY, new Uint8Array([0xff, ...te.encode(value).subarray(1)])))).toBe('ERR_TOKEN_MALFORMED');
  });
});

describe('why the format is unsafe (these tests pass because it has no integrity)', () => {
  it('flipping one base64 character of the IV turns {"amount":100} into {"amount":900} undetected', () => {
    const value = sealLegacyCbcInsecure(KEY, '{"amount":100}', INSECURE);
    const raw = Buffer.from(value, 'base64');
    raw[10] = raw[10]! ^ ('1'.charCodeAt(0) ^ '9'.charCodeAt(0)); // byte 10 of block 1 is the "1"
    const forged = raw.toString('base64');
    expect([...forged].filter((c, i) => c !== value[i]).length).toBe(1);
    const reader = legacyCbcReader({ key: KEY, parse: 'json' });
    expect(reader.read(forged, 'order')).toEqual({ amount: 900 });
  });

  it('swapping values between fields is undetected (no binding), unlike wireseal tokens', () => {
    const policy = FieldPolicy.parse(['from', 'to']);
    const legacyDoc = sealLegacyFieldsInsecure(KEY, { from: 'alice', to: 'bob' }, policy, INSECURE) as { from: string; to: string };
    const swapped = { from: legacyDoc.to, to: legacyDoc.from };
    const reader = legacyCbcReader({ key: KEY });
    expect(decryptFields(keys, swapped, policy, { mode: 'migrate', legacy: [reader] }).doc).toEqual({ from: 'bob', to: 'alice' });
    const sealed = encryptFields(keys, { from: 'alice', to: 'bob' }, policy) as { from: string; to: string };
    expect(codeOf(() => decryptFields(keys, { from: sealed.to, to: sealed.from }, policy, { mode: 'migrate', legacy: [reader] }))).toBe('ERR_FIELD_MISMATCH');
  });
});

describe('decryptFields in migrate mode with a legacy reader', () => {
  const policy = FieldPolicy.parse({ fields: ['card.number', 'card.cvv', 'customer.ssn', 'accounts[*].iban', 'profile'] });

  it('reads legacy values at its paths, opens tokens, passes plaintext through, and counts', () => {
    const events: LegacyEvent[] = [];
    let clock = 1_800_000_000_000;
    const reader = legacyCbcReader({
      key: KEY_TEXT,
      paths: ['card.number', 'accounts[*].iban', 'profile'],
      onLegacy: (e) => events.push(e),
      now: () => clock++,
    });
    const token = encryptFields(keys, { customer: { ssn: '078-05-1120' } }, policy) as { customer: { ssn: string } };
    const body = {
      card: { number: sealLegacyCbcInsecure(KEY, '4111111111111111', INSECURE), cvv: '737' },
      customer: { ssn: token.customer.ssn },
      accounts: [{ iban: sealLegacyCbcInsecure(KEY, 'DE89', INSECURE) }, { iban: 'FR14 plaintext' }, { iban: sealLegacyCbcInsecure(KEY, 'NL91', INSECURE) }],
      profile: sealLegacyCbcInsecure(KEY, '{"name":"Ada"}', INSECURE),
    };
    const r = decryptFields(keys, body, policy, { mode: 'migrate', legacy: [reader] });
    expect(r.doc).toEqual({
      card: { number: '4111111111111111', cvv: '737' },
      customer: { ssn: '078-05-1120' },
      accounts: [{ iban: 'DE89' }, { iban: 'FR14 plaintext' }, { iban: 'NL91' }],
      profile: '{"name":"Ada"}',
    });
    expect(r.decrypted).toEqual(['customer.ssn']);
    expect(r.passedThrough).toEqual(['card.cvv', 'accounts[1].iban']);
    expect(r.legacy).toEqual([
      { path: 'card.number', reader: 'legacy-aes-cbc' },
      { path: 'accounts[0].iban', reader: 'legacy-aes-cbc' },
      { path: 'accounts[2].iban', reader: 'legacy-aes-cbc' },
      { path: 'profile', reader: 'legacy-aes-cbc' },
    ]);
    expect(reader.stats()).toEqual({
      fields: 4,
      payloads: 0,
      rejected: 0,
      byPath: { 'card.number': 1, 'accounts[*].iban': 2, profile: 1 },
      lastSeenAt: 1_800_000_000_003,
    });
    expect(events).toEqual([
      { reader: 'legacy-aes-cbc', kind: 'field', path: 'card.number', outcome: 'read' },
      { reader: 'legacy-aes-cbc', kind: 'field', path: 'accounts[0].iban', outcome: 'read' },
      { reader: 'legacy-aes-cbc', kind: 'field', path: 'accounts[2].iban', outcome: 'read' },
      { reader: 'legacy-aes-cbc', kind: 'field', path: 'profile', outcome: 'read' },
    ]);
    expect(body.card.number).not.toBe('4111111111111111');
  });

  it('parse: json restores the original JSON value', () => {
    const reader = legacyCbcReader({ key: KEY, parse: 'json', name: 'orders-v1' });
    const profile = { name: 'Grüße 😀', tags: ['a', null], n: 1.5 };
    const r = decryptFields(keys, { profile: sealLegacyCbcInsecure(KEY, JSON.stringify(profile), INSECURE) }, policy, { mode: 'migrate', legacy: [reader] });
    expect(r.doc).toEqual({ profile });
    expect(r.legacy).toEqual([{ path: 'profile', reader: 'orders-v1' }]);
  });

  it('a legacy value at a path the reader does not cover passes through unread', () => {
    const reader = legacyCbcReader({ key: KEY, paths: ['card.number'] });
    const value = sealLegacyCbcInsecure(KEY, '737', INSECURE);
    const r = decryptFields(keys, { card: { cvv: value } }, policy, { mode: 'migrate', legacy: [reader] });
    expect(r.doc).toEqual({ card: { cvv: value } });
    expect(r.passedThrough).toEqual(['card.cvv']);
    expect(reader.stats().fields).toBe(0);
  });

  it('a tampered or wrong-key legacy value fails the document with ERR_DECRYPT, never passes through', () => {
    const reader = legacyCbcReader({ key: KEY, paths: ['card.number'] });
    const other = legacyCbcReader({ key: new Uint8Array(32).fill(1), paths: ['card.number'] });
    // Fixed IV: a garbled block has valid padding about 1 time in 256, so keep the inputs fixed.
    const value = sealLegacyCbcInsecure(KEY, '4111111111111111', { ...INSECURE, iv: new Uint8Array(16).fill(0x5a) });
    const raw = Buffer.from(value, 'base64');
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 0x80; // last ciphertext block: garbles the padding block
    const tampered = raw.toString('base64');
    expect(codeOf(() => decryptFields(keys, { card: { number: tampered } }, policy, { mode: 'migrate', legacy: [reader] }))).toBe('ERR_DECRYPT');
    expect(codeOf(() => decryptFields(keys, { card: { number: value } }, policy, { mode: 'migrate', legacy: [other] }))).toBe('ERR_DECRYPT');
    expect(reader.stats().rejected).toBe(1);
    expect(other.stats().rejected).toBe(1);
  });

  it('strict mode never consults legacy readers', () => {
    const reader = legacyCbcReader({ key: KEY });
    const value = sealLegacyCbcInsecure(KEY, '4111111111111111', INSECURE);
    expect(codeOf(() => decryptFields(keys, { card: { number: value } }, policy, { mode: 'strict', legacy: [reader] }))).toBe('ERR_PLAINTEXT_FIELD');
    expect(reader.stats()).toMatchObject({ fields: 0, rejected: 0, lastSeenAt: null });
  });

  it('a non-string or unshaped value is not legacy and passes through', () => {
    const reader = legacyCbcReader({ key: KEY });
    const doc = { card: { number: 4111111111111111, cvv: null }, profile: { nested: true }, accounts: [{ iban: 'DE89 3704 0044 0532 0130 00' }] };
    const r = decryptFields(keys, doc, policy, { mode: 'migrate', legacy: [reader] });
    expect(r.doc).toEqual(doc);
    expect(r.passedThrough).toEqual(['card.number', 'card.cvv', 'accounts[0].iban', 'profile']);
  });

  it('folds array indexes in byPath and caps the number of paths it tracks', () => {
    const reader = legacyCbcReader({ key: KEY });
    const many = Array.from({ length: 1005 }, (_, i) => `p${i}`);
    const v = sealLegacyCbcInsecure(KEY, 'x', INSECURE);
    for (const p of many) reader.read(v, p);
    reader.read(v, 'a[3].b[12].c');
    const stats = reader.stats();
    expect(Object.keys(stats.byPath).length).toBe(1001);
    expect(stats.byPath['(other)']).toBe(6);
    expect(stats.fields).toBe(1006);
  });
});

describe('whole payloads: openPayload', () => {
  it('opens a legacy body (string or bytes), ignores non-legacy bodies, rejects bad ones, and counts', () => {
    const events: LegacyEvent[] = [];
    const reader = legacyCbcReader({ key: KEY, onLegacy: (e) => events.push(e) });
    const body = JSON.stringify({ order: 'o-1', items: [1, 2] });
    const value = sealLegacyCbcInsecure(KEY, body, INSECURE);
    expect(td.decode(reader.openPayload(value)!)).toBe(body);
    expect(td.decode(reader.openPayload(te.encode(value))!)).toBe(body);
    expect(reader.openPayload('{"order":"o-1"}')).toBeUndefined();
    expect(reader.openPayload(te.encode('eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.AAAA.AAAA'))).toBeUndefined();
    const bad = Buffer.from(value, 'base64');
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    expect(codeOf(() => reader.openPayload(bad.toString('base64')))).toBe('ERR_DECRYPT');
    expect(reader.stats()).toMatchObject({ fields: 0, payloads: 2, rejected: 1, byPath: {} });
    expect(events.map((e) => `${e.kind}:${e.outcome}`)).toEqual(['payload:read', 'payload:read', 'payload:rejected']);
    expect(events[0]).not.toHaveProperty('path');
  });

  it('the reader object is frozen and exposes its name and paths', () => {
    const reader = legacyCbcReader({ key: KEY, paths: ['a'], name: 'n' });
    expect(Object.isFrozen(reader)).toBe(true);
    expect(reader.name).toBe('n');
    expect(reader.paths).toEqual(['a']);
    expect(legacyCbcReader({ key: KEY }).paths).toBeUndefined();
    expect(codeOf(() => legacyCbcReader({ key: KEY, engine: 'nope' as never }))).toBe('ERR_ARGUMENT_INVALID');
    expect(() => legacyCbcReader({ key: KEY, parse: 'xml' as never })).toThrow(TypeError);
  });

  it('reads values whose plaintext is any JSON the legacy sender wrote (property)', () => {
    const reader = legacyCbcReader({ key: KEY, parse: 'json' });
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const v = JSON.parse(JSON.stringify(value)) as JsonValue;
        expect(reader.read(sealLegacyCbcInsecure(KEY, JSON.stringify(v), INSECURE), 'x')).toEqual(v);
      }),
      { numRuns: 200 },
    );
  });
});
