/**
 * Interop with independent Python implementations (installed by ./dev setup):
 * jwcrypto opens wireseal's tokens (shared-key and public-key ones) and makes
 * tokens wireseal opens; a small reader written from docs/format.md alone
 * agrees with wireseal on every vector and on tokens made at test time, and
 * a second one for audience documents (record binding, keyrings, public-key
 * field tokens) does too; PyCryptodome's AES-CBC snippet interoperates with
 * the legacy reader and writer.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Context, FieldPolicy as FieldPolicyType, JsonValue, SealOptions } from '@wireseal/core';
import { contextDigest, decryptFields, encryptFields, FieldPolicy, KeySet, open, openToken, PrivateKeySet, PublicKeySet, seal } from '@wireseal/core';
import { legacyCbcReader, openLegacyCbc, sealLegacyCbcInsecure } from '../src/legacy.ts';
import type { Vectors } from '../scripts/vectors.ts';
import { locations } from '../scripts/vectors.ts';
import { codeOf, td, te } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PY_DIR = `${ROOT}tooling/python/`;
const VECTOR_TEXT = readFileSync(fileURLToPath(new URL('./vectors/wireseal-vectors.json', import.meta.url)), 'utf8');
const V = JSON.parse(VECTOR_TEXT) as Vectors;
const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function python(): string {
  const py = process.env.WIRESEAL_PYTHON;
  if (!py || !existsSync(py)) {
    throw new Error(
      'WIRESEAL_PYTHON is not set or does not exist: the Python interop peers (jwcrypto, cryptography, pycryptodome) ' +
        'are installed by `./dev setup`; then `source scripts/env.sh` (or run the tests through ./dev test).',
    );
  }
  return py;
}

/** Runs a script from tooling/python with `input` as JSON on stdin; resolves its JSON stdout. */
function runPy<T>(script: string, args: string[], input: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(python(), [`${PY_DIR}${script}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited ${code}: ${Buffer.concat(err).toString().slice(-2000)}`));
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as T);
      } catch (e) {
        reject(e as Error);
      }
    });
    child.stdin.end(typeof input === 'string' ? input : JSON.stringify(input));
  });
}

type JwcOpen = Record<string, { plaintext: string; header: Record<string, unknown> } | { error: string }>;
type ReaderResult = { plaintext?: string; value?: JsonValue; code?: string };
interface ReaderOutput {
  contexts: Record<string, string>;
  tokens: Record<string, ReaderResult>;
  negativeTokens: Record<string, ReaderResult>;
  fields: Record<string, ReaderResult>;
  negativeFields: Record<string, ReaderResult>;
  keySets: Record<string, ReaderResult>;
}

/** Every (policy path, concrete path, plaintext value, token) of a sealed document. */
function fieldTokens(policy: FieldPolicyType, doc: unknown, sealed: unknown): Array<{ path: string; at: string; value: JsonValue; token: string }> {
  return policy.paths.flatMap((p) => {
    const plain = locations(doc, p);
    const toks = locations(sealed, p);
    return plain.map((x, i) => ({ path: p.text, at: x.at, value: x.value as JsonValue, token: toks[i]!.value as string }));
  });
}

// Test-time material: fresh random keys, so nothing here is a fixed vector.
const keys = KeySet.generate({ kid: 'live-1' }).addKey({ kid: 'live-0' });
const jwks = keys.toJwks();
const jwkOf = (kid: string) => jwks.keys.find((k) => k.kid === kid)!;
const policy = FieldPolicy.parse({ fields: ['card.number', 'card.cvv', 'accounts[*].iban', '["a.b"]', 'profile', 'tags[*]'] });
const doc = {
  id: 'p-1',
  card: { number: '4111111111111111', cvv: '737', expiry: '12/29' },
  accounts: [{ iban: 'DE89370400440532013000' }, { iban: 'FR1420041010050500013M02606' }],
  'a.b': { x: [1, 2.5, null, true] },
  profile: { name: 'Grüße 😀', born: 1970 },
  tags: ['vip', 7, false, null, { k: 'v' }],
};
const sealCases: Array<{ id: string; opts: SealOptions; plaintext: Uint8Array }> = [
  { id: 'a256kw', opts: {}, plaintext: te.encode('hello from wireseal') },
  { id: 'dir', opts: { alg: 'dir' }, plaintext: te.encode('dir token') },
  { id: 'whole-http', opts: { cty: 'application/json', iat: true }, plaintext: te.encode('{"a":1}') },
  { id: 'field-context', opts: { field: 'accounts[*].iban', context: { topic: 'payments.v1', tenant: 'ß-😀' } }, plaintext: te.encode('"DE89"') },
  { id: 'dir-kafka', opts: { alg: 'dir', cty: 'application/json', context: { topic: 'orders' } }, plaintext: te.encode('{"e":"paid"}') },
  { id: 'empty', opts: {}, plaintext: new Uint8Array(0) },
  { id: 'binary-64k', opts: { alg: 'dir' }, plaintext: new Uint8Array(Buffer.alloc(65_536, 0).map((_, i) => (i * 7919) & 255)) },
];

