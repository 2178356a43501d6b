// Audiences (a keyring per policy: each reader opens only its own fields) and record binding (bind).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, decryptFields, encryptFields, encryptFieldsWithReport, staticKeyProvider } from '@wireseal/core';
import type { JsonValue } from '@wireseal/core';
import { AudienceMissingError } from '@wireseal/core/errors';
import { codeOf } from './helpers.ts';

const pci = KeySet.generate({ kid: 'pci-1' });
const pii = KeySet.generate({ kid: 'pii-1' });
const policy = FieldPolicy.parse({ audiences: { pci: ['card.number', 'card.cvv'], pii: ['customer.ssn', 'customer.dob'] }, bind: ['id'] });
const payment = (id = 'pay_1') => ({
  id,
  amount: 1250,
  card: { number: '4111111111111111', cvv: '737', brand: 'visa' },
  customer: { name: 'Ada', ssn: '078-05-1120', dob: '1990-01-01' },
});
const raw = (keys: KeySet) => Buffer.from(keys.toJwks().keys[0]!.k, 'base64url');
type Sealed = ReturnType<typeof payment>;

/** wsc computed independently, exactly as docs/format.md §5.2 and §6.6 say. */
function wscOf(ctx: Record<string, string>): string {
  const entries = Object.entries(ctx).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(entries), 'utf8').digest().subarray(0, 16).toString('base64url');
}
const headerOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()) as Record<string, string>;

describe('keyrings', () => {
  const sealed = encryptFields({ pci, pii }, payment(), policy, { context: { topic: 'payments' } }) as Sealed;

  it('each audience seals under its own key, one content key per audience; jose opens every token with that audience\'s key', async () => {
    expect(headerOf(sealed.card.number).kid).toBe('pci-1');
    expect(headerOf(sealed.customer.ssn).kid).toBe('pii-1');
    expect(sealed.card.number.split('.')[1]).toBe(sealed.card.cvv.split('.')[1]);
    expect(sealed.card.number.split('.')[1]).not.toBe(sealed.customer.ssn.split('.')[1]);
    for (const [t, k, plain] of [[sealed.card.number, pci, '"4111111111111111"'], [sealed.customer.dob, pii, '"1990-01-01"']] as const) {
      expect(Buffer.from((await compactDecrypt(t, raw(k))).plaintext).toString()).toBe(plain);
    }
    await expect(compactDecrypt(sealed.card.number, raw(pii))).rejects.toThrow();
  });

  it('a reader with only pii opens the SSN and leaves the card tokens byte for byte, reported in sealed (strict mode, no error)', () => {
    const r = decryptFields<Sealed>({ pii }, sealed, policy, { context: { topic: 'payments' } });
    expect(r.doc.customer).toEqual(payment().customer);
    expect(r.doc.card.number).toBe(sealed.card.number);
    expect(r.doc.card.cvv).toBe(sealed.card.cvv);
    expect(r.sealed).toEqual(['card.number', 'card.cvv']);
    expect(r.decrypted).toEqual(['customer.ssn', 'customer.dob']);
  });

  it('the pii reader cannot open the card token even moved under a pii path (ERR_FIELD_MISMATCH)', () => {
    const moved = { ...sealed, customer: { ...sealed.customer, ssn: sealed.card.number } };
    expect(codeOf(() => decryptFields({ pii }, moved, policy, { context: { topic: 'payments' } }))).toBe('ERR_FIELD_MISMATCH');
    // ...also when both audiences happen to use the same kid
    const samePii = KeySet.generate({ kid: 'pci-1' });
    expect(codeOf(() => decryptFields({ pii: samePii }, moved, policy, { context: { topic: 'payments' } }))).toBe('ERR_FIELD_MISMATCH');
  });

  it('plaintext at a path of an audience the reader lacks is still ERR_PLAINTEXT_FIELD in strict mode', () => {
    const forged = { ...sealed, card: { ...sealed.card, number: '4111111111111111' } };
    expect(codeOf(() => decryptFields({ pii }, forged, policy, { context: { topic: 'payments' } }))).toBe('ERR_PLAINTEXT_FIELD');
    expect(decryptFields({ pii }, forged, policy, { context: { topic: 'payments' }, mode: 'migrate' }).passedThrough).toEqual(['card.number']);
  });

  it('a writer without an audience the document has values for fails whole (ERR_AUDIENCE_MISSING); absent values need no keys', () => {
    let caught: unknown;
    try {
      encryptFields({ pci }, payment(), policy);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AudienceMissingError);
    expect((caught as AudienceMissingError).audience).toBe('pii');
    const cardOnly = { id: 'x', card: { number: '4111' } };
    expect(encryptFieldsWithReport({ pci }, cardOnly, policy).sealed).toEqual(['card.number']);
  });

  it('keyring misuse is ERR_ARGUMENT_INVALID: one key set for a two-audience policy, an audience the policy lacks', () => {
    expect(codeOf(() => encryptFields(pci, payment(), policy))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => decryptFields({ pcii: pci }, sealed, policy))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => decryptFields({ pci: 'nope' as never }, sealed, policy))).toBe('ERR_ARGUMENT_INVALID');
  });

  it('providers: one audience\'s outage fails only documents that hold its fields (ERR_KEY_SOURCE)', () => {
    const down = { ready: () => Promise.resolve(), close: () => undefined, current: (): KeySet => { throw Object.assign(new Error('down'), { code: 'ERR_KEY_SOURCE' }); } };
    const keyring = { pci: staticKeyProvider(pci), pii: down };
    expect(encryptFieldsWithReport(keyring, { id: 'a', card: { number: '4111' } }, policy).sealed).toEqual(['card.number']);
    expect(() => encryptFields(keyring, payment(), policy)).toThrow('down');
  });

  it('a bare key set still serves a fields policy (the single audience "default"), and { default: keys } too', () => {
    const keys = KeySet.generate({ kid: 'd' });
    const p = FieldPolicy.parse({ fields: ['a'] });
    const s = encryptFields(keys, { a: 1 }, p);
    expect(decryptFields({ default: keys }, s, p).doc).toEqual({ a: 1 });
  });
});

