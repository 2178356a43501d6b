// Field policies: grammar, validation, encryptFields/decryptFields, properties, cut-and-paste, pollution.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, decryptFields, encryptFields, open, seal } from '@wireseal/core';
import type { JsonValue } from '@wireseal/core';
import { codeOf, FIXED_JWKS } from './helpers.ts';

const keys = KeySet.fromJwks(FIXED_JWKS);
const isToken = (v: unknown) => typeof v === 'string' && /^eyJ[\w-]*\.[\w-]*\.[\w-]{16}\.[\w-]*\.[\w-]{22}$/.test(v);

const payment = () => ({
  id: 'pay_123',
  amount: { value: 1250, currency: 'EUR' },
  card: { number: '4111111111111111', cvv: '737', expiry: '03/30', brand: 'visa' },
  customer: { name: 'Ada', ssn: '078-05-1120', dob: '1990-01-01' },
  accounts: [{ iban: 'DE89370400440532013000', primary: true }, { iban: 'GB82WEST12345698765432' }, { note: 'no iban' }],
  notes: null,
});

describe('FieldPolicy grammar', () => {
  it('compiles dots, [*], quoted keys and $', () => {
    const p = FieldPolicy.parse({ fields: ['card.number', 'accounts[*].iban', '["a.b"].c', '[*]', 'm[*][*]', 'x["y z"]["\\"q\\""]'] });
    expect(p.paths.map((x) => x.steps)).toEqual([
      [{ kind: 'key', key: 'card' }, { kind: 'key', key: 'number' }],
      [{ kind: 'key', key: 'accounts' }, { kind: 'each' }, { kind: 'key', key: 'iban' }],
      [{ kind: 'key', key: 'a.b' }, { kind: 'key', key: 'c' }],
      [{ kind: 'each' }],
      [{ kind: 'key', key: 'm' }, { kind: 'each' }, { kind: 'each' }],
      [{ kind: 'key', key: 'x' }, { kind: 'key', key: 'y z' }, { kind: 'key', key: '"q"' }],
    ]);
    expect(FieldPolicy.parse({ fields: ['$'] }).paths[0]!.steps).toEqual([]);
    expect(FieldPolicy.parse('{"fields":["a"]}').toJSON()).toEqual({ fields: ['a'] });
  });

  it.each([
    ['empty path', ''],
    ['leading dot', '.a'],
    ['trailing dot', 'a.'],
    ['double dot', 'a..b'],
    ['space', 'a b'],
    ['bad bracket', 'a[1]'],
    ['unterminated quote', 'a["b'],
    ['quote without bracket', 'a["b"'],
    ['__proto__', 'a.__proto__.b'],
    ['constructor', 'constructor'],
    ['quoted prototype', 'a["prototype"]'],
    ['not a string', 42],
    ['JSONPath root prefix', '$.card.number'],
    ['JSONPath wildcard', 'accounts.*.iban'],
  ])('rejects %s with ERR_POLICY_INVALID naming the path', (_n, path) => {
    expect(codeOf(() => FieldPolicy.parse({ fields: [path as string] }))).toBe('ERR_POLICY_INVALID');
  });

  it('rejects duplicates, overlaps, $ with other paths, and limits', () => {
    expect(codeOf(() => FieldPolicy.parse({ fields: ['a.b', '["a"]["b"]'] }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => FieldPolicy.parse({ fields: ['card', 'card.number'] }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => FieldPolicy.parse({ fields: ['$', 'a'] }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => FieldPolicy.parse({ fields: ['a', 'b', 'c'] }, { maxFields: 2 }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => FieldPolicy.parse({ fields: ['a.b.c.d'] }, { maxPathDepth: 3 }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => FieldPolicy.parse('{"fields": ['))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => FieldPolicy.parse({} as never))).toBe('ERR_POLICY_INVALID');
    expect(() => FieldPolicy.parse({ fields: ['ok', 'a..b'] })).toThrow(/"a\.\.b"/);
  });
});

describe('encryptFields / decryptFields', () => {
  const policy = FieldPolicy.parse({ fields: ['card.number', 'card.cvv', 'customer.ssn', 'accounts[*].iban', 'notes', 'missing.path'] });

  it('seals policy fields as tokens, leaves the rest, never mutates its input', () => {
    const doc = payment();
    const before = JSON.stringify(doc);
    const sealed = encryptFields(keys, doc, policy);
    expect(JSON.stringify(doc)).toBe(before);
    expect(isToken(sealed.card.number)).toBe(true);
    expect(isToken(sealed.card.cvv)).toBe(true);
    expect(isToken(sealed.customer.ssn)).toBe(true);
    expect(isToken(sealed.accounts[0]!.iban)).toBe(true);
    expect(isToken(sealed.accounts[1]!.iban)).toBe(true);
    expect(isToken(sealed.notes)).toBe(true);
    expect(sealed.accounts[2]).toEqual({ note: 'no iban' });
    expect(sealed.card.expiry).toBe('03/30');
    expect(sealed.customer.name).toBe('Ada');
    expect(JSON.stringify(sealed)).not.toContain('4111111111111111');
    const r = decryptFields(keys, sealed, policy);
    expect(r.doc).toEqual(doc);
    expect(r.decrypted).toEqual(['card.number', 'card.cvv', 'customer.ssn', 'accounts[0].iban', 'accounts[1].iban', 'notes']);
    expect(r.passedThrough).toEqual([]);
    const sealedBefore = JSON.stringify(sealed);
    decryptFields(keys, sealed, policy);
    expect(JSON.stringify(sealed)).toBe(sealedBefore);
  });

  it('shares one wrapped content key per document, and each token still opens alone', () => {
    const sealed = encryptFields(keys, payment(), policy);
    const eks = new Set([sealed.card.number, sealed.customer.ssn, sealed.accounts[0]!.iban].map((t) => (t as string).split('.')[1]));
    expect(eks.size).toBe(1);
    const ivs = new Set([sealed.card.number, sealed.customer.ssn, sealed.accounts[0]!.iban].map((t) => (t as string).split('.')[2]));
    expect(ivs.size).toBe(3);
    expect(Buffer.from(open(keys, sealed.card.number as string, { field: 'card.number' })).toString()).toBe('"4111111111111111"');
    const again = encryptFields(keys, payment(), policy);
    expect((again.card.number as string).split('.')[1]).not.toBe((sealed.card.number as string).split('.')[1]);
  });

  it('$ seals the whole document as one token; an object path seals its subtree', () => {
    const whole = FieldPolicy.parse({ fields: ['$'] });
    const sealed = encryptFields(keys, payment(), whole);
    expect(isToken(sealed)).toBe(true);
    expect(decryptFields(keys, sealed, whole).doc).toEqual(payment());
    const sub = encryptFields(keys, payment(), FieldPolicy.parse({ fields: ['card'] }));
    expect(isToken(sub.card)).toBe(true);
    expect(decryptFields(keys, sub, FieldPolicy.parse({ fields: ['card'] })).doc).toEqual(payment());
  });

  it('strict mode rejects plaintext at a policy path; migrate mode passes it through and reports it', () => {
    const sealed = encryptFields(keys, payment(), policy) as ReturnType<typeof payment>;
    const mixed = { ...sealed, customer: { ...sealed.customer, ssn: '078-05-1120' } };
    expect(codeOf(() => decryptFields(keys, mixed, policy))).toBe('ERR_PLAINTEXT_FIELD');
    const err = (() => {
      try {
        decryptFields(keys, mixed, policy, { mode: 'strict' });
      } catch (e) {
        return e as Error & { path: string };
      }
      throw new Error('expected ERR_PLAINTEXT_FIELD');
    })();
    expect(err.path).toBe('customer.ssn');
    expect(err.message).not.toContain('078-05-1120');
    const r = decryptFields(keys, mixed, policy, { mode: 'migrate' });
    expect(r.doc).toEqual(payment());
    expect(r.passedThrough).toEqual(['customer.ssn']);
    expect(r.decrypted).toHaveLength(5);
    const allPlain = decryptFields(keys, payment(), policy, { mode: 'migrate' });
    expect(allPlain.passedThrough).toHaveLength(6);
    expect(allPlain.doc).toEqual(payment());
  });

  it('migrate mode never passes a tampered token through as plaintext', () => {
    const sealed = encryptFields(keys, payment(), policy);
    const t = sealed.card.number as string;
    const bad = { ...sealed, card: { ...sealed.card, number: `${t.slice(0, -3)}AAA` } };
    expect(codeOf(() => decryptFields(keys, bad, policy, { mode: 'migrate' }))).toBe('ERR_DECRYPT');
  });

  it('cut-and-paste: a token moved to another field or context does not open', () => {
    const sealed = encryptFields(keys, payment(), policy, { context: { topic: 'a' } });
    const moved = { ...sealed, customer: { ...sealed.customer, ssn: sealed.card.number } };
    expect(codeOf(() => decryptFields(keys, moved, policy, { context: { topic: 'a' } }))).toBe('ERR_FIELD_MISMATCH');
    expect(codeOf(() => decryptFields(keys, sealed, policy, { context: { topic: 'b' } }))).toBe('ERR_CONTEXT_MISMATCH');
    expect(codeOf(() => decryptFields(keys, sealed, policy))).toBe('ERR_CONTEXT_MISMATCH');
    const noCtx = encryptFields(keys, payment(), policy);
    expect(codeOf(() => decryptFields(keys, noCtx, policy, { context: { topic: 'a' } }))).toBe('ERR_CONTEXT_MISMATCH');
    // Swapping two array elements keeps the path ([*]) and the context: that is allowed by design.
    const swapped = { ...sealed, accounts: [sealed.accounts[1], sealed.accounts[0], sealed.accounts[2]] };
    expect(decryptFields<ReturnType<typeof payment>>(keys, swapped, policy, { context: { topic: 'a' } }).doc.accounts[0]).toEqual(payment().accounts[1]);
  });

  it('documents with __proto__, constructor and prototype keys pollute nothing', () => {
    const text = '{"__proto__":{"polluted":"yes","card":{"number":"1"}},"constructor":{"prototype":{"polluted":"yes"}},"card":{"number":"4111","__proto__":{"polluted":"yes"}},"accounts":[{"__proto__":{"iban":"x"},"iban":"DE1"}]}';
    const doc = JSON.parse(text);
    const p = FieldPolicy.parse({ fields: ['card.number', 'accounts[*].iban', 'card'.concat('.missing')] });
    const sealed = encryptFields(keys, doc, p) as Record<string, unknown>;
    const r = decryptFields(keys, sealed, p);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(sealed)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(r.doc as object)).toBe(Object.prototype);
    expect((r.doc as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(r.doc)).toBe(text);
    expect(Object.keys(sealed)).toEqual(['__proto__', 'constructor', 'card', 'accounts']);
  });

  it('enforces document limits with ERR_LIMIT_EXCEEDED', () => {
    let deep: JsonValue = 'x';
    for (let i = 0; i < 70; i++) deep = { a: deep };
    expect(codeOf(() => encryptFields(keys, deep, policy))).toBe('ERR_LIMIT_EXCEEDED');
    expect(codeOf(() => encryptFields(keys, { a: 1, b: 2, c: 3 }, policy, { limits: { maxNodes: 3 } }))).toBe('ERR_LIMIT_EXCEEDED');
    const many = { accounts: Array.from({ length: 20 }, () => ({ iban: 'x' })) };
    expect(codeOf(() => encryptFields(keys, many, policy, { limits: { maxTokens: 10 } }))).toBe('ERR_LIMIT_EXCEEDED');
    const sealed = encryptFields(keys, many, policy);
    expect(codeOf(() => decryptFields(keys, sealed, policy, { limits: { maxTokens: 10 } }))).toBe('ERR_LIMIT_EXCEEDED');
  });

  it('a token of another key set fails with ERR_KEY_UNKNOWN and names the path, not the value', () => {
    const other = encryptFields(KeySet.generate({ kid: 'other' }), payment(), policy);
    try {
      decryptFields(keys, other, policy);
      throw new Error('expected failure');
    } catch (err) {
      expect((err as { code: string }).code).toBe('ERR_KEY_UNKNOWN');
      expect((err as Error).message).toContain('card.number');
    }
  });

  it('field IVs are fresh across random-pool refills (600 tokens, none repeated)', () => {
    const many = FieldPolicy.parse({ fields: ['v[*]'] });
    const doc = { v: Array.from({ length: 600 }, (_, i) => i) };
    const sealed = encryptFields<unknown>(keys, doc, many) as { v: string[] };
    const ivs = sealed.v.map((t) => t.split('.')[2]!);
    expect(ivs.every((iv) => iv.length === 16)).toBe(true);
    expect(new Set(ivs).size).toBe(600);
    expect(decryptFields(keys, sealed, many).doc).toEqual(doc);
  });

  // decryptFields reuses the previous token's parsed header and encrypted key
  // when their text is the same: a neighbour that differs must still be decoded and checked.
  it('array neighbours sharing a header and content key are still checked one by one', () => {
    const sealed = encryptFields(keys, payment(), policy) as ReturnType<typeof payment>;
    const [h, ek, iv, ct, tag] = (sealed.accounts[1]!.iban as unknown as string).split('.') as [string, string, string, string, string];
    const withSecond = (token: string) => {
      const d = structuredClone(sealed);
      (d.accounts[1] as { iban: string }).iban = token;
      return d;
    };
    const code = (d: unknown) => codeOf(() => decryptFields(keys, d, policy));
    // An encrypted key of the same length with one character changed: unwraps to nothing.
    const ek2 = (ek[0] === 'A' ? 'B' : 'A') + ek.slice(1);
    expect(code(withSecond([h, ek2, iv, ct, tag].join('.')))).toBe('ERR_DECRYPT');
    // Not base64url, same length.
    expect(code(withSecond([h, `*${ek.slice(1)}`, iv, ct, tag].join('.')))).toBe('ERR_TOKEN_MALFORMED');
    // The encrypted key of another document: a valid key, but not this token's.
    const other = encryptFields(keys, payment(), policy) as ReturnType<typeof payment>;
    expect(code(withSecond([h, (other.accounts[1]!.iban as unknown as string).split('.')[1], iv, ct, tag].join('.')))).toBe('ERR_DECRYPT');
    // A valid header of the same length that is not the neighbour's (members reordered): it is
    // parsed on its own, and since the header is the AAD, authentication fails.
    const members = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, string>;
    const h2 = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(members).reverse()))).toString('base64url');
    expect(h2.length).toBe(h.length);
    expect(h2).not.toBe(h);
    expect(code(withSecond([h2, ek, iv, ct, tag].join('.')))).toBe('ERR_DECRYPT');
    // The untouched document still opens.
    expect(decryptFields(keys, sealed, policy).doc).toEqual(payment());
  });

  // decryptFields also remembers the last header seen at each path, from one document to the next.
  it('a header remembered from an earlier document is still checked against this call\'s options', () => {
    const first = encryptFields(keys, payment(), policy);
    expect(decryptFields(keys, first, policy).decrypted).toContain('card.number');
    const next = encryptFields(keys, payment(), policy);
    expect(codeOf(() => decryptFields(keys, next, policy, { token: { algorithms: ['dir'] } }))).toBe('ERR_ALG_UNSUPPORTED');
    expect(codeOf(() => decryptFields(keys, next, policy, { token: { maxHeaderLength: 40 } }))).toBe('ERR_TOKEN_MALFORMED');
    // The same path in the next document with a different (reordered) header: parsed afresh, fails authentication.
    const [h, ...rest] = (next as ReturnType<typeof payment>).card.number.split('.');
    const members = JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, string>;
    const reordered = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(members).reverse()))).toString('base64url');
    const tampered = structuredClone(next) as ReturnType<typeof payment>;
    tampered.card.number = [reordered, ...rest].join('.');
    expect(codeOf(() => decryptFields(keys, tampered, policy))).toBe('ERR_DECRYPT');
    expect(decryptFields(keys, next, policy).doc).toEqual(payment());
  });
});