beforeAll(() => {
  python();
});

describe('jwcrypto opens wireseal tokens', () => {
  it('every positive vector and every field-vector token', async () => {
    const cases = [
      ...V.tokens.map((v) => ({ id: v.name, keySet: v.keySet, token: v.token, want: v.plaintext, header: v.header })),
      ...V.fields.flatMap((f) =>
        f.tokens.map((t) => ({ id: `${f.name}/${t.at}`, keySet: f.keySet, token: t.token, want: b64u(te.encode(JSON.stringify(t.value))), header: undefined })),
      ),
    ];
    const res = await runPy<JwcOpen>('jwcrypto_interop.py', ['open'], { keySets: V.keySets, cases });
    for (const c of cases) {
      const r = res[c.id]!;
      expect(r, c.id).toHaveProperty('plaintext');
      if ('plaintext' in r) {
        expect(r.plaintext, c.id).toBe(c.want);
        if (c.header) expect(r.header, c.id).toEqual(c.header);
      }
    }
    expect(cases.length).toBe(V.tokens.length + V.fields.reduce((n, f) => n + f.tokens.length, 0));
  });

  it('and rejects every tampered vector (the cryptographic negatives)', async () => {
    const cases = V.negative.tokens.filter((v) => v.code === 'ERR_DECRYPT').map((v) => ({ id: v.name, keySet: v.keySet, token: v.token }));
    const res = await runPy<JwcOpen>('jwcrypto_interop.py', ['open'], { keySets: V.keySets, cases });
    for (const c of cases) expect(res[c.id], c.id).toHaveProperty('error');
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });

  it('every audience-vector token, each with its audience\'s key: shared A256KW, X25519 and P-256 ECDH-ES+A256KW, RSA-OAEP-256', async () => {
    const A = V.audiences;
    const cases = A.fields.flatMap((f) => f.tokens.map((t) => ({ id: `${f.name}/${t.at}`, keySet: f.keyring[t.audience]!, token: t.token, t })));
    const res = await runPy<JwcOpen>('jwcrypto_interop.py', ['open'], { keySets: A.keySets, cases });
    for (const c of cases) {
      const r = res[c.id]!;
      if (!('plaintext' in r)) throw new Error(`${c.id}: jwcrypto failed: ${r.error}`);
      expect(td.decode(Buffer.from(r.plaintext, 'base64url')), c.id).toBe(JSON.stringify(c.t.value));
      expect(r.header, c.id).toMatchObject({ wsf: c.t.path, wsc: c.t.wsc });
    }
    expect(new Set(Object.values(res).map((r) => ('header' in r ? r.header.alg : r.error)))).toEqual(new Set(['A256KW', 'ECDH-ES+A256KW', 'RSA-OAEP-256']));
    expect(cases).toHaveLength(21);
  });

  it('and rejects the audience negatives a JOSE library can see; the moved and swapped tokens open (wsc is wireseal\'s check)', async () => {
    const A = V.audiences;
    const cases = A.negative.map((n) => ({ id: n.name, keySet: n.keyring[n.audience]!, token: n.token }));
    const res = await runPy<JwcOpen>('jwcrypto_interop.py', ['open'], { keySets: A.keySets, cases });
    for (const n of A.negative) {
      if (n.code === 'ERR_CONTEXT_MISMATCH') expect(res[n.name], n.name).toHaveProperty('plaintext');
      else expect(res[n.name], n.name).toHaveProperty('error');
    }
  });

  it.each(['node', 'noble'] as const)('tokens and field documents wireseal makes now (%s engine)', async (engine) => {
    const made = sealCases.map((c) => ({ ...c, token: seal(keys, c.plaintext, { ...c.opts, engine }) }));
    const context = { topic: 'payments.v1' };
    const sealedKw = encryptFields(keys, doc, policy, { context, engine });
    const sealedDir = encryptFields(keys, doc, policy, { alg: 'dir', engine });
    const fieldCases = [
      ...fieldTokens(policy, doc, sealedKw).map((t) => ({ ...t, id: `kw/${t.at}`, wsc: contextDigest(context) })),
      ...fieldTokens(policy, doc, sealedDir).map((t) => ({ ...t, id: `dir/${t.at}`, wsc: undefined })),
    ];
    expect(fieldCases.length).toBe(2 * 11);
    const res = await runPy<JwcOpen>('jwcrypto_interop.py', ['open'], {
      keySets: { live: jwks },
      cases: [...made.map((m) => ({ id: m.id, keySet: 'live', token: m.token })), ...fieldCases.map((f) => ({ id: f.id, keySet: 'live', token: f.token }))],
    });
    for (const m of made) {
      const r = res[m.id]!;
      if (!('plaintext' in r)) throw new Error(`${m.id}: jwcrypto failed: ${r.error}`);
      expect(Buffer.from(r.plaintext, 'base64url').equals(Buffer.from(m.plaintext)), m.id).toBe(true);
      expect(r.header.kid).toBe('live-1');
      expect(r.header.wsf).toBe(m.opts.field);
      expect(r.header.wsc).toBe(m.opts.context ? contextDigest(m.opts.context) : undefined);
    }
    for (const f of fieldCases) {
      const r = res[f.id]!;
      if (!('plaintext' in r)) throw new Error(`${f.id}: jwcrypto failed: ${r.error}`);
      expect(JSON.parse(td.decode(Buffer.from(r.plaintext, 'base64url'))), f.id).toEqual(f.value);
      expect(r.header.wsf, f.id).toBe(f.path);
      expect(r.header.wsc, f.id).toBe(f.wsc);
    }
  });
});

