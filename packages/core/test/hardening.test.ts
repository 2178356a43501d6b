// Issue 14: plaintext never gets past a strict policy, whatever the document's shape;
// format edges (BOM, header length, sparse policies); requireMatch; previous keys stay decrypt-only.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, decryptFields, encryptFields, encryptFieldsWithReport, open, seal } from '@wireseal/core';
import type { JsonValue } from '@wireseal/core';
import { FieldMissingError, PlaintextFieldError } from '@wireseal/core/errors';
import { codeOf, FIXED_JWKS } from './helpers.ts';

const keys = KeySet.fromJwks(FIXED_JWKS);
const IBAN = 'DE89370400440532013000';

describe('shape: a policy path is absent or holds a token where the policy says', () => {
  const policy = FieldPolicy.parse({ fields: ['accounts[*].iban', 'card.number'] });

  it.each([
    ['an object where [*] expects an array', { accounts: { '0': { iban: IBAN } } }, 'accounts'],
    ['a string where [*] expects an array', { accounts: IBAN }, 'accounts'],
    ['an array where a key step expects an object', { card: [IBAN] }, 'card'],
    ['a string where a key step expects an object', { card: '4111111111111111' }, 'card'],
    ['a number where a key step expects an object', { card: 4111111111111111 }, 'card'],
    ['a document that is an array', [{ card: { number: '4111111111111111' } }], '$'],
    ['an element of the wrong shape inside the array', { accounts: [null, [IBAN]] }, 'accounts[1]'],
  ])('decrypt, strict: %s is ERR_PLAINTEXT_FIELD naming the member', (_, doc, at) => {
    let caught: unknown;
    try {
      decryptFields(keys, doc, policy);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PlaintextFieldError);
    expect((caught as PlaintextFieldError).code).toBe('ERR_PLAINTEXT_FIELD');
    expect((caught as PlaintextFieldError).path).toBe(at);
    expect((caught as Error).message).not.toContain(IBAN);
    expect((caught as Error).message).not.toContain('4111');
  });

  it('decrypt, strict: a valid token wrapped in the wrong shape is refused too (no forged neighbour slips through)', () => {
    const token = seal(keys, JSON.stringify(IBAN), { field: 'accounts[*].iban' });
    expect(codeOf(() => decryptFields(keys, { accounts: { '0': { iban: token } } }, policy))).toBe('ERR_PLAINTEXT_FIELD');
  });

  it('decrypt, migrate: the misfit is reported as passed through, once, with the document unchanged', () => {
    const doc = { accounts: { '0': { iban: IBAN } }, card: 'x' };
    const r = decryptFields(keys, doc, FieldPolicy.parse({ fields: ['accounts[*].iban', 'card.number', 'card.cvv'] }), { mode: 'migrate' });
    expect(r.passedThrough).toEqual(['accounts', 'card']);
    expect(r.decrypted).toEqual([]);
    expect(r.doc).toEqual(doc);
  });

  it('null on the way counts as absent, on both sides', () => {
    const doc = { accounts: null, card: null };
    const sealed = encryptFields(keys, doc, policy);
    expect(sealed).toEqual(doc);
    const r = decryptFields(keys, sealed, policy);
    expect(r.doc).toEqual(doc);
    expect(r.unmatched).toEqual(['accounts[*].iban', 'card.number']);
  });

  it('encrypt: a member of the wrong shape is refused whole; the input is untouched', () => {
    const doc = { accounts: { '0': { iban: IBAN } }, card: { number: '4111111111111111' } };
    const before = JSON.stringify(doc);
    let caught: unknown;
    try {
      encryptFields(keys, doc, policy);
    } catch (err) {
      caught = err;
    }
    expect((caught as PlaintextFieldError).code).toBe('ERR_PLAINTEXT_FIELD');
    expect((caught as PlaintextFieldError).path).toBe('accounts');
    expect(JSON.stringify(doc)).toBe(before);
  });
});

