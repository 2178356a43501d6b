// Opening rejects every altered or malformed token with a typed error and never returns plaintext.
import { describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, encryptFields, getEngine, open, seal } from '@wireseal/core';
import { codeOf, FIXED_JWKS, te } from './helpers.ts';

const keys = KeySet.fromJwks(FIXED_JWKS);
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('every single-character change at every position', () => {
  const cases = [
    { name: 'A256KW', opts: {} },
    { name: 'dir', opts: { alg: 'dir' as const } },
    { name: 'A256KW with wsf and wsc', opts: { field: 'card.number', context: { topic: 't' } } },
  ];
  it.each(cases)('$name: each mutation yields a typed error, never plaintext', ({ opts }) => {
    const token = seal(keys, '{"pan":"4111111111111111"}', opts);
    const openOpts = { ...('field' in opts ? { field: opts.field } : {}), ...('context' in opts ? { context: opts.context } : {}) };
    const seen = new Map<string, number>();
    const headerEnd = token.indexOf('.');
    let mutations = 0;
    for (let i = 0; i < token.length; i++) {
      const original = token[i]!;
      // Three replacements per position: a neighbour in the alphabet, a far one, and a dot/non-alphabet character.
      const idx = ALPHABET.indexOf(original);
      const replacements = [ALPHABET[(idx + 1) % 64]!, ALPHABET[(idx + 32) % 64]!, original === '.' ? 'A' : i % 2 ? '.' : '='];
      for (const r of replacements) {
        if (r === original) continue;
        const mutated = token.slice(0, i) + r + token.slice(i + 1);
        mutations++;
        const code = codeOf(() => open(keys, mutated, openOpts));
        const allowed = i < headerEnd
          ? ['ERR_DECRYPT', 'ERR_TOKEN_MALFORMED', 'ERR_ALG_UNSUPPORTED', 'ERR_KEY_UNKNOWN']
          : ['ERR_DECRYPT', 'ERR_TOKEN_MALFORMED'];
        expect(allowed, `position ${i} ${original}->${r}`).toContain(code);
        seen.set(code, (seen.get(code) ?? 0) + 1);
      }
    }
    expect(mutations).toBeGreaterThan(token.length * 2);
    expect(seen.get('ERR_DECRYPT')).toBeGreaterThan(0);
    expect(seen.get('ERR_TOKEN_MALFORMED')).toBeGreaterThan(0);
  });

  it('flipping any single bit of any decoded segment fails authentication', () => {
    const token = seal(keys, 'sixteen byte val');
    const parts = token.split('.');
    for (const seg of [1, 2, 3, 4]) {
      const bytes = Buffer.from(parts[seg]!, 'base64url');
      for (let i = 0; i < bytes.length * 8; i++) {
        const copy = Buffer.from(bytes);
        copy[i >> 3]! ^= 1 << (i & 7);
        const p = [...parts];
        p[seg] = copy.toString('base64url');
        expect(codeOf(() => open(keys, p.join('.')))).toBe('ERR_DECRYPT');
      }
    }
  });
});