describe('jwcrypto opens tokens made with data-key reuse on', () => {
  it('field documents and whole values that share one wrapped content key are each a standalone JWE', async () => {
    const reuse = { maxTokens: 1000 };
    const a = encryptFields(keys, doc, policy, { context: { topic: 'reuse' }, reuseContentKey: reuse });
    const b = encryptFields(keys, doc, policy, { context: { topic: 'reuse' }, reuseContentKey: reuse });
    const whole = [seal(keys, 'whole one', { reuseContentKey: reuse }), seal(keys, 'whole two', { reuseContentKey: reuse })];
    const cases = [...fieldTokens(policy, doc, a).map((t) => ({ ...t, id: `a/${t.at}` })), ...fieldTokens(policy, doc, b).map((t) => ({ ...t, id: `b/${t.at}` }))];
    // Two documents, one encrypted key (the reuse under test), a fresh IV per token.
    expect(new Set(cases.map((c) => c.token.split('.')[1])).size).toBe(1);
    expect(new Set(cases.map((c) => c.token.split('.')[2])).size).toBe(cases.length);
    expect(new Set(whole.map((t) => t.split('.')[1])).size).toBe(1);
    const res = await runPy<JwcOpen>('jwcrypto_interop.py', ['open'], {
      keySets: { live: jwks },
      cases: [...cases.map((c) => ({ id: c.id, keySet: 'live', token: c.token })), ...whole.map((token, i) => ({ id: `whole/${i}`, keySet: 'live', token }))],
    });
    for (const c of cases) {
      const r = res[c.id]!;
      if (!('plaintext' in r)) throw new Error(`${c.id}: jwcrypto failed: ${r.error}`);
      expect(JSON.parse(td.decode(Buffer.from(r.plaintext, 'base64url'))), c.id).toEqual(c.value);
      expect(r.header.wsf, c.id).toBe(c.path);
    }
    expect(whole.map((_, i) => { const r = res[`whole/${i}`]!; return 'plaintext' in r ? Buffer.from(r.plaintext, 'base64url').toString() : r.error; })).toEqual(['whole one', 'whole two']);
  });
});

