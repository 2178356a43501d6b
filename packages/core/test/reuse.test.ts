/**
 * Bounded data-key reuse (writer) and the reader's cache of unwrapped
 * content keys: bounds by tokens, bytes and age; rotation at once; a retired
 * key's entries gone with the refresh; the cache's bound; every token still
 * a standalone JWE that jose opens.
 */
import * as jose from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Engine } from '@wireseal/core';
import { decryptFields, encryptFields, FieldPolicy, getEngine, KeySet, open, openParts, PrivateKeySet, PublicKeySet, seal, sealParts } from '@wireseal/core';
import { DEFAULT_CONTENT_KEY_REUSE, READER_CACHE_PER_KEY, readerCacheSize, reuseBounds } from '../src/token/reuse.ts';
import { codeOf } from './helpers.ts';

const policy = FieldPolicy.parse({ fields: ['card.number', 'card.cvv', 'accounts[*].iban'] });
const doc = { card: { number: '4111111111111111', cvv: '737' }, accounts: [{ iban: 'DE89370400440532013000' }, { iban: 'GB82WEST12345698765432' }] };
type Doc = typeof doc;
const ekOf = (token: unknown): string => (token as string).split('.')[1]!;
const ivOf = (token: unknown): string => (token as string).split('.')[2]!;
const tokensOf = (d: Doc): string[] => [d.card.number, d.card.cvv, ...d.accounts.map((a) => a.iban)];
const raw = (keys: KeySet, kid: string): Uint8Array => Buffer.from(keys.toJwks().keys.find((k) => k.kid === kid)!.k, 'base64url');