describe('malformed corpus: each case gets its specific code', () => {
  const good = seal(keys, 'payload');
  const [h, ek, iv, ct, tag] = good.split('.') as [string, string, string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const withHeader = (obj: unknown, raw = false) => [raw ? b64(obj as string) : b64(JSON.stringify(obj)), ek, iv, ct, tag].join('.');

  it.each([
    ['four segments', [h, ek, iv, ct].join('.'), 'ERR_TOKEN_MALFORMED'],
    ['six segments', `${good}.AAAA`, 'ERR_TOKEN_MALFORMED'],
    ['empty string', '', 'ERR_TOKEN_MALFORMED'],
    ['JWS-like three segments', 'eyJhbGciOiJIUzI1NiJ9.e30.sig', 'ERR_TOKEN_MALFORMED'],
    ['padding in a segment', [h, ek, `${iv}=`, ct, tag].join('.'), 'ERR_TOKEN_MALFORMED'],
    ['standard base64 characters', [h, ek, iv, ct.replace(/.$/, '+'), tag].join('.'), 'ERR_TOKEN_MALFORMED'],
    ['header not JSON', withHeader('{alg:A256KW', true), 'ERR_TOKEN_MALFORMED'],
    ['header is an array', withHeader(['A256KW']), 'ERR_TOKEN_MALFORMED'],
    ['header is a string', withHeader('"A256KW"', true), 'ERR_TOKEN_MALFORMED'],
    ['header is null', withHeader('null', true), 'ERR_TOKEN_MALFORMED'],
    ['header not UTF-8', [b64(Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])), ek, iv, ct, tag].join('.'), 'ERR_TOKEN_MALFORMED'],
    ['huge header', withHeader({ ...header, pad: 'x'.repeat(10_000) }), 'ERR_TOKEN_MALFORMED'],
    ['huge token', `${good}${'A'.repeat(17 * 1024 * 1024)}`, 'ERR_TOKEN_MALFORMED'],
    ['kid not a string', withHeader({ ...header, kid: 7 }), 'ERR_TOKEN_MALFORMED'],
    ['iat not an integer', withHeader({ ...header, iat: 1.5 }), 'ERR_TOKEN_MALFORMED'],
    ['alg none', withHeader({ ...header, alg: 'none' }), 'ERR_ALG_UNSUPPORTED'],
    ['alg RSA1_5', withHeader({ ...header, alg: 'RSA1_5' }), 'ERR_ALG_UNSUPPORTED'],
    ['alg missing', withHeader({ enc: 'A256GCM', kid: 'k-new' }), 'ERR_ALG_UNSUPPORTED'],
    ['enc A128CBC-HS256', withHeader({ ...header, enc: 'A128CBC-HS256' }), 'ERR_ALG_UNSUPPORTED'],
    ['zip', withHeader({ ...header, zip: 'DEF' }), 'ERR_ALG_UNSUPPORTED'],
    ['crit', withHeader({ ...header, crit: ['exp'], exp: 1 }), 'ERR_ALG_UNSUPPORTED'],
    ['unknown kid', withHeader({ ...header, kid: 'nope' }), 'ERR_KEY_UNKNOWN'],
    ['no kid', withHeader({ alg: 'A256KW', enc: 'A256GCM' }), 'ERR_KEY_UNKNOWN'],
    ['11-byte IV', [h, ek, b64(new Uint8Array(11)), ct, tag].join('.'), 'ERR_TOKEN_MALFORMED'],
    ['16-byte IV', [h, ek, b64(new Uint8Array(16)), ct, tag].join('.'), 'ERR_TOKEN_MALFORMED'],
    ['12-byte tag', [h, ek, iv, ct, b64(new Uint8Array(12))].join('.'), 'ERR_TOKEN_MALFORMED'],
    ['A256KW with an empty encrypted key', [h, '', iv, ct, tag].join('.'), 'ERR_TOKEN_MALFORMED'],
    ['dir with an encrypted key', withHeader({ ...header, alg: 'dir' }), 'ERR_TOKEN_MALFORMED'],
    ['tampered tag', [h, ek, iv, ct, b64(new Uint8Array(16))].join('.'), 'ERR_DECRYPT'],
    ['wrong key', seal(KeySet.generate({ kid: 'k-new' }), 'x'), 'ERR_DECRYPT'],
  ])('%s -> %s', (_name, token, code) => {
    expect(codeOf(() => open(keys, token as string))).toBe(code);
  });

  it('a token that is not a string is ERR_TOKEN_MALFORMED', () => {
    expect(codeOf(() => open(keys, 42 as unknown as string))).toBe('ERR_TOKEN_MALFORMED');
  });

  it('size limits are configurable', () => {
    expect(codeOf(() => open(keys, good, { maxTokenLength: 50 }))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => open(keys, good, { maxHeaderLength: 10 }))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => open(keys, good, { algorithms: ['dir'] }))).toBe('ERR_ALG_UNSUPPORTED');
  });

  it('a decrypt-only key opens but a key without decrypt does not', () => {
    const oldOnly = KeySet.fromJwks({ keys: [{ ...FIXED_JWKS.keys[1], key_ops: ['encrypt', 'decrypt'] }] });
    const t = seal(oldOnly, te.encode('old'));
    expect(Buffer.from(open(keys, t)).toString()).toBe('old');
    const encOnly = KeySet.fromJwks({ keys: [{ ...FIXED_JWKS.keys[0], key_ops: ['encrypt'] }] });
    expect(codeOf(() => open(encOnly, seal(encOnly, 'x')))).toBe('ERR_KEY_UNKNOWN');
  });
});