describe('wireseal opens jwcrypto tokens', () => {
  const pyCases: Array<{ id: string; alg: string; kid: string; header: Record<string, unknown>; context?: Record<string, string>; text: string }> = [
    { id: 'a256kw', alg: 'A256KW', kid: 'live-1', header: {}, text: 'from python' },
    { id: 'dir', alg: 'dir', kid: 'live-1', header: {}, text: 'from python, dir' },
    { id: 'old-key', alg: 'A256KW', kid: 'live-0', header: {}, text: 'decrypt-only key' },
    { id: 'whole-http', alg: 'A256KW', kid: 'live-1', header: { cty: 'application/json', iat: Math.floor(Date.now() / 1000) }, text: '{"ok":true}' },
    { id: 'field', alg: 'A256KW', kid: 'live-1', header: { wsf: 'card.number' }, text: '"4111111111111111"' },
    { id: 'field-context', alg: 'dir', kid: 'live-1', header: { wsf: 'accounts[*].iban' }, context: { topic: 'payments.v1', tenant: '😀～é' }, text: '"DE89"' },
    { id: 'whole-context', alg: 'A256KW', kid: 'live-1', header: { cty: 'text/plain' }, context: { topic: 'orders' }, text: 'kafka value' },
  ];
  let tokens: Record<string, string> = {};

  beforeAll(async () => {
    tokens = await runPy<Record<string, string>>('jwcrypto_interop.py', ['seal'], {
      cases: pyCases.map((c) => ({ id: c.id, alg: c.alg, jwk: jwkOf(c.kid), header: { kid: c.kid, ...c.header }, plaintext: b64u(te.encode(c.text)), ...(c.context ? { context: c.context } : {}) })),
    });
  });

  it.each(['node', 'noble'] as const)('A256KW and dir tokens, with cty, iat, wsf and a wsc computed in Python (%s engine)', (engine) => {
    for (const c of pyCases) {
      const token = tokens[c.id]!;
      const opened = openToken(keys, token, {
        engine,
        ...('iat' in c.header ? { maxAgeSeconds: 300 } : {}),
        ...('wsf' in c.header ? { field: c.header.wsf as string } : {}),
        ...(c.context ? { context: c.context } : {}),
      });
      expect(td.decode(opened.plaintext), c.id).toBe(c.text);
      expect(opened.header.alg).toBe(c.alg);
      expect(opened.header.kid).toBe(c.kid);
      if (c.context) expect(opened.header.wsc).toBe(contextDigest(c.context));
    }
  });

  it('and applies the bindings to them: wrong context, wrong field, tampering', () => {
    expect(codeOf(() => open(keys, tokens['field-context']!, { field: 'accounts[*].iban', context: { topic: 'payments.v2', tenant: '😀～é' } }))).toBe('ERR_CONTEXT_MISMATCH');
    expect(codeOf(() => open(keys, tokens['field']!, { field: 'card.cvv' }))).toBe('ERR_FIELD_MISMATCH');
    expect(codeOf(() => open(keys, tokens['whole-context']!))).toBe('ERR_CONTEXT_MISMATCH');
    const t = tokens['a256kw']!.split('.');
    t[3] = Buffer.from(Buffer.from(t[3]!, 'base64url').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64url');
    expect(codeOf(() => open(keys, t.join('.')))).toBe('ERR_DECRYPT');
  });

  it('a field document assembled from jwcrypto tokens decrypts with decryptFields', () => {
    const sealed = { card: { number: tokens['field']!, expiry: '12/29' } };
    const r = decryptFields(keys, sealed, FieldPolicy.parse(['card.number']));
    expect(r.doc).toEqual({ card: { number: '4111111111111111', expiry: '12/29' } });
    expect(r.decrypted).toEqual(['card.number']);
  });
});

describe('a reader written from docs/format.md alone (tooling/python/reader.py)', () => {
  it('agrees with wireseal on every vector', async () => {
    const out = await runPy<ReaderOutput>('reader.py', [], VECTOR_TEXT);
    for (const c of V.contexts) expect(out.contexts[c.name], c.name).toBe(c.wsc);
    for (const v of V.tokens) expect(out.tokens[v.name], v.name).toEqual({ plaintext: v.plaintext });
    for (const v of V.negative.tokens) expect(out.negativeTokens[v.name], v.name).toEqual({ code: v.code });
    for (const f of V.fields) for (const t of f.tokens) expect(out.fields[`${f.name}/${t.at}`], `${f.name}/${t.at}`).toEqual({ value: t.value });
    for (const v of V.negative.fields.filter((x) => x.token !== undefined)) expect(out.negativeFields[v.name], v.name).toEqual({ code: v.code });
    for (const v of V.negative.keySets) expect(out.keySets[v.name], v.name).toEqual({ code: v.code });
    expect(Object.keys(out.negativeTokens).length).toBe(V.negative.tokens.length);
    expect(Object.keys(out.fields).length).toBe(V.fields.reduce((n, f) => n + f.tokens.length, 0));
  });

  it('agrees on wsc and opens tokens for random contexts and values made now', async () => {
    const samples = fc.sample(
      fc.record({
        context: fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 24 }), { maxKeys: 6 }),
        value: fc.jsonValue({ maxDepth: 3 }),
        alg: fc.constantFrom('A256KW' as const, 'dir' as const),
        path: fc.constantFrom('a', 'card.number', 'accounts[*].iban', '["x.y"].z', '$'),
      }),
      { numRuns: 150, seed: 20261122 },
    );
    const jsonValue = (v: unknown): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;
    const vectors = {
      keySets: { live: jwks },
      contexts: samples.map((s, i) => ({ name: `c${i}`, context: s.context })),
      fields: samples.map((s, i) => ({
        name: `f${i}`,
        keySet: 'live',
        context: s.context,
        tokens: [{ path: s.path, at: s.path, value: jsonValue(s.value), token: seal(keys, JSON.stringify(s.value), { alg: s.alg, field: s.path, context: s.context as Context }) }],
      })),
    };
    const out = await runPy<ReaderOutput>('reader.py', [], vectors);
    samples.forEach((s, i) => {
      expect(out.contexts[`c${i}`], JSON.stringify(s.context)).toBe(contextDigest(s.context));
      expect(out.fields[`f${i}/${s.path}`], `sample ${i}`).toEqual({ value: jsonValue(s.value) });
    });
  });
});

