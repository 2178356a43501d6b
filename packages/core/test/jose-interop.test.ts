// Interop both ways with jose, an independent JOSE implementation.
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, contextDigest, encryptFields, open, openToken, seal } from '@wireseal/core';
import type { SealOptions } from '@wireseal/core';
import { FIXED_JWKS, td, te } from './helpers.ts';

const keys = KeySet.fromJwks(FIXED_JWKS);
const joseKey = (kid: string) => Buffer.from(FIXED_JWKS.keys.find((k) => k.kid === kid)!.k, 'base64url');

describe('wireseal -> jose', () => {
  const cases: Array<{ name: string; opts: SealOptions }> = [
    { name: 'A256KW', opts: {} },
    { name: 'dir', opts: { alg: 'dir' as const } },
    { name: 'A256KW + wsf + wsc', opts: { field: 'card.number', context: { topic: 'payments' } } },
    { name: 'dir + wsf + wsc + cty + iat', opts: { alg: 'dir' as const, field: 'accounts[*].iban', context: { tenant: 'acme', topic: 't' }, cty: 'application/json', iat: 1_800_000_000 } },
  ];
  for (const engine of ['node', 'noble'] as const) {
    it.each(cases)(`${engine} engine: $name opens in jose with the same key`, async ({ opts }) => {
      const plaintext = te.encode('{"pan":"4111 1111 1111 1111","ü":"✓"}');
      const token = seal(keys, plaintext, { ...opts, engine });
      const { plaintext: out, protectedHeader } = await jose.compactDecrypt(token, joseKey('k-new'), {
        keyManagementAlgorithms: [opts.alg ?? 'A256KW'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      expect(Buffer.from(out).equals(Buffer.from(plaintext))).toBe(true);
      expect(protectedHeader.kid).toBe('k-new');
      expect(protectedHeader.enc).toBe('A256GCM');
      expect(protectedHeader.alg).toBe(opts.alg ?? 'A256KW');
      expect(protectedHeader.wsf).toBe(opts.field);
      expect(protectedHeader.wsc).toBe(opts.context ? contextDigest(opts.context) : undefined);
    });
  }

  it('every field token of an encrypted document opens in jose and holds the JSON text of the value', async () => {
    const policy = FieldPolicy.parse({ fields: ['card.number', 'card.cvv', 'customer', 'accounts[*].iban', 'flags[*]'] });
    const doc = {
      card: { number: '4111111111111111', cvv: 123, expiry: '12/29' },
      customer: { ssn: '078-05-1120', dob: null, tags: ['a', true, 1.5] },
      accounts: [{ iban: 'DE89370400440532013000' }, { iban: 'GB82WEST12345698765432' }],
      flags: [false, null, { x: 'y' }],
    };
    const sealed = encryptFields(keys, doc, policy, { context: { topic: 'ledger' } });
    const pairs: Array<[string, unknown]> = [
      [sealed.card.number as unknown as string, doc.card.number],
      [sealed.card.cvv as unknown as string, doc.card.cvv],
      [sealed.customer as unknown as string, doc.customer],
      [sealed.accounts[0]!.iban, doc.accounts[0]!.iban],
      [sealed.accounts[1]!.iban, doc.accounts[1]!.iban],
      ...sealed.flags.map((t, i) => [t as unknown as string, doc.flags[i]] as [string, unknown]),
    ];
    expect(pairs).toHaveLength(8);
    for (const [token, original] of pairs) {
      const { plaintext } = await jose.compactDecrypt(token, joseKey('k-new'));
      expect(td.decode(plaintext)).toBe(JSON.stringify(original));
    }
    expect(sealed.card.expiry).toBe('12/29');
  });
});

describe('jose -> wireseal', () => {
  it.each(['A256KW', 'dir'] as const)('a %s + A256GCM token made by jose with a kid opens', async (alg) => {
    for (const kid of ['k-new', 'k-old']) {
      const token = await new jose.CompactEncrypt(te.encode(`hello from jose ${alg} ${kid}`))
        .setProtectedHeader({ alg, enc: 'A256GCM', kid })
        .encrypt(joseKey(kid));
      expect(td.decode(open(keys, token))).toBe(`hello from jose ${alg} ${kid}`);
      expect(td.decode(open(keys, token, { engine: 'noble' }))).toBe(`hello from jose ${alg} ${kid}`);
    }
  });

  it('a jose token carrying wsf/wsc/iat is checked like a wireseal token', async () => {
    const ctx = { topic: 'payments' };
    const token = await new jose.CompactEncrypt(te.encode('"4111"'))
      .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: 'k-new', wsf: 'card.number', wsc: contextDigest(ctx), iat: 1_700_000_000 })
      .encrypt(joseKey('k-new'));
    const { header, plaintext } = openToken(keys, token, { field: 'card.number', context: ctx });
    expect(td.decode(plaintext)).toBe('"4111"');
    expect(header.iat).toBe(1_700_000_000);
  });
});