describe('claims: field, context and freshness', () => {
  it('wrong field path or context gets its specific code', () => {
    const t = seal(keys, 'x', { field: 'card.number', context: { topic: 'a' } });
    expect(codeOf(() => open(keys, t, { field: 'customer.ssn', context: { topic: 'a' } }))).toBe('ERR_FIELD_MISMATCH');
    expect(codeOf(() => open(keys, t, { context: { topic: 'a' } }))).toBe('ERR_FIELD_MISMATCH');
    expect(codeOf(() => open(keys, t, { field: 'card.number', context: { topic: 'b' } }))).toBe('ERR_CONTEXT_MISMATCH');
    expect(codeOf(() => open(keys, t, { field: 'card.number' }))).toBe('ERR_CONTEXT_MISMATCH');
    expect(codeOf(() => open(keys, t, { field: 'card.number', context: { topic: 'a', tenant: 'x' } }))).toBe('ERR_CONTEXT_MISMATCH');
    const plain = seal(keys, 'x');
    expect(codeOf(() => open(keys, plain, { field: 'card.number' }))).toBe('ERR_FIELD_MISMATCH');
    expect(codeOf(() => open(keys, plain, { context: { topic: 'a' } }))).toBe('ERR_CONTEXT_MISMATCH');
    expect(Buffer.from(open(keys, t, { field: 'card.number', context: { topic: 'a' } })).toString()).toBe('x');
  });

  it('a context that is not an object of strings is ERR_ARGUMENT_INVALID, not a crash', () => {
    const t = seal(keys, 'x', { context: { topic: 'a' } });
    for (const bad of [null, 'topic', true, ['a'], { topic: 1 }]) {
      expect(codeOf(() => open(keys, t, { context: bad as never }))).toBe('ERR_ARGUMENT_INVALID');
      expect(codeOf(() => seal(keys, 'x', { context: bad as never }))).toBe('ERR_ARGUMENT_INVALID');
    }
  });

  it('context digest is independent of key order', () => {
    const t = seal(keys, 'x', { context: { topic: 'a', tenant: 'b' } });
    expect(Buffer.from(open(keys, t, { context: { tenant: 'b', topic: 'a' } })).toString()).toBe('x');
  });

  it('iat freshness: too old, too far in the future, missing', () => {
    const now = 1_800_000_000_000;
    const clock = () => now;
    const at = (s: number) => seal(keys, 'x', { iat: s });
    expect(Buffer.from(open(keys, at(now / 1000 - 100), { maxAgeSeconds: 120, now: clock })).toString()).toBe('x');
    expect(codeOf(() => open(keys, at(now / 1000 - 121), { maxAgeSeconds: 120, now: clock }))).toBe('ERR_STALE');
    expect(codeOf(() => open(keys, at(now / 1000 + 31), { maxAgeSeconds: 120, now: clock }))).toBe('ERR_STALE');
    expect(Buffer.from(open(keys, at(now / 1000 + 60), { maxAgeSeconds: 120, clockSkewSeconds: 90, now: clock })).toString()).toBe('x');
    expect(codeOf(() => open(keys, seal(keys, 'x'), { maxAgeSeconds: 120, now: clock }))).toBe('ERR_STALE');
  });
});

describe('misuse is refused, not silently accepted (review findings)', () => {
  it('a NaN or negative freshness window is refused instead of accepting any iat', () => {
    const t = seal(keys, 'x', { iat: 1000 });
    expect(codeOf(() => open(keys, t, { maxAgeSeconds: Number.NaN }))).toBe('ERR_STALE');
    expect(codeOf(() => open(keys, t, { maxAgeSeconds: 120, clockSkewSeconds: -1 }))).toBe('ERR_STALE');
    expect(codeOf(() => open(keys, t, { maxAgeSeconds: 120, now: () => Number.NaN }))).toBe('ERR_STALE');
    expect(codeOf(() => seal(keys, 'x', { iat: 1.5 }))).toBe('ERR_ARGUMENT_INVALID');
  });

  it('encryptFields refuses an alg it cannot honour', () => {
    expect(codeOf(() => encryptFields(keys, { a: 1 }, FieldPolicy.parse({ fields: ['a'] }), { alg: 'A128KW' as never }))).toBe('ERR_ALG_UNSUPPORTED');
  });

  it('header cache keys cannot collide across members', () => {
    const a = seal(keys, 'x', { cty: 'a\u0000b', field: 'c' });
    const b = seal(keys, 'x', { cty: 'a', field: 'b\u0000c' });
    const h = (t: string) => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString());
    expect(h(a)).toMatchObject({ cty: 'a\u0000b', wsf: 'c' });
    expect(h(b)).toMatchObject({ cty: 'a', wsf: 'b\u0000c' });
    seal(keys, 'x', { cty: '' });
    expect(h(seal(keys, 'x'))).not.toHaveProperty('cty');
  });

  it('randomBytes returns fresh, independent buffers and refuses bad lengths', () => {
    for (const engine of [getEngine('node'), getEngine('noble')]) {
      const a = engine.randomBytes(12);
      expect(a.buffer.byteLength).toBe(12);
      expect(() => engine.randomBytes(-12)).toThrow(RangeError);
      expect(() => engine.randomBytes(Number.NaN)).toThrow(RangeError);
      const ivs = new Set(Array.from({ length: 2000 }, () => Buffer.from(engine.randomBytes(12)).toString('hex')));
      expect(ivs.size).toBe(2000);
    }
  });

  it('node and noble agree on sealed tokens around the chunk boundary of large payloads', () => {
    const k = KeySet.fromJwks(FIXED_JWKS);
    for (const size of [3 * 16384 * 2 + 1, 131072 - 1, 131072, 131072 + 1, 3 * 16384 * 3]) {
      const data = getEngine('node').randomBytes(size);
      const t = seal(k, data, { engine: 'node' });
      expect(Buffer.from(open(k, t, { engine: 'noble' })).equals(Buffer.from(data))).toBe(true);
    }
  });
});
