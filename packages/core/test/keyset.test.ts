import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KeySet } from '@wireseal/core';
import { KeySetInvalidError } from '@wireseal/core/errors';
import { codeOf, FIXED_JWKS } from './helpers.ts';

const K32 = FIXED_JWKS.keys[0].k;
const K16 = 'AAECAwQFBgcICQoLDA0ODw';

function expectInvalid(input: unknown, mentions: string | RegExp): void {
  try {
    KeySet.fromJwks(input as never);
  } catch (err) {
    expect(err).toBeInstanceOf(KeySetInvalidError);
    expect((err as KeySetInvalidError).code).toBe('ERR_KEYSET_INVALID');
    expect((err as Error).message).toMatch(mentions);
    expect((err as Error).message).not.toContain(K32);
    expect((err as Error).message).not.toContain(K16);
    return;
  }
  throw new Error('expected ERR_KEYSET_INVALID');
}

describe('KeySet.fromJwks', () => {
  it('accepts the docs/design.md example shape and reports roles', () => {
    const ks = KeySet.fromJwks(JSON.stringify(FIXED_JWKS));
    expect(ks.primaryKid).toBe('k-new');
    expect(ks.list()).toEqual([
      { kid: 'k-new', role: 'primary' },
      { kid: 'k-old', role: 'decrypt-only' },
    ]);
    expect(ks.toJwks()).toEqual(FIXED_JWKS);
  });

  it('treats a key without key_ops as decrypt-only', () => {
    const ks = KeySet.fromJwks({ keys: [{ ...FIXED_JWKS.keys[0] }, { kty: 'oct', kid: 'plain', k: K32 }] });
    expect(ks.list()[1]).toEqual({ kid: 'plain', role: 'decrypt-only' });
  });

  it.each([
    ['not JSON', '{keys', /not valid JSON/],
    ['no keys array', { foo: 1 }, /"keys" array/],
    ['empty set', { keys: [] }, /no keys/],
    ['no primary', { keys: [{ kty: 'oct', kid: 'a', k: K32, key_ops: ['decrypt'] }] }, /no primary/],
    ['two primaries', { keys: [{ kty: 'oct', kid: 'a', k: K32, key_ops: ['encrypt', 'decrypt'] }, { kty: 'oct', kid: 'b', k: K32, key_ops: ['encrypt'] }] }, /"b".*more than one/],
    ['16-byte key', { keys: [{ kty: 'oct', kid: 'short', k: K16, key_ops: ['encrypt', 'decrypt'] }] }, /"short".*32 bytes.*got 16/],
    ['wrong kty', { keys: [{ kty: 'RSA', kid: 'r', k: K32, key_ops: ['encrypt'] }] }, /"r".*kty/],
    ['duplicate kid', { keys: [{ kty: 'oct', kid: 'a', k: K32, key_ops: ['encrypt', 'decrypt'] }, { kty: 'oct', kid: 'a', k: K32 }] }, /"a" \(index 1\).*not unique/],
    ['kid too long', { keys: [{ kty: 'oct', kid: 'x'.repeat(65), k: K32, key_ops: ['encrypt'] }] }, /index 0.*kid/],
    ['kid not printable', { keys: [{ kty: 'oct', kid: 'a\nb', k: K32, key_ops: ['encrypt'] }] }, /index 0.*kid/],
    ['padded base64', { keys: [{ kty: 'oct', kid: 'p', k: `${K32}=`, key_ops: ['encrypt'] }] }, /"p".*base64url/],
    ['unknown key_op', { keys: [{ kty: 'oct', kid: 'o', k: K32, key_ops: ['encrypt', 'sign'] }] }, /"o".*key_ops/],
    ['key not an object', { keys: [42] }, /index 0/],
    ['bad alg', { keys: [{ kty: 'oct', kid: 'g', k: K32, alg: 'HS256', key_ops: ['encrypt'] }] }, /"g".*alg/],
  ])('rejects %s with ERR_KEYSET_INVALID naming the key', (_name, input, mentions) => {
    expectInvalid(input, mentions);
  });

  it('never shows key bytes in JSON.stringify, String() or util.inspect', () => {
    const ks = KeySet.fromJwks(FIXED_JWKS);
    for (const text of [JSON.stringify(ks), String(ks), inspect(ks), JSON.stringify({ nested: ks })]) {
      expect(text).not.toContain(K32);
      expect(text).toContain('k-new');
    }
  });
});

describe('key bytes in memory', () => {
  // Node's small Buffers share one pool, readable through any pooled Buffer's .buffer:
  // a decoded key must not be left there.
  it('leaves no copy of a key in Node\'s shared Buffer pool', () => {
    const raw = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 255);
    const k = Buffer.from(raw.buffer).toString('base64url');
    const slabBefore = Buffer.allocUnsafe(1).buffer;
    const keys = KeySet.fromJwks({ keys: [{ kty: 'oct', kid: 'pool-1', k, key_ops: ['encrypt', 'decrypt'] }] });
    const slabAfter = Buffer.allocUnsafe(1).buffer;
    // Views only below: Buffer.from(bytes) would itself copy the key into the pool.
    expect([...keys.primaryEntry().bytes]).toEqual([...raw]);
    const needle = Buffer.from(raw.buffer);
    for (const slab of new Set([slabBefore, slabAfter])) expect(Buffer.from(slab).indexOf(needle)).toBe(-1);
  });
});

describe('generation and rotation', () => {
  it('generates a 32-byte primary key that validates', () => {
    const ks = KeySet.generate({ kid: '2026-11' });
    const jwk = ks.toJwks().keys[0]!;
    expect(Buffer.from(jwk.k, 'base64url')).toHaveLength(32);
    expect(jwk.key_ops).toEqual(['encrypt', 'decrypt']);
    expect(KeySet.fromJwks(ks.toJwks()).primaryKid).toBe('2026-11');
    expect(KeySet.generate().toJwks().keys[0]!.k).not.toBe(jwk.k);
  });

  it('follows the four rotation steps without losing a key', () => {
    const v1 = KeySet.generate({ kid: 'old' });
    const v2 = v1.addKey({ kid: 'new' });
    expect(v2.list()).toEqual([{ kid: 'old', role: 'primary' }, { kid: 'new', role: 'decrypt-only' }]);
    const v3 = v2.promote('new');
    expect(v3.list()).toEqual([{ kid: 'old', role: 'decrypt-only' }, { kid: 'new', role: 'primary' }]);
    expect(codeOf(() => v3.remove('new'))).toBe('ERR_KEYSET_INVALID');
    const v4 = v3.remove('old');
    expect(v4.list()).toEqual([{ kid: 'new', role: 'primary' }]);
    expect(codeOf(() => v4.promote('nope'))).toBe('ERR_KEYSET_INVALID');
    expect(codeOf(() => v4.addKey({ kid: 'new' }))).toBe('ERR_KEYSET_INVALID');
  });

  it('withDecryptOnly adds previous keys as decrypt-only and keeps the current primary', () => {
    const current = KeySet.generate({ kid: 'b' });
    const previous = KeySet.generate({ kid: 'a' });
    const merged = current.withDecryptOnly(previous);
    expect(merged.list()).toEqual([{ kid: 'b', role: 'primary' }, { kid: 'a', role: 'decrypt-only' }]);
  });
});