interface AudienceReaderOutput {
  fields: Record<string, { doc: JsonValue; decrypted: string[]; sealed: string[]; wsc: Record<string, string>; partial: { doc: JsonValue; decrypted: string[]; sealed: string[] } }>;
  negative: Record<string, { code: string | null }>;
  negativeTokens: Record<string, { code: string | null; context: Record<string, string> }>;
}

describe('a reader for audience documents written from docs/format.md §6.6–6.8 (tooling/python/audience_reader.py)', () => {
  it('decrypts every audience vector, recomputing each token\'s bound context and wsc from the document itself', async () => {
    const out = await runPy<AudienceReaderOutput>('audience_reader.py', [], VECTOR_TEXT);
    for (const f of V.audiences.fields) {
      const r = out.fields[f.name]!;
      expect(r.doc, f.name).toEqual(f.doc);
      expect(r.decrypted, f.name).toEqual(f.tokens.map((t) => t.at));
      expect(r.wsc, f.name).toEqual(Object.fromEntries(f.tokens.map((t) => [t.at, t.wsc])));
      // A pii-only reader: the pci tokens stay exactly as they were.
      expect(r.partial.decrypted, f.name).toEqual(f.partial.decrypted);
      expect(r.partial.sealed, f.name).toEqual(f.partial.sealed);
      const doc = r.partial.doc as { card: { number: string } };
      expect(doc.card.number).toBe((f.sealed as typeof doc).card.number);
    }
    expect(Object.keys(out.fields)).toHaveLength(4);
  });

  it('rejects every negative audience document with its code, whole and token by token, with the expected context computed in Python', async () => {
    const out = await runPy<AudienceReaderOutput>('audience_reader.py', [], VECTOR_TEXT);
    for (const n of V.audiences.negative) {
      expect(out.negative[n.name], n.name).toEqual({ code: n.code });
      expect(out.negativeTokens[n.name], n.name).toEqual({ code: n.code, context: n.expectedContext });
    }
    expect(Object.keys(out.negative)).toHaveLength(6);
  });

  it('opens documents wireseal seals now under fresh keys of every kind, bound per record and per array element', async () => {
    const privs = { x: PrivateKeySet.generate({ kid: 'x', type: 'X25519' }), p: PrivateKeySet.generate({ kid: 'p', type: 'P-256' }), r: PrivateKeySet.generate({ kid: 'r', type: 'RSA', bits: 2048 }) };
    const pii = KeySet.generate({ kid: 'pii-live' });
    const policyJson = { audiences: { pci: ['card.number', 'rows[*].v'], pii: ['customer'] }, bind: ['id', 'rows[*].k', 'flag'] };
    const livePolicy = FieldPolicy.parse(policyJson);
    const liveDoc = { id: 17, flag: true, card: { number: '4111' }, customer: { name: 'Grüße 😀', n: [1, null] }, rows: [{ k: 'a"b', v: 1.5 }, { k: -3, v: { z: 'é' } }] };
    const fields = Object.entries(privs).map(([name, set]) => {
      const sealed = encryptFields({ pci: PublicKeySet.of(set), pii }, liveDoc, livePolicy, { context: { topic: 'live' } });
      return { name, policy: policyJson, keyring: { pci: name, pii: 'pii' }, context: { topic: 'live' }, doc: liveDoc, sealed, partial: { keyring: { pii: 'pii' } } };
    });
    const out = await runPy<AudienceReaderOutput>('audience_reader.py', [], {
      audiences: { keySets: { ...Object.fromEntries(Object.entries(privs).map(([n, s]) => [n, s.toPrivateJwks()])), pii: pii.toJwks() }, fields, negative: [] },
    });
    for (const f of fields) {
      expect(out.fields[f.name]!.doc, f.name).toEqual(liveDoc);
      expect(out.fields[f.name]!.decrypted).toEqual(['card.number', 'rows[0].v', 'rows[1].v', 'customer']);
      const sealed = f.sealed as unknown as { rows: Array<{ v: string }> };
      expect(out.fields[f.name]!.wsc['rows[1].v']).toBe(JSON.parse(Buffer.from(sealed.rows[1]!.v.split('.')[0]!, 'base64url').toString()).wsc);
      expect(out.fields[f.name]!.wsc['rows[1].v']).toBe(contextDigest({ topic: 'live', $id: '17', $flag: 'true', '$rows[*].k': '-3' }));
    }
  });
});

