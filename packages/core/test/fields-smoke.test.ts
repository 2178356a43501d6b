import { describe, expect, it } from 'vitest';
import { KeySet, FieldPolicy, encryptFields, decryptFields } from '@wireseal/core';

describe('fields smoke', () => {
  it('round trips', () => {
    const keys = KeySet.generate({ kid: 'k1' });
    const policy = FieldPolicy.parse({ fields: ['card.number', 'accounts[*].iban', '["a.b"]', 'obj'] });
    const doc = { card: { number: '4111', cvv: '123' }, accounts: [{ iban: 'DE1' }, { iban: 'DE2' }], 'a.b': 5, obj: { x: [1, null] } };
    const sealed = encryptFields(keys, doc, policy, { context: { topic: 't' } });
    expect(typeof (sealed as any).card.number).toBe('string');
    expect((sealed as any).card.cvv).toBe('123');
    const r = decryptFields(keys, sealed, policy, { context: { topic: 't' } });
    expect(r.doc).toEqual(doc);
    expect(r.decrypted).toEqual(['card.number', 'accounts[0].iban', 'accounts[1].iban', 'a.b', 'obj']);
  });
});