// ---- property: no plaintext at any policy path, whatever its shape, reaches the caller ----

/**
 * Every value a JavaScript caller reaches by following a policy path loosely:
 * `[*]` enters arrays, objects (obj[0] works on {"0": …}) and strings (s[0]);
 * a key enters any object or array that owns it, and strings by index.
 */
function looseLocations(doc: unknown, steps: FieldPolicy['paths'][number]['steps']): unknown[] {
  let here: unknown[] = [doc];
  for (const s of steps) {
    const next: unknown[] = [];
    for (const h of here) {
      if (s.kind === 'each') {
        if (typeof h === 'string') next.push(...h);
        else if (h !== null && typeof h === 'object') next.push(...Object.values(h));
      } else if (typeof h === 'string') {
        if (/^\d+$/.test(s.key) && Number(s.key) < h.length) next.push(h[Number(s.key)]);
      } else if (h !== null && typeof h === 'object' && Object.prototype.hasOwnProperty.call(h, s.key)) {
        next.push((h as Record<string, unknown>)[s.key]);
      }
    }
    here = next;
  }
  return here;
}

const keyArb = fc.constantFrom('a', 'b', '0', '1', 'iban');
const pathArb = fc
  .array(fc.oneof(keyArb.map((k) => ({ k })), fc.constant({ each: true as const })), { minLength: 1, maxLength: 3 })
  .map((steps) => steps.map((s, i) => ('each' in s ? '[*]' : i === 0 ? s.k : `.${s.k}`)).join(''));
const policyArb = fc.uniqueArray(pathArb, { minLength: 1, maxLength: 3 }).map((fields) => {
  try {
    return FieldPolicy.parse({ fields });
  } catch {
    return FieldPolicy.parse({ fields: fields.slice(0, 1) });
  }
});
/** Documents built from the same few keys, so that they meet the policy often, in every shape. */
const docArb = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('obj'), tie('arr')),
  leaf: fc.oneof(fc.constantFrom('4111111111111111', IBAN, 'TOKEN'), fc.integer(), fc.boolean(), fc.constant(null)),
  obj: fc.dictionary(keyArb, tie('value'), { maxKeys: 3 }),
  arr: fc.array(tie('value'), { maxLength: 3 }),
})).value;

/** Replaces the "TOKEN" markers at real policy locations with real tokens for that path, so documents mix tokens and plaintext. */
function withTokens(doc: JsonValue, policy: FieldPolicy): JsonValue {
  const box = { v: JSON.parse(JSON.stringify(doc)) as JsonValue };
  for (const p of policy.paths) {
    const go = (holder: unknown, i: number, set: (v: unknown) => void): void => {
      if (i === p.steps.length) {
        set(seal(keys, JSON.stringify(holder), { field: p.text }));
        return;
      }
      const s = p.steps[i]!;
      if (s.kind === 'each' && Array.isArray(holder)) holder.forEach((v, j) => go(v, i + 1, (x) => (holder[j] = x)));
      else if (s.kind === 'key' && holder && typeof holder === 'object' && !Array.isArray(holder) && Object.hasOwn(holder, s.key)) {
        const h = holder as Record<string, unknown>;
        if (h[s.key] === 'TOKEN' || i + 1 < p.steps.length) go(h[s.key], i + 1, (x) => (h[s.key] = x));
      }
    };
    go(box.v, 0, (x) => (box.v = x as JsonValue));
  }
  return box.v;
}

const looksLikeToken = (v: unknown) => typeof v === 'string' && /^eyJ[\w-]*\.[\w-]*\.[\w-]+\.[\w-]*\.[\w-]+$/.test(v);