describe('record binding', () => {
  const ctx = { topic: 'payments' };

  it('wsc of a bound token equals the digest computed independently: caller context plus "$id" = JSON text of the value', () => {
    const s = encryptFields({ pci, pii }, payment('pay_7'), policy, { context: ctx }) as Sealed;
    expect(headerOf(s.card.number).wsc).toBe(wscOf({ topic: 'payments', $id: '"pay_7"' }));
    const numeric = encryptFields({ pci, pii }, { ...payment(), id: 12 }, policy, { context: ctx }) as unknown as Sealed;
    expect(headerOf(numeric.card.number).wsc).toBe(wscOf({ topic: 'payments', $id: '12' }));
    expect(headerOf(numeric.card.number).wsc).not.toBe(headerOf((encryptFields({ pci, pii }, { ...payment(), id: '12' }, policy, { context: ctx }) as Sealed).card.number).wsc);
  });

  it('a token swapped between two records fails with ERR_CONTEXT_MISMATCH', () => {
    const a = encryptFields({ pci, pii }, payment('pay_a'), policy, { context: ctx }) as Sealed;
    const b = encryptFields({ pci, pii }, payment('pay_b'), policy, { context: ctx }) as Sealed;
    const swapped = { ...b, card: { ...b.card, number: a.card.number } };
    expect(codeOf(() => decryptFields({ pci, pii }, swapped, policy, { context: ctx }))).toBe('ERR_CONTEXT_MISMATCH');
    expect(decryptFields({ pci, pii }, b, policy, { context: ctx }).doc).toEqual(payment('pay_b'));
  });

  it('per-element binding: a token swapped between two bound array elements fails; other tokens ignore the element binding', () => {
    const p = FieldPolicy.parse({ fields: ['accounts[*].iban', 'customer.ssn'], bind: ['accounts[*].accountId', 'id'] });
    const doc = { id: 'r1', customer: { ssn: '078' }, accounts: [{ accountId: 'A', iban: 'DE1' }, { accountId: 'B', iban: 'DE2' }] };
    const s = encryptFields(pci, doc, p) as typeof doc;
    expect(headerOf(s.accounts[1]!.iban).wsc).toBe(wscOf({ $id: '"r1"', '$accounts[*].accountId': '"B"' }));
    expect(headerOf(s.customer.ssn).wsc).toBe(wscOf({ $id: '"r1"' }));
    const swapped = { ...s, accounts: [{ ...s.accounts[0]!, iban: s.accounts[1]!.iban }, { ...s.accounts[1]!, iban: s.accounts[0]!.iban }] };
    expect(codeOf(() => decryptFields(pci, swapped, p))).toBe('ERR_CONTEXT_MISMATCH');
    expect(decryptFields(pci, s, p).doc).toEqual(doc);
  });

  it('a bound value that is absent or not a scalar is refused on sealing; absent on reading is ERR_CONTEXT_MISMATCH', () => {
    expect(codeOf(() => encryptFields({ pci, pii }, { ...payment(), id: undefined }, policy))).toBe('ERR_FIELD_MISSING');
    expect(codeOf(() => encryptFields({ pci, pii }, { ...payment(), id: { x: 1 } }, policy))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => encryptFields({ pci, pii }, { ...payment(), id: null }, policy))).toBe('ERR_POLICY_INVALID');
    const s = encryptFields({ pci, pii }, payment(), policy) as Sealed;
    const { id: _id, ...without } = s;
    expect(codeOf(() => decryptFields({ pci, pii }, without, policy))).toBe('ERR_CONTEXT_MISMATCH');
  });

  it('caller context keys may not start with "$" (ERR_ARGUMENT_INVALID)', () => {
    expect(codeOf(() => encryptFields({ pci, pii }, payment(), policy, { context: { $id: 'forged' } }))).toBe('ERR_ARGUMENT_INVALID');
    expect(codeOf(() => decryptFields({ pci, pii }, {}, policy, { context: { $x: '1' } }))).toBe('ERR_ARGUMENT_INVALID');
  });

  it('jose opens a bound token; it is a standard JWE with wsc in the protected header', async () => {
    const s = encryptFields({ pci, pii }, payment(), policy, { context: ctx }) as Sealed;
    const out = await compactDecrypt(s.customer.ssn, raw(pii));
    expect(Buffer.from(out.plaintext).toString()).toBe('"078-05-1120"');
    expect(out.protectedHeader.wsf).toBe('customer.ssn');
  });
});

