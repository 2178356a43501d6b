// Whole-value framing from core's parts form: the same bytes on the wire as the compact split, no base64 over the value.
import { describe, expect, it } from 'vitest';
import { KeySet, open, openParts, partsToCompact, seal, sealParts } from '@wireseal/core';
import { frameParts, joinToken, splitToken, unframeParts } from '@wireseal/kafka';

const keys = KeySet.generate({ kid: 'frame-1' });

describe('frameParts / unframeParts', () => {
  it('frames exactly as splitToken does the compact form of the same parts, and the frame rebuilds the compact token', () => {
    const parts = sealParts(keys, '{"pan":"4111"}', { cty: 'application/json', context: { topic: 't' } });
    const framed = frameParts(parts);
    const split = splitToken(partsToCompact(parts));
    expect(framed.frame).toBe(split.frame);
    expect(Buffer.compare(framed.value, split.value)).toBe(0);
    expect(framed.value.buffer).toBe(parts.ciphertext.buffer); // the value is the ciphertext itself, not a copy
    const token = joinToken(framed.frame, framed.value);
    expect(token).toBe(partsToCompact(parts));
    expect(Buffer.from(open(keys, token, { context: { topic: 't' } })).toString()).toBe('{"pan":"4111"}');
    const back = unframeParts(framed.frame, framed.value);
    expect(Buffer.from(openParts(keys, back, { context: { topic: 't' } }).plaintext).toString()).toBe('{"pan":"4111"}');
  });

  it('a compact token split the old way opens through unframeParts', () => {
    const token = seal(keys, new Uint8Array([1, 2, 3]), { alg: 'dir', context: { topic: 't' } });
    const { value, frame } = splitToken(token);
    expect([...openParts(keys, unframeParts(frame, value), { context: { topic: 't' } }).plaintext]).toEqual([1, 2, 3]);
  });

  it.each([
    ['a ciphertext slot that is not empty', (f: string) => f.replace('..', '.AAAA.')],
    ['three segments', (f: string) => f.split('.').slice(0, 3).join('.')],
    ['bad base64url in the tag', (f: string) => `${f}!`],
    ['an over-long frame', (f: string) => `${'A'.repeat(5000)}${f}`],
  ])('refuses %s with ERR_TOKEN_MALFORMED', (_, mangle) => {
    const { frame, value } = frameParts(sealParts(keys, 'x'));
    let code: string | undefined;
    try {
      openParts(keys, unframeParts(mangle(frame), value));
    } catch (err) {
      code = (err as { code?: string }).code;
    }
    expect(code).toBe('ERR_TOKEN_MALFORMED');
  });
});