describe('property: strict mode lets no plaintext at a policy path through', () => {
  it('decryptFields either refuses, or every value a caller can reach at a policy path was a token', () => {
    fc.assert(
      fc.property(docArb, policyArb, fc.boolean(), (raw, policy, tokens) => {
        const doc = tokens ? withTokens(raw as JsonValue, policy) : (raw as JsonValue);
        let r: ReturnType<typeof decryptFields>;
        try {
          r = decryptFields(keys, doc, policy);
        } catch (err) {
          expect(['ERR_PLAINTEXT_FIELD', 'ERR_FIELD_MISMATCH', 'ERR_TOKEN_MALFORMED']).toContain((err as { code?: string }).code);
          return;
        }
        for (const p of policy.paths) {
          const reached = looseLocations(doc, p.steps);
          for (const v of reached) expect(looksLikeToken(v)).toBe(true);
          expect(looseLocations(r.doc, p.steps).length).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('encryptFields either refuses, or every value reachable at a policy path of what it returns is a token', () => {
    fc.assert(
      fc.property(docArb, policyArb, (raw, policy) => {
        let sealed: JsonValue;
        try {
          sealed = encryptFields(keys, raw as JsonValue, policy);
        } catch (err) {
          expect((err as { code?: string }).code).toBe('ERR_PLAINTEXT_FIELD');
          return;
        }
        for (const p of policy.paths) for (const v of looseLocations(sealed, p.steps)) expect(looksLikeToken(v)).toBe(true);
        expect(decryptFields(keys, sealed, policy).doc).toEqual(JSON.parse(JSON.stringify(raw)));
      }),
      { numRuns: 1500 },
    );
  });
});

describe('requireMatch and the match report', () => {
  const policy = FieldPolicy.parse({ fields: ['card.number', 'card.cvv', 'customer.ssn'] });
  const doc = { card: { number: '4111111111111111' }, customer: { name: 'Ada' } };

  it('encryptFieldsWithReport lists sealed concrete paths and unmatched policy paths', () => {
    const r = encryptFieldsWithReport(keys, doc, policy);
    expect(r.sealed).toEqual(['card.number']);
    expect(r.unmatched).toEqual(['card.cvv', 'customer.ssn']);
    expect(Buffer.from(open(keys, (r.doc as { card: { number: string } }).card.number, { field: 'card.number' })).toString()).toBe('"4111111111111111"');
    expect(decryptFields(keys, r.doc, policy).unmatched).toEqual(['card.cvv', 'customer.ssn']);
  });

  it('requireMatch: true fails on sealing with ERR_FIELD_MISSING naming every missing path; a subset names only its own', () => {
    let caught: unknown;
    try {
      encryptFields(keys, doc, policy, { requireMatch: true });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FieldMissingError);
    expect((caught as FieldMissingError).code).toBe('ERR_FIELD_MISSING');
    expect((caught as FieldMissingError).paths).toEqual(['card.cvv', 'customer.ssn']);
    expect(codeOf(() => encryptFields(keys, doc, policy, { requireMatch: ['customer.ssn'] }))).toBe('ERR_FIELD_MISSING');
    expect(encryptFieldsWithReport(keys, doc, policy, { requireMatch: ['card.number'] }).sealed).toEqual(['card.number']);
    // A typo in requireMatch itself is a policy error, not a silent no-op.
    expect(codeOf(() => encryptFields(keys, doc, policy, { requireMatch: ['card.numbr'] }))).toBe('ERR_POLICY_INVALID');
    // On the reading side too.
    const sealed = encryptFields(keys, doc, policy);
    expect(codeOf(() => decryptFields(keys, sealed, policy, { requireMatch: ['card.cvv'] }))).toBe('ERR_FIELD_MISSING');
    expect(decryptFields(keys, sealed, policy, { requireMatch: ['card.number'] }).decrypted).toEqual(['card.number']);
  });
});

describe('format edges', () => {
  const b64u = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');

  it('a protected header that starts with a UTF-8 BOM is ERR_TOKEN_MALFORMED', () => {
    const token = seal(keys, 'x', { alg: 'dir' });
    const [h, ...rest] = token.split('.');
    const bom = b64u(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(h!, 'base64url')]));
    for (const engine of ['node', 'noble'] as const) {
      expect(codeOf(() => open(keys, [bom, ...rest].join('.'), { engine }))).toBe('ERR_TOKEN_MALFORMED');
    }
  });

  it('a field plaintext that starts with a BOM is refused by both engines alike', () => {
    const policy = FieldPolicy.parse({ fields: ['a'] });
    for (const sealer of ['node', 'noble'] as const) {
      const t = seal(keys, Uint8Array.from([0xef, 0xbb, 0xbf, 0x31]), { field: 'a', engine: sealer });
      for (const engine of ['node', 'noble'] as const) {
        expect(codeOf(() => decryptFields(keys, { a: t }, policy, { engine }))).toBe('ERR_TOKEN_MALFORMED');
      }
    }
  });

  it('seal() refuses a header that open() would refuse; the policy refuses a path that would make one', () => {
    const long = 'a'.repeat(3100);
    expect(codeOf(() => seal(keys, 'x', { field: long }))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => FieldPolicy.parse({ fields: [long] }))).toBe('ERR_POLICY_INVALID');
    // The longest paths the policy accepts (2,048 bytes as JSON), with a 64-character kid that
    // escapes to 128 and a context, still make tokens that open with default limits.
    const wide = KeySet.generate({ kid: '"'.repeat(64) });
    for (const key of ['b'.repeat(2046), '\u00e9'.repeat(1023), '\u{1F600}'.repeat(511) + 'ab']) {
      const pol = FieldPolicy.parse({ fields: [key] });
      const doc = { [key]: 1 } as JsonValue;
      const sealed = encryptFields(wide, doc, pol, { context: { topic: 't' } });
      expect(decryptFields(wide, sealed, pol, { context: { topic: 't' } }).doc).toEqual(doc);
    }
    expect(codeOf(() => FieldPolicy.parse({ fields: ['b'.repeat(2047)] }))).toBe('ERR_POLICY_INVALID');
  });

  it('a sparse or non-string policy array is ERR_POLICY_INVALID, never a bare TypeError', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(codeOf(() => FieldPolicy.parse({ fields: ['a', , 'b'] as string[] }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => FieldPolicy.parse({ fields: new Array(3) as string[] }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => FieldPolicy.parse({ fields: ['a', null] as unknown as string[] }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => FieldPolicy.parse({ fields: [7] as unknown as string[] }))).toBe('ERR_POLICY_INVALID');
  });
});

describe('roles: merging a previous key set never grants decryption', () => {
  it('withDecryptOnly leaves out keys that cannot decrypt, keeps decrypting ones as decrypt-only', () => {
    const k = (kid: string, ops: string[]) => ({ kty: 'oct', kid, k: Buffer.alloc(32, kid.charCodeAt(0)).toString('base64url'), key_ops: ops });
    const sendOnlyNow = KeySet.fromJwks({ keys: [k('b', ['encrypt'])] });
    const sendOnlyBefore = KeySet.fromJwks({ keys: [k('a', ['encrypt'])] });
    const merged = sendOnlyNow.withDecryptOnly(sendOnlyBefore);
    expect(merged.list()).toEqual([{ kid: 'b', role: 'encrypt-only' }]);
    const tokenUnderA = seal(sendOnlyBefore, 'secret');
    expect(codeOf(() => open(merged, tokenUnderA))).toBe('ERR_KEY_UNKNOWN');
    const readerBefore = KeySet.fromJwks({ keys: [k('a', ['encrypt', 'decrypt']), k('c', ['decrypt'])] });
    expect(KeySet.fromJwks({ keys: [k('b', ['encrypt', 'decrypt'])] }).withDecryptOnly(readerBefore).list()).toEqual([
      { kid: 'b', role: 'primary' },
      { kid: 'a', role: 'decrypt-only' },
      { kid: 'c', role: 'decrypt-only' },
    ]);
  });
});