describe('legacy AES-CBC interop with PyCryptodome', () => {
  const keysByLen = { 16: te.encode('0123456789abcdef'), 24: new Uint8Array(24).map((_, i) => i * 11), 32: te.encode('a 32-character ASCII shared key!') };
  const texts = ['', 'x', '15 bytes long..', '16 bytes long...', '17 bytes long....', '4111111111111111', JSON.stringify({ iban: 'DE89', name: 'Grüße 😀', n: [1, null] }), 'long '.repeat(300)];
  const cases = Object.entries(keysByLen).flatMap(([len, key]) => texts.map((plaintext, i) => ({ id: `k${len}-t${i}`, key: hex(key), keyBytes: key, plaintext })));

  it.each(['node', 'noble'] as const)('values PyCryptodome encrypts open with the legacy reader (%s engine)', async (engine) => {
    const values = await runPy<Record<string, string>>('legacy_cbc.py', ['encrypt'], { cases });
    for (const c of cases) {
      const value = values[c.id]!;
      expect(td.decode(openLegacyCbc(c.keyBytes, value, { engine })), c.id).toBe(c.plaintext);
      const reader = legacyCbcReader({ key: c.keyBytes, engine, paths: ['note'] });
      const r = decryptFields(keys, { note: value, other: 'plain' }, FieldPolicy.parse(['note', 'other']), { mode: 'migrate', legacy: [reader] });
      expect(r.doc, c.id).toEqual({ note: c.plaintext, other: 'plain' });
      expect(r.legacy).toEqual([{ path: 'note', reader: 'legacy-aes-cbc' }]);
    }
    expect(cases.length).toBe(24);
  });

  it.each(['node', 'noble'] as const)("the insecure legacy writer's output decrypts in PyCryptodome (%s engine)", async (engine) => {
    const values = cases.map((c) => ({ id: c.id, key: c.key, value: sealLegacyCbcInsecure(c.keyBytes, c.plaintext, { insecureLegacy: true, engine }) }));
    const res = await runPy<Record<string, { plaintext?: string; error?: string }>>('legacy_cbc.py', ['decrypt'], { cases: values });
    for (const c of cases) expect(res[c.id], c.id).toEqual({ plaintext: c.plaintext });
  });

  it('agrees on the legacy vectors: same value from the same IV; rejected values fail there too', async () => {
    const enc = await runPy<Record<string, string>>('legacy_cbc.py', ['encrypt'], {
      cases: V.legacy.positive.map((v) => ({ id: v.name, key: v.key, iv: v.iv, plaintext: v.plaintext })),
    });
    for (const v of V.legacy.positive) expect(enc[v.name], v.name).toBe(v.value);
    const dec = await runPy<Record<string, { plaintext?: string; error?: string }>>('legacy_cbc.py', ['decrypt'], {
      cases: V.legacy.rejected.filter((v) => v.parse === 'string').map((v) => ({ id: v.name, key: v.key, value: v.value })),
    });
    for (const v of V.legacy.rejected.filter((x) => x.parse === 'string')) expect(dec[v.name], v.name).toHaveProperty('error');
  });
});