/** The node engine with its key unwraps counted (a plain Engine object: the generic paths). */
function countingEngine(): Engine & { unwraps: number } {
  const node = getEngine('node');
  const e = {
    name: 'node' as const,
    unwraps: 0,
    gcmEncrypt: node.gcmEncrypt.bind(node),
    gcmDecrypt: node.gcmDecrypt.bind(node),
    keyWrap: node.keyWrap.bind(node),
    keyUnwrap(kek: Uint8Array, wrapped: Uint8Array) {
      e.unwraps++;
      return node.keyUnwrap(kek, wrapped);
    },
    sha256: node.sha256.bind(node),
    randomBytes: node.randomBytes.bind(node),
  };
  return e;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('writer: reuseContentKey', () => {
  it('is off by default: a fresh content key per document', () => {
    const keys = KeySet.generate({ kid: 'w0' });
    const a = encryptFields(keys, doc, policy) as Doc;
    const b = encryptFields(keys, doc, policy) as Doc;
    expect(new Set(tokensOf(a).map(ekOf)).size).toBe(1);
    expect(ekOf(a.card.number)).not.toBe(ekOf(b.card.number));
    expect(ekOf(seal(keys, 'x'))).not.toBe(ekOf(seal(keys, 'x')));
  });

  it('shares one wrapped key across documents, with a fresh IV per token, and jose opens every token on its own', async () => {
    const keys = KeySet.generate({ kid: 'w1' });
    const docs = Array.from({ length: 5 }, () => encryptFields(keys, doc, policy, { reuseContentKey: true }) as Doc);
    const tokens = docs.flatMap(tokensOf);
    expect(tokens).toHaveLength(20);
    expect(new Set(tokens.map(ekOf)).size).toBe(1);
    expect(new Set(tokens.map(ivOf)).size).toBe(20);
    const kek = raw(keys, 'w1');
    const values = tokensOf(doc);
    for (let i = 0; i < tokens.length; i++) {
      const { plaintext } = await jose.compactDecrypt(tokens[i]!, kek);
      expect(JSON.parse(new TextDecoder().decode(plaintext))).toBe(values[i % 4]);
    }
    for (const d of docs) expect(decryptFields(keys, d, policy).doc).toEqual(doc);
  });

  it('whole values: seal and sealParts reuse it too (A256KW), dir is untouched', async () => {
    const keys = KeySet.generate({ kid: 'w2' });
    const a = seal(keys, 'one', { reuseContentKey: true });
    const b = seal(keys, 'two', { reuseContentKey: true, context: { topic: 't' } });
    const p = sealParts(keys, 'three', { reuseContentKey: true });
    expect(ekOf(a)).toBe(ekOf(b));
    expect(Buffer.from(p.encryptedKey).toString('base64url')).toBe(ekOf(a));
    expect(new TextDecoder().decode((await jose.compactDecrypt(b, raw(keys, 'w2'))).plaintext)).toBe('two');
    expect(new TextDecoder().decode(openParts(keys, p).plaintext)).toBe('three');
    expect(ekOf(seal(keys, 'd', { alg: 'dir', reuseContentKey: true }))).toBe('');
  });

  it('maxTokens: a key serves exactly that many tokens, checked before each token (a document may move on mid-way)', () => {
    const keys = KeySet.generate({ kid: 'w3' });
    const reuse = { maxTokens: 6 };
    const docs = Array.from({ length: 3 }, () => encryptFields(keys, doc, policy, { reuseContentKey: reuse }) as Doc);
    const eks = docs.flatMap(tokensOf).map(ekOf); // 12 tokens, in sealing order
    expect(new Set(eks.slice(0, 6)).size).toBe(1);
    expect(new Set(eks.slice(6, 12)).size).toBe(1);
    expect(eks[6]).not.toBe(eks[0]);
    for (const d of docs) expect(decryptFields(keys, d, policy).doc).toEqual(doc);
  });

  it('sealParts hands out a copy of the encrypted key: zeroing it breaks nothing sealed later', () => {
    const keys = KeySet.generate({ kid: 'w3b' });
    const a = sealParts(keys, 'one', { reuseContentKey: true });
    const b = sealParts(keys, 'two', { reuseContentKey: true });
    expect(a.encryptedKey).not.toBe(b.encryptedKey);
    expect(Buffer.from(a.encryptedKey).equals(Buffer.from(b.encryptedKey))).toBe(true);
    a.encryptedKey.fill(0);
    const c = sealParts(keys, 'three', { reuseContentKey: true });
    expect(new TextDecoder().decode(openParts(keys, b).plaintext)).toBe('two');
    expect(new TextDecoder().decode(openParts(keys, c).plaintext)).toBe('three');
  });

  it("leaves no copy of a sealed value in Node's shared Buffer pool (batched path and whole values)", () => {
    const keys = KeySet.generate({ kid: 'w3c' });
    const marker = 'ZZ-pool-marker-4711';
    const inPool = (): boolean => Buffer.from(Buffer.from('y').buffer).includes(marker);
    encryptFields(keys, doc, policy, { reuseContentKey: true }); // hold the key, so the next document takes the batched path
    encryptFields(keys, { ...doc, card: { ...doc.card, number: marker } }, policy, { reuseContentKey: true });
    expect(inPool()).toBe(false);
    seal(keys, marker, { reuseContentKey: true });
    expect(inPool()).toBe(false);
    sealParts(keys, marker);
    expect(inPool()).toBe(false);
    // The check can fail: a value copied the same way and not zeroed is found.
    const left = Buffer.from(marker);
    expect(inPool()).toBe(true);
    left.fill(0);
  });

  it('maxBytes and maxAgeMs bound it too', () => {
    const keys = KeySet.generate({ kid: 'w4' });
    const byBytes = { maxBytes: 10 };
    const x = ekOf(seal(keys, '12345678', { reuseContentKey: byBytes }));
    expect(ekOf(seal(keys, '12', { reuseContentKey: byBytes }))).toBe(x);
    expect(ekOf(seal(keys, '1', { reuseContentKey: byBytes }))).not.toBe(x);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_800_000_000_000);
    const keys2 = KeySet.generate({ kid: 'w5' });
    const byAge = { maxAgeMs: 1000 };
    const first = ekOf(seal(keys2, 'a', { reuseContentKey: byAge }));
    vi.setSystemTime(1_800_000_000_999);
    expect(ekOf(seal(keys2, 'b', { reuseContentKey: byAge }))).toBe(first);
    vi.setSystemTime(1_800_000_001_000);
    const second = ekOf(seal(keys2, 'c', { reuseContentKey: byAge }));
    expect(second).not.toBe(first);
    // A clock that goes backwards ends the key too.
    vi.setSystemTime(1_799_999_999_000);
    expect(ekOf(seal(keys2, 'd', { reuseContentKey: byAge }))).not.toBe(second);
  });

  it('rotation takes effect at once: the next document after a promote uses the new key', () => {
    let keys = KeySet.generate({ kid: 'r-old' });
    const before = encryptFields(keys, doc, policy, { reuseContentKey: true }) as Doc;
    keys = keys.addKey({ kid: 'r-new' });
    // Added (decrypt-only): still the old primary's held key.
    expect(ekOf((encryptFields(keys, doc, policy, { reuseContentKey: true }) as Doc).card.number)).toBe(ekOf(before.card.number));
    keys = keys.promote('r-new');
    const after = encryptFields(keys, doc, policy, { reuseContentKey: true }) as Doc;
    const header = JSON.parse(Buffer.from(after.card.number.split('.')[0]!, 'base64url').toString()) as { kid: string };
    expect(header.kid).toBe('r-new');
    expect(ekOf(after.card.number)).not.toBe(ekOf(before.card.number));
    expect(decryptFields(keys, before, policy).doc).toEqual(doc);
  });

  it('public-key audiences reuse the key agreement (ek and epk) across documents; the reader agrees once', () => {
    const reader = PrivateKeySet.generate({ kid: 'x1', type: 'X25519' });
    const writer = PublicKeySet.of(reader);
    const a = encryptFields(writer, doc, policy, { reuseContentKey: true }) as Doc;
    const b = encryptFields(writer, doc, policy, { reuseContentKey: true }) as Doc;
    expect(ekOf(a.card.number)).toBe(ekOf(b.accounts[1]!.iban));
    expect(a.card.number.split('.')[0]).toBe(b.card.number.split('.')[0]); // same header, same epk
    const fresh = encryptFields(writer, doc, policy) as Doc;
    expect(ekOf(fresh.card.number)).not.toBe(ekOf(a.card.number));
    expect(decryptFields(reader, a, policy).doc).toEqual(doc);
    expect(decryptFields(reader, b, policy).doc).toEqual(doc);
    expect(readerCacheSize(reader.entry('x1')!)).toBe(1);
  });

  it('refuses bounds that are not positive integers, or over 2^28 tokens (ERR_ARGUMENT_INVALID)', () => {
    const keys = KeySet.generate({ kid: 'w6' });
    expect(codeOf(() => seal(keys, 'x', { reuseContentKey: { maxTokens: 2 ** 29 } }))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => seal(keys, 'x', { reuseContentKey: { maxAgeMs: 0 } }))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => encryptFields(keys, doc, policy, { reuseContentKey: { maxBytes: 1.5 } }))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => seal(keys, 'x', { reuseContentKey: 'yes' as unknown as boolean }))).toBe('ERR_ARGUMENT_INVALID');
    expect(reuseBounds(true)).toEqual(DEFAULT_CONTENT_KEY_REUSE);
    expect(reuseBounds(false)).toBeUndefined();
    // The documented arithmetic: q(q-1)/2^97 under 2^-40 at the default bound.
    const q = DEFAULT_CONTENT_KEY_REUSE.maxTokens;
    expect(Math.log2((q * (q - 1)) / 2 ** 97)).toBeLessThan(-40);
  });
});