describe('properties', () => {
  const keyArb = fc.constantFrom('a', 'b', 'c', 'd');
  const leaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
  const docArb = fc.record({ id: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), a: fc.option(leaf, { nil: undefined }), b: fc.option(fc.dictionary(keyArb, leaf, { maxKeys: 3 }), { nil: undefined }), c: fc.option(fc.array(fc.record({ d: leaf }), { maxLength: 3 }), { nil: undefined }) });
  const p = FieldPolicy.parse({ audiences: { x: ['a', 'b.c'], y: ['b.d', 'c[*].d'] }, bind: ['id'] });
  const x = KeySet.generate({ kid: 'x' });
  const y = KeySet.generate({ kid: 'y' });

  it('multi-audience documents round-trip; a partial keyring leaves exactly the other audience\'s paths sealed, byte for byte', () => {
    fc.assert(
      fc.property(docArb, (raw) => {
        const doc = JSON.parse(JSON.stringify(raw)) as JsonValue;
        const sealed = encryptFieldsWithReport({ x, y }, doc, p);
        expect(decryptFields({ x, y }, sealed.doc, p).doc).toEqual(doc);
        const onlyX = decryptFields({ x }, sealed.doc, p);
        const ySealed = sealed.sealed.filter((c) => c === 'b.d' || c.startsWith('c['));
        expect(onlyX.sealed).toEqual(ySealed);
        expect([...onlyX.decrypted, ...onlyX.sealed].sort()).toEqual([...sealed.sealed].sort());
        // byte for byte: the y tokens in the partial result are the sealed document's, and everything else is the plaintext
        const full = decryptFields({ x, y }, sealed.doc, p).doc as Record<string, unknown>;
        const partial = onlyX.doc as Record<string, unknown>;
        expect(partial.a).toEqual(full.a);
        const sd = sealed.doc as { b?: { d?: unknown }; c?: Array<{ d?: unknown }> };
        if (sd.b && 'd' in sd.b) expect((partial.b as { d: unknown }).d).toBe(sd.b.d);
        (sd.c ?? []).forEach((e, i) => expect((partial.c as Array<{ d: unknown }>)[i]!.d).toBe(e.d));
      }),
      { numRuns: 300 },
    );
  });
});

describe('key usage in results', () => {
  it('results count tokens per kid, sealing and opening (null-prototype maps: a kid named __proto__ counts like any other)', () => {
    const odd = KeySet.generate({ kid: '__proto__' });
    const p = FieldPolicy.parse({ audiences: { pci: ['card.number', 'card.cvv'], pii: ['customer.ssn'] } });
    const doc = { card: { number: '4111', cvv: '737' }, customer: { ssn: '078' } };
    const s = encryptFieldsWithReport({ pci: odd, pii }, doc, p);
    expect(Object.entries(s.kids)).toEqual([['__proto__', 2], ['pii-1', 1]]);
    expect(Object.getPrototypeOf(s.kids)).toBeNull();
    const r = decryptFields({ pci: odd, pii }, s.doc, p);
    expect(Object.entries(r.kids)).toEqual([['__proto__', 2], ['pii-1', 1]]);
    expect(Object.entries(decryptFields({ pii }, s.doc, p).kids)).toEqual([['pii-1', 1]]);
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });
});