// ---- properties over arbitrary JSON documents and policies ----

const keyArb = fc.oneof(fc.constantFrom('a', 'b', 'c', 'card', 'x.y', '__proto__', 'constructor', 'toString', ''), fc.string({ maxLength: 4 }));
const docArb = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('obj'), tie('arr')),
  leaf: fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
  obj: fc.dictionary(keyArb, tie('value'), { maxKeys: 5 }),
  arr: fc.array(tie('value'), { maxLength: 4 }),
})).value;

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const seg = (k: string) => (/^[^.[\]"\s]+$/.test(k) && k !== '$' && k !== '*' ? k : `[${JSON.stringify(k)}]`);
const pathArb = fc.array(fc.oneof(keyArb.filter((k) => !FORBIDDEN.has(k)).map((k) => ({ k })), fc.constant({ each: true })), { minLength: 1, maxLength: 4 }).map((steps) =>
  steps.map((s, i) => ('each' in s ? '[*]' : i === 0 || seg(s.k).startsWith('[') ? seg(s.k) : `.${seg(s.k)}`)).join(''),
);
const policyArb = fc.uniqueArray(pathArb, { maxLength: 5 }).map((fields) => {
  try {
    return FieldPolicy.parse({ fields });
  } catch {
    return FieldPolicy.parse({ fields: fields.slice(0, 1) });
  }
});

/** Replaces every location the policy reaches with a marker, in a structural copy. */
function mask(doc: unknown, policy: FieldPolicy): unknown {
  const box = { v: JSON.parse(JSON.stringify(doc)) as unknown };
  for (const p of policy.paths) {
    const go = (holder: unknown, i: number, set: (v: unknown) => void): void => {
      if (i === p.steps.length) {
        set('<sealed>');
        return;
      }
      const s = p.steps[i]!;
      if (s.kind === 'each') {
        if (Array.isArray(holder)) holder.forEach((v, j) => go(v, i + 1, (x) => (holder[j] = x)));
      } else if (holder && typeof holder === 'object' && !Array.isArray(holder) && Object.prototype.hasOwnProperty.call(holder, s.key)) {
        const h = holder as Record<string, unknown>;
        go(h[s.key], i + 1, (x) => Object.defineProperty(h, s.key, { value: x, enumerable: true, writable: true, configurable: true }));
      }
    };
    go(box.v, 0, (x) => (box.v = x));
  }
  return box.v;
}

describe('properties', () => {
  it('decrypt(encrypt(doc)) deep-equals doc; policy paths hold tokens; nothing else changed', () => {
    fc.assert(
      fc.property(docArb, policyArb, fc.constantFrom('node' as const, 'noble' as const), (raw, policy, engine) => {
        const doc = JSON.parse(JSON.stringify(raw)) as JsonValue;
        const text = JSON.stringify(doc);
        let sealed: JsonValue;
        try {
          sealed = encryptFields(keys, doc, policy, { engine, context: { topic: 'p' } });
        } catch (err) {
          // A member of the wrong shape on a policy path: refused whole, never half-sealed.
          expect((err as { code?: string }).code).toBe('ERR_PLAINTEXT_FIELD');
          expect(JSON.stringify(doc)).toBe(text);
          return;
        }
        expect(JSON.stringify(doc)).toBe(text);
        const r = decryptFields(keys, sealed, policy, { engine, context: { topic: 'p' } });
        expect(JSON.stringify(r.doc)).toBe(text);
        // Every reached location is a token; everything else is identical.
        const masked = mask(sealed, policy);
        expect(JSON.stringify(masked)).toBe(JSON.stringify(mask(doc, policy)));
        const tokenCount = r.decrypted.length;
        const occurrences = (JSON.stringify(sealed).match(/eyJ[\w-]*\.[\w-]*\.[\w-]{16}\.[\w-]*\.[\w-]{22}/g) ?? []).length;
        expect(occurrences).toBeGreaterThanOrEqual(tokenCount);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 400 },
    );
  });

  it('migrate mode on a plaintext document passes every reached path through unchanged', () => {
    fc.assert(
      fc.property(docArb, policyArb, (raw, policy) => {
        const doc = JSON.parse(JSON.stringify(raw)) as JsonValue;
        const plainish = JSON.stringify(doc).includes('eyJ');
        fc.pre(!plainish);
        const r = decryptFields(keys, doc, policy, { mode: 'migrate' });
        expect(JSON.stringify(r.doc)).toBe(JSON.stringify(doc));
        expect(r.decrypted).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('documents follow JSON semantics', () => {
  it('Date becomes its ISO string, undefined members are dropped, array holes become null', () => {
    const policy = FieldPolicy.parse({ fields: ['when', 'list[*]'] });
    const doc = { when: new Date(Date.UTC(2026, 10, 22)), gone: undefined, list: [1, undefined] } as unknown as JsonValue;
    const sealed = encryptFields(keys, doc, policy);
    const r = decryptFields(keys, sealed, policy);
    expect(r.doc).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(r.doc).toEqual({ when: '2026-11-22T00:00:00.000Z', list: [1, null] });
    expect(codeOf(() => encryptFields(keys, { n: 10n } as unknown as JsonValue, policy))).toBe('ERR_POLICY_INVALID');
  });
});

describe('field plaintext text decoding', () => {
  it('a value containing U+FFFD round-trips; a field token whose plaintext is not UTF-8 is ERR_TOKEN_MALFORMED', () => {
    const policy = FieldPolicy.parse({ fields: ['a'] });
    for (const engine of ['node', 'noble'] as const) {
      const doc = { a: 'replacement \uFFFD char and ✓ and 😀' };
      expect(decryptFields(keys, encryptFields(keys, doc, policy, { engine }), policy, { engine }).doc).toEqual(doc);
      const bad = seal(keys, Uint8Array.from([0x22, 0xff, 0xfe, 0x22]), { field: 'a', engine });
      expect(codeOf(() => decryptFields(keys, { a: bad }, policy, { engine }))).toBe('ERR_TOKEN_MALFORMED');
    }
  });
});
