import { describe, expect, it } from 'vitest';
import { KeySet, open, seal } from '@wireseal/core';
import * as jose from 'jose';

describe('smoke', () => {
  it('seals and opens', async () => {
    const keys = KeySet.generate({ kid: 'k1' });
    const t = seal(keys, 'hello', { field: 'a.b', context: { topic: 't' } });
    expect(new TextDecoder().decode(open(keys, t, { field: 'a.b', context: { topic: 't' } }))).toBe('hello');
    const k = keys.toJwks().keys[0]!;
    const { plaintext } = await jose.compactDecrypt(t, await jose.importJWK({ kty: 'oct', k: k.k }, 'A256KW'));
    expect(new TextDecoder().decode(plaintext)).toBe('hello');
  });
});
