// Policy grammar for audiences and bind (docs/format.md §6.1, §6.6).
import { describe, expect, it } from 'vitest';
import { FieldPolicy } from '@wireseal/core';
import { codeOf } from './helpers.ts';

describe('FieldPolicy: audiences and bind', () => {
  it('a fields policy is the single audience "default"; an audiences policy keeps its names and order', () => {
    const f = FieldPolicy.parse({ fields: ['a', 'b.c'] });
    expect(f.audiences).toEqual(['default']);
    expect(f.paths.map((p) => [p.text, p.audience])).toEqual([['a', 'default'], ['b.c', 'default']]);
    expect(f.toJSON()).toEqual({ fields: ['a', 'b.c'] });
    const a = FieldPolicy.parse({ audiences: { pci: ['card.number', 'card.cvv'], pii: ['customer.ssn'] }, bind: ['id', 'accounts[*].accountId'] });
    expect(a.audiences).toEqual(['pci', 'pii']);
    expect(a.pathsOf('pii').map((p) => p.text)).toEqual(['customer.ssn']);
    expect(a.pathsOf('nope')).toEqual([]);
    expect(a.bind.map((p) => p.text)).toEqual(['id', 'accounts[*].accountId']);
    expect(a.toJSON()).toEqual({ audiences: { pci: ['card.number', 'card.cvv'], pii: ['customer.ssn'] }, bind: ['id', 'accounts[*].accountId'] });
    expect(FieldPolicy.parse(JSON.stringify(a.toJSON())).toJSON()).toEqual(a.toJSON());
  });

  it.each([
    ['fields and audiences together', { fields: ['a'], audiences: { x: ['b'] } }],
    ['a path in two audiences', { audiences: { x: ['a.b'], y: ['a["b"]'] } }],
    ['a path inside another audience\'s subtree', { audiences: { x: ['card'], y: ['card.number'] } }],
    ['a bad audience name', { audiences: { 'p ci': ['a'] } }],
    ['an empty audience name', { audiences: { '': ['a'] } }],
    ['a 65-character audience name', { audiences: { ['a'.repeat(65)]: ['a'] } }],
    ['no audience', { audiences: {} }],
    ['an audience that is not an array', { audiences: { x: 'a' } }],
    ['$ as a bind path', { fields: ['a'], bind: ['$'] }],
    ['a bind path under a policy path', { fields: ['customer'], bind: ['customer.id'] }],
    ['a bind path equal to a policy path', { fields: ['id'], bind: ['id'] }],
    ['a policy path under a bind path', { fields: ['meta.secret'], bind: ['meta'] }],
    ['a bind path twice', { fields: ['a'], bind: ['id', '["id"]'] }],
    ['a sparse bind list', { fields: ['a'], bind: [, 'id'] }],
    ['an unknown member', { fields: ['a'], fileds: ['b'] }],
  ])('refuses %s with ERR_POLICY_INVALID', (_, policy) => {
    expect(codeOf(() => FieldPolicy.parse(policy as never))).toBe('ERR_POLICY_INVALID');
  });
});