describe('reader: the cache of unwrapped content keys', () => {
  it('unwraps a shared encrypted key once across documents', () => {
    const keys = KeySet.generate({ kid: 'c1' });
    const engine = countingEngine();
    const docs = Array.from({ length: 10 }, () => encryptFields(keys, doc, policy, { reuseContentKey: true }));
    for (const d of docs) expect(decryptFields(keys, d, policy, { engine }).doc).toEqual(doc);
    expect(engine.unwraps).toBe(1);
    const whole = [seal(keys, 'a', { reuseContentKey: true }), seal(keys, 'b', { reuseContentKey: true })];
    // Whole values under the same primary key share the held content key with the documents: still one unwrap.
    expect(ekOf(whole[0])).toBe(ekOf((docs[0] as Doc).card.number));
    expect(whole.map((t) => new TextDecoder().decode(open(keys, t, { engine })))).toEqual(['a', 'b']);
    expect(engine.unwraps).toBe(1);
    // A tampered encrypted key is never served from the cache, and failures are not cached.
    const t = whole[0]!.split('.');
    const bad = [t[0], Buffer.from(Buffer.from(t[1]!, 'base64url').map((b, i) => (i === 3 ? b ^ 1 : b))).toString('base64url'), t[2], t[3], t[4]].join('.');
    expect(codeOf(() => open(keys, bad, { engine }))).toBe('ERR_DECRYPT');
    expect(codeOf(() => open(keys, bad, { engine }))).toBe('ERR_DECRYPT');
    expect(engine.unwraps).toBe(3);
  });

  it('a refreshed key set starts empty, and a retired key no longer opens, cached or not', () => {
    const jwks = KeySet.generate({ kid: 'c-old' }).toJwks();
    const v1 = KeySet.fromJwks(jwks);
    const sealed = encryptFields(v1, doc, policy, { reuseContentKey: true });
    const engine = countingEngine();
    decryptFields(v1, sealed, policy, { engine });
    // Seen once: on probation, not yet cached; seen again (another document): cached.
    expect(readerCacheSize(v1.entry('c-old')!)).toBe(0);
    decryptFields(v1, sealed, policy, { engine });
    expect(readerCacheSize(v1.entry('c-old')!)).toBe(1);
    expect(engine.unwraps).toBe(1);
    // The same JWKS loaded again (a refresh): new entries, nothing carried over.
    const v2 = KeySet.fromJwks(jwks);
    expect(readerCacheSize(v2.entry('c-old')!)).toBe(0);
    decryptFields(v2, sealed, policy, { engine });
    expect(engine.unwraps).toBe(2);
    // Retired: promote a new key and remove the old one.
    const v3 = v2.addKey({ kid: 'c-new' }).promote('c-new').remove('c-old');
    expect(codeOf(() => decryptFields(v3, sealed, policy, { engine }))).toBe('ERR_KEY_UNKNOWN');
  });

  it(`holds at most ${READER_CACHE_PER_KEY} content keys per key, and only keys seen again (a fresh key per document costs nothing)`, () => {
    const keys = KeySet.generate({ kid: 'c2' });
    const tokens = Array.from({ length: READER_CACHE_PER_KEY + 50 }, (_, i) => seal(keys, String(i)));
    // Each token opened twice (a key enters the cache when seen again), in two passes.
    for (let pass = 0; pass < 2; pass++) tokens.forEach((t, i) => expect(new TextDecoder().decode(open(keys, t))).toBe(String(i)));
    expect(readerCacheSize(keys.entry('c2')!)).toBe(0); // the second sighting came after 8 others: probation had moved on
    tokens.forEach((t, i) => {
      expect(new TextDecoder().decode(open(keys, t))).toBe(String(i));
      expect(new TextDecoder().decode(open(keys, t))).toBe(String(i));
    });
    expect(readerCacheSize(keys.entry('c2')!)).toBe(READER_CACHE_PER_KEY);
  });
});

describe('the batched GCM path (reused keys, node engine)', () => {
  const keys = KeySet.generate({ kid: 'f1' });
  const seal2 = (): Doc[] => [1, 2].map(() => encryptFields(keys, doc, policy, { reuseContentKey: true }) as Doc);
  const flip = (token: string, seg: number): string => {
    const t = token.split('.');
    const b = Buffer.from(t[seg]!, 'base64url');
    b[0]! ^= 1;
    t[seg] = b.toString('base64url');
    return t.join('.');
  };

  it('a tampered ciphertext, tag or IV in a batch fails with ERR_DECRYPT naming its field', () => {
    for (const seg of [2, 3, 4]) {
      const [, d] = seal2();
      decryptFields(keys, seal2()[0]!, policy); // the reader has seen the key twice: batched from now on
      const bad = { ...d!, accounts: [d!.accounts[0]!, { iban: flip(d!.accounts[1]!.iban, seg) }] };
      const err = (() => { try { decryptFields(keys, bad, policy); } catch (e) { return e as Error & { code: string }; } })();
      expect(err?.code).toBe('ERR_DECRYPT');
      expect(err?.message).toContain('accounts[1].iban');
    }
  });

  it('the first defect in document order wins, as when tokens were opened one by one', () => {
    const [, d] = seal2();
    decryptFields(keys, d!, policy);
    // card.number tampered (batched, opened after the walk), accounts[0].iban plaintext (found during the walk).
    const bad = { ...d!, card: { ...d!.card, number: flip(d!.card.number, 3) }, accounts: [{ iban: 'DE89 plaintext' }, d!.accounts[1]!] };
    expect(codeOf(() => decryptFields(keys, bad, policy))).toBe('ERR_DECRYPT');
    const onlyPlain = { ...d!, accounts: [{ iban: 'DE89 plaintext' }, d!.accounts[1]!] };
    expect(codeOf(() => decryptFields(keys, onlyPlain, policy))).toBe('ERR_PLAINTEXT_FIELD');
  });

  it('invalid UTF-8 under a reused key is ERR_TOKEN_MALFORMED; valid U+FFFD text opens', () => {
    const [, d] = seal2();
    decryptFields(keys, d!, policy);
    const invalid = seal(keys, new Uint8Array([0x22, 0xff, 0x22]), { field: 'card.cvv', reuseContentKey: true });
    expect(ekOf(invalid)).toBe(ekOf(d!.card.number));
    expect(codeOf(() => decryptFields(keys, { ...d!, card: { ...d!.card, cvv: invalid } }, policy))).toBe('ERR_TOKEN_MALFORMED');
    const replacement = seal(keys, JSON.stringify('a\uFFFDb'), { field: 'card.cvv', reuseContentKey: true });
    expect(decryptFields<Doc>(keys, { ...d!, card: { ...d!.card, cvv: replacement } }, policy).doc.card.cvv).toBe('a\uFFFDb');
  });

  it('long values (past the fast path\'s size) and the noble engine give the same documents', () => {
    const long = { ...doc, card: { ...doc.card, number: 'x'.repeat(500) } };
    const a = encryptFields(keys, long, policy, { reuseContentKey: true });
    const b = encryptFields(keys, long, policy, { reuseContentKey: true });
    expect(decryptFields(keys, a, policy).doc).toEqual(long);
    expect(decryptFields(keys, b, policy).doc).toEqual(long);
    expect(decryptFields(keys, b, policy, { engine: 'noble' }).doc).toEqual(long);
    const c = encryptFields(keys, doc, policy, { reuseContentKey: true, engine: 'noble' });
    expect(decryptFields(keys, c, policy).doc).toEqual(doc);
  });
});
