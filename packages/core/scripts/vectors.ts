/**
 * Builds the wireseal conformance vectors (test/vectors/wireseal-vectors.json)
 * deterministically: every key, content key and IV is the first bytes of
 * SHA-256("wireseal-vectors/" + label), no timestamps, no randomness. The same
 * function runs in the conformance test, which asserts the checked-in file is
 * exactly what it produces (so CI proves the file is current).
 *
 * Run: node --conditions=@wireseal/source scripts/gen-vectors.ts [--check]
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { encode as b64u, encodeString } from '../src/base64url.ts';
import { sealWith } from '../src/token/content.ts';
import type { Context } from '../src/context.ts';
import { contextDigest } from '../src/context.ts';
import type { Engine, EngineName } from '../src/engine.ts';
import { getEngine } from '../src/engine.ts';
import type { JsonValue } from '../src/fields.ts';
import { encryptFields } from '../src/fields.ts';
import type { EncodedHeader, SymmetricAlg } from '../src/token/header.ts';
import { encodeHeader } from '../src/token/header.ts';
import type { Jwks } from '../src/keyset.ts';
import { KeySet } from '../src/keyset.ts';
import { sealLegacyCbcInsecure } from '../src/legacy.ts';
import type { FieldPath } from '../src/policy.ts';
import { FieldPolicy } from '../src/policy.ts';
import type { AudienceVectors } from './audience-vectors.ts';
import { generateAudienceVectors } from './audience-vectors.ts';

/** Options a vector is opened with (what `open` and the readers take). */
export interface VectorOpen {
  field?: string;
  context?: Record<string, string>;
  maxAgeSeconds?: number;
  /** The reader's clock, seconds since the epoch (only with maxAgeSeconds). */
  nowSeconds?: number;
}

/** A token that opens. */
export interface PositiveTokenVector {
  name: string;
  description: string;
  keySet: string;
  token: string;
  header: Record<string, unknown>;
  cek?: string;
  iv: string;
  plaintext: string;
  text?: string;
  open: VectorOpen;
}

/** A token that must be rejected with `code`. */
export interface NegativeTokenVector {
  name: string;
  description: string;
  keySet: string;
  token: string;
  open: VectorOpen;
  code: string;
}

/** One token of a sealed field document. */
export interface FieldTokenEntry {
  path: string;
  at: string;
  value: JsonValue;
  token: string;
}

/** A field document, before and after sealing. */
export interface FieldVector {
  name: string;
  description: string;
  keySet: string;
  policy: { fields: string[] };
  alg: SymmetricAlg;
  context?: Record<string, string>;
  cek?: string;
  doc: JsonValue;
  sealed: JsonValue;
  tokens: FieldTokenEntry[];
}

/** A field document that `decryptFields` rejects. */
export interface NegativeFieldVector {
  name: string;
  description: string;
  keySet: string;
  policy: { fields: string[] };
  mode: 'strict' | 'migrate';
  context?: Record<string, string>;
  doc: JsonValue;
  /** The offending token and the policy path it was found at, for token-level readers. */
  path?: string;
  token?: string;
  code: string;
}

/** The whole vector file. */
export interface Vectors {
  $comment: string;
  version: 1;
  keySets: Record<string, Jwks>;
  contexts: Array<{ name: string; context: Record<string, string>; serialized: string; wsc: string }>;
  tokens: PositiveTokenVector[];
  fields: FieldVector[];
  negative: {
    tokens: NegativeTokenVector[];
    fields: NegativeFieldVector[];
    keySets: Array<{ name: string; description: string; jwks: unknown; code: string }>;
    policies: Array<{ name: string; description: string; policy: unknown; code: string }>;
  };
  legacy: {
    $comment: string;
    positive: Array<{ name: string; key: string; keyText?: string; iv: string; plaintext: string; value: string }>;
    rejected: Array<{ name: string; description: string; key: string; parse: 'string' | 'json'; value: string; code: string }>;
    notLegacy: Array<{ name: string; description: string; value: string }>;
  };
  /** Audiences, record binding and public-key field tokens (scripts/audience-vectors.ts). */
  audiences: AudienceVectors;
}

const te = new TextEncoder();

/** First `n` bytes of SHA-256("wireseal-vectors/" + label). */
export function derive(label: string, n = 32): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`wireseal-vectors/${label}`).digest().subarray(0, n));
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const jwk = (kid: string, ops?: Array<'encrypt' | 'decrypt'>, bytes: Uint8Array = derive(`key/${kid}`)): Jwks['keys'][number] =>
  ops ? { kty: 'oct', kid, k: b64u(bytes), key_ops: ops } : { kty: 'oct', kid, k: b64u(bytes) };

/** An engine whose random bytes come from `derive(label/counter)`; everything else delegates. */
export function deterministicEngine(base: Engine, label: string, log: Uint8Array[]): Engine {
  let n = 0;
  return {
    name: base.name,
    gcmEncrypt: (k, iv, p, a) => base.gcmEncrypt(k, iv, p, a),
    gcmDecrypt: (k, iv, c, t, a) => base.gcmDecrypt(k, iv, c, t, a),
    keyWrap: (k, d) => base.keyWrap(k, d),
    keyUnwrap: (k, w) => base.keyUnwrap(k, w),
    sha256: (d) => base.sha256(d),
    randomBytes: (len) => {
      const out = derive(`${label}/random/${n++}`, len);
      log.push(out);
      return out;
    },
  };
}

function rawHeader(json: string): EncodedHeader {
  const b64 = encodeString(json);
  return { b64, aad: te.encode(b64) };
}

function segs(token: string): string[] {
  return token.split('.');
}

function withHeader(token: string, header: string | Record<string, unknown>): string {
  const s = segs(token);
  s[0] = encodeString(typeof header === 'string' ? header : JSON.stringify(header));
  return s.join('.');
}

function flipB64u(segment: string, byteIndex = 0): string {
  const bytes = Buffer.from(segment, 'base64url');
  bytes[byteIndex] = bytes[byteIndex]! ^ 0x01;
  return b64u(bytes);
}

function replaceSeg(token: string, i: number, value: string): string {
  const s = segs(token);
  s[i] = value;
  return s.join('.');
}

/** Every concrete location a compiled path reaches, as decryptFields names them. */
export function locations(doc: unknown, path: FieldPath): Array<{ at: string; value: unknown }> {
  if (path.steps.length === 0) return [{ at: '$', value: doc }];
  const out: Array<{ at: string; value: unknown }> = [];
  const go = (v: unknown, i: number, at: string): void => {
    if (i === path.steps.length) {
      if (v !== undefined) out.push({ at, value: v });
      return;
    }
    const s = path.steps[i]!;
    if (s.kind === 'each') {
      if (Array.isArray(v)) v.forEach((e, j) => go(e, i + 1, `${at}[${j}]`));
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, s.key)) {
      go((v as Record<string, unknown>)[s.key], i + 1, at === '' ? s.key : `${at}.${s.key}`);
    }
  };
  go(doc, 0, '');
  return out;
}

/**
 * Generates the vectors with the given engine. Both engines must produce
 * byte-identical output; the conformance test checks that too.
 */
export function generateVectors(engineName: EngineName = 'node'): Vectors {
  const engine = getEngine(engineName);
  const keySets: Record<string, Jwks> = {
    main: { keys: [jwk('2026-11', ['encrypt', 'decrypt']), jwk('2026-05', ['decrypt'])] },
    'no-key-ops': { keys: [jwk('2026-11', ['encrypt', 'decrypt']), jwk('legacy-default')] },
    'send-only': { keys: [jwk('send-only', ['encrypt']), jwk('2026-05', ['decrypt'])] },
  };
  const sets = Object.fromEntries(Object.entries(keySets).map(([n, j]) => [n, KeySet.fromJwks(j)])) as Record<string, KeySet>;
  const entry = (set: string, kid: string) => {
    const e = sets[set]!.entry(kid);
    if (!e) throw new Error(`no ${kid} in ${set}`);
    return e;
  };

  // --- contexts -------------------------------------------------------------
  const contextList: Array<{ name: string; context: Record<string, string> }> = [
    { name: 'kafka-topic', context: { topic: 'payments.v1' } },
    { name: 'two-keys-unsorted', context: { topic: 'orders', tenant: 'acme' } },
    { name: 'empty', context: {} },
    { name: 'escapes', context: { 'quote"back\\slash': 'tab\tnl\nctl\u0001del\u007f', route: '/v1/pay?x=1&y=<2>' } },
    // Code-unit order: U+1F600 (surrogates D83D DE00) sorts BEFORE U+FF5E, unlike code-point order.
    { name: 'code-unit-order', context: { '\uff5e': 'fullwidth tilde', '\u{1f600}': 'grinning', Z: 'upper', a: 'lower', 'é': 'e-acute' } },
  ];
  const contexts = contextList.map(({ name, context }) => {
    const entries = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return { name, context, serialized: JSON.stringify(entries), wsc: contextDigest(context, engine) };
  });
  const ctx = (name: string): Context => contextList.find((c) => c.name === name)!.context;

  // --- positive tokens ------------------------------------------------------
  const tokens: PositiveTokenVector[] = [];
  const makeToken = (v: {
    name: string;
    description: string;
    keySet?: string;
    kid?: string;
    alg: SymmetricAlg;
    plaintext: Uint8Array | string;
    cty?: string;
    iat?: number;
    field?: string;
    context?: string;
    header?: string;
    open?: VectorOpen;
    /** Seal under these bytes instead of the key set's (wrong-key cases). */
    keyBytes?: Uint8Array;
    /** false: only build the token (for negative vectors). */
    record?: boolean;
  }): string => {
    const keySet = v.keySet ?? 'main';
    const kid = v.kid ?? '2026-11';
    const key = v.keyBytes ? { ...entry(keySet, kid), bytes: v.keyBytes } : entry(keySet, kid);
    const pt = typeof v.plaintext === 'string' ? te.encode(v.plaintext) : v.plaintext;
    const wsc = v.context ? contextDigest(ctx(v.context), engine) : undefined;
    const header = v.header ? rawHeader(v.header) : encodeHeader(v.alg, kid, v.cty, v.iat, v.field, wsc);
    const iv = derive(`${v.name}/iv`, 12);
    const cek = v.alg === 'dir' ? key.bytes : derive(`${v.name}/cek`, 32);
    const ek = v.alg === 'dir' ? '' : b64u(engine.keyWrap(key.bytes, cek));
    const token = sealWith(engine, key, v.alg, cek, ek, iv, pt, header);
    if (v.record !== false) {
      const open: VectorOpen = v.open ?? {};
      if (v.open === undefined) {
        if (v.field !== undefined) open.field = v.field;
        if (v.context) open.context = { ...ctx(v.context) };
      }
      const vec: PositiveTokenVector = {
        name: v.name,
        description: v.description,
        keySet,
        token,
        header: JSON.parse(Buffer.from(header.b64, 'base64url').toString('utf8')) as Record<string, unknown>,
        ...(v.alg === 'dir' ? {} : { cek: b64u(cek) }),
        iv: b64u(iv),
        plaintext: b64u(pt),
        ...(typeof v.plaintext === 'string' ? { text: v.plaintext } : {}),
        open,
      };
      tokens.push(vec);
    }
    return token;
  };

  const base = makeToken({ name: 'a256kw-minimal', description: 'A256KW, header alg/enc/kid only', alg: 'A256KW', plaintext: 'hello, wireseal' });
  const dirBase = makeToken({ name: 'dir-minimal', description: 'dir: the key itself encrypts; empty encrypted-key segment', alg: 'dir', plaintext: 'hello, wireseal' });
  makeToken({
    name: 'a256kw-whole-http',
    description: 'whole HTTP payload: cty and iat',
    alg: 'A256KW',
    cty: 'application/json',
    iat: 1_790_000_000,
    plaintext: '{"orderId":"o-1","amount":1999,"currency":"EUR"}',
  });
  const fieldTok = makeToken({
    name: 'a256kw-field',
    description: 'field token: wsf is the policy path; plaintext is the JSON text of the value',
    alg: 'A256KW',
    field: 'card.number',
    plaintext: '"4111111111111111"',
  });
  const ctxTok = makeToken({
    name: 'a256kw-field-context',
    description: 'field token bound to a context (wsc)',
    alg: 'A256KW',
    field: 'accounts[*].iban',
    context: 'kafka-topic',
    plaintext: '"DE89370400440532013000"',
  });
  makeToken({
    name: 'dir-kafka-whole',
    description: 'dir, whole Kafka value: cty and wsc (topic)',
    alg: 'dir',
    cty: 'application/json',
    context: 'kafka-topic',
    plaintext: '{"event":"paid","id":42}',
  });
  makeToken({
    name: 'a256kw-context-two-keys',
    description: 'context with two pairs; the opener lists them in another order (order does not matter)',
    alg: 'A256KW',
    context: 'two-keys-unsorted',
    plaintext: 'tenant-bound',
    open: { context: { tenant: 'acme', topic: 'orders' } },
  });
  makeToken({ name: 'a256kw-context-empty', description: 'empty context {} still binds: wsc of "[]"', alg: 'A256KW', context: 'empty', plaintext: 'x' });
  makeToken({ name: 'a256kw-context-escapes', description: 'context with quotes, backslash, control characters', alg: 'A256KW', context: 'escapes', plaintext: 'escaped' });
  makeToken({ name: 'dir-context-code-unit-order', description: 'context keys sorted by UTF-16 code units, not code points', alg: 'dir', context: 'code-unit-order', plaintext: 'sorted' });
  makeToken({ name: 'a256kw-empty-plaintext', description: 'empty plaintext: empty ciphertext segment', alg: 'A256KW', plaintext: new Uint8Array(0) });
  makeToken({
    name: 'a256kw-binary',
    description: 'every byte value 0..255',
    alg: 'A256KW',
    plaintext: Uint8Array.from({ length: 256 }, (_, i) => i),
  });
  makeToken({
    name: 'dir-unicode-quoted-field',
    description: 'non-ASCII text; wsf with a quoted key',
    alg: 'dir',
    field: '["a.b"].ünïcödé',
    plaintext: '"Grüße, 世界 😀"',
  });
  makeToken({
    name: 'a256kw-decrypt-only-key',
    description: 'sealed under a key that is now decrypt-only (rotation): still opens',
    alg: 'A256KW',
    kid: '2026-05',
    plaintext: 'sealed before rotation',
  });
  makeToken({
    name: 'a256kw-key-without-key-ops',
    description: 'a key without key_ops is decrypt-only and opens',
    keySet: 'no-key-ops',
    kid: 'legacy-default',
    alg: 'A256KW',
    plaintext: 'no key_ops',
  });
  makeToken({
    name: 'a256kw-foreign-header',
    description: 'header written by another library: other member order, whitespace, unknown members; AAD is the segment as sent',
    alg: 'A256KW',
    header: '{ "enc": "A256GCM", "typ": "JWE", "kid": "2026-11", "alg": "A256KW", "x-trace": [1, 2] }',
    plaintext: 'from elsewhere',
  });
  makeToken({ name: 'a256kw-multi-block', description: '1000-byte plaintext', alg: 'A256KW', plaintext: 'wireseal '.repeat(111) + 'e' });
  const iatTok = makeToken({ name: 'a256kw-iat-fresh', description: 'iat inside the freshness window', alg: 'A256KW', iat: 1_790_000_000, cty: 'text/plain', plaintext: 'fresh', open: { maxAgeSeconds: 300, nowSeconds: 1_790_000_100 } });

  // --- negative tokens ------------------------------------------------------
  const neg: NegativeTokenVector[] = [];
  const bad = (name: string, description: string, token: string, code: string, open: VectorOpen = {}, keySet = 'main'): void => {
    neg.push({ name, description, keySet, token, open, code });
  };
  const M = 'ERR_TOKEN_MALFORMED';
  const A = 'ERR_ALG_UNSUPPORTED';
  const [h, ek, iv, ct, tag] = segs(base) as [string, string, string, string, string];
  const hdr = { alg: 'A256KW', enc: 'A256GCM', kid: '2026-11' };
  bad('empty-string', 'not a token', '', M);
  bad('four-segments', 'four segments', [h, ek, iv, ct].join('.'), M);
  bad('six-segments', 'six segments', `${base}.AAAA`, M);
  bad('empty-header', 'empty protected header segment', ['', ek, iv, ct, tag].join('.'), M);
  bad('padded-iv', 'base64url with "=" padding', replaceSeg(base, 2, `${iv}==`), M);
  bad('standard-base64-ciphertext', 'a "+" (standard base64) in the ciphertext', replaceSeg(base, 3, `+${ct.slice(1)}`), M);
  bad('whitespace-in-tag', 'a space inside the tag segment', replaceSeg(base, 4, `${tag.slice(0, 4)} ${tag.slice(4)}`), M);
  {
    const last = tag[tag.length - 1]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const noncanon = alphabet[alphabet.indexOf(last) | 1]!;
    bad('noncanonical-tag', 'tag whose last base64url character has non-zero unused bits', replaceSeg(base, 4, tag.slice(0, -1) + noncanon), M);
  }
  bad('impossible-length-iv', 'segment length 4n+1 cannot be base64url', replaceSeg(base, 2, `${iv}A`), M);
  bad('header-not-json', 'header is not JSON', withHeader(base, 'alg=A256KW'), M);
  bad('header-json-array', 'header is a JSON array', withHeader(base, '["A256KW","A256GCM"]'), M);
  bad('header-json-null', 'header is JSON null', withHeader(base, 'null'), M);
  bad('header-not-utf8', 'header bytes are not UTF-8', replaceSeg(base, 0, b64u(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))), M);
  bad('header-kid-number', 'kid is not a string', withHeader(base, { ...hdr, kid: 7 }), M);
  bad('header-wsf-number', 'wsf is not a string', withHeader(base, { ...hdr, wsf: 1 }), M);
  bad('header-iat-fraction', 'iat is not an integer', withHeader(base, { ...hdr, iat: 1790000000.5 }), M);
  bad('header-iat-string', 'iat is a string', withHeader(base, { ...hdr, iat: '1790000000' }), M);
  bad('header-over-limit', 'protected header over 4096 base64url characters', withHeader(base, { ...hdr, pad: 'x'.repeat(3100) }), M);
  bad('iv-16-bytes', 'iv of 16 bytes (A256GCM needs 12)', replaceSeg(base, 2, b64u(derive('iv16', 16))), M);
  bad('tag-12-bytes', 'truncated tag of 12 bytes', replaceSeg(base, 4, b64u(Buffer.from(tag, 'base64url').subarray(0, 12))), M);
  bad('a256kw-ek-32-bytes', 'A256KW encrypted key of 32 bytes (needs 40)', replaceSeg(base, 1, b64u(derive('ek32'))), M);
  bad('a256kw-empty-ek', 'A256KW with an empty encrypted key', replaceSeg(base, 1, ''), M);
  bad('dir-with-ek', 'dir with a non-empty encrypted key', replaceSeg(dirBase, 1, ek), M);
  for (const alg of ['none', 'RSA1_5', 'RSA-OAEP-256', 'A128KW', 'ECDH-ES', 'PBES2-HS256+A128KW']) {
    bad(`alg-${alg}`, `alg ${alg} is outside the allow-list`, withHeader(base, { ...hdr, alg }), A);
  }
  bad('alg-missing', 'no alg', withHeader(base, { enc: 'A256GCM', kid: '2026-11' }), A);
  for (const enc of ['A128GCM', 'A256CBC-HS512']) bad(`enc-${enc}`, `enc ${enc} is outside the allow-list`, withHeader(base, { ...hdr, enc }), A);
  bad('enc-missing', 'no enc', withHeader(base, { alg: 'A256KW', kid: '2026-11' }), A);
  bad('zip', 'zip is never supported', withHeader(base, { ...hdr, zip: 'DEF' }), A);
  bad('crit', 'crit is never supported', withHeader(base, { ...hdr, crit: ['exp'], exp: 1 }), A);
  bad('crit-empty', 'even an empty crit is rejected', withHeader(base, { ...hdr, crit: [] }), A);
  bad('kid-unknown', 'kid not in the key set', withHeader(base, { ...hdr, kid: '2099-01' }), 'ERR_KEY_UNKNOWN');
  bad('kid-missing', 'no kid', withHeader(base, { alg: 'A256KW', enc: 'A256GCM' }), 'ERR_KEY_UNKNOWN');
  bad('kid-encrypt-only', 'the key named by kid may encrypt but not decrypt (key_ops ["encrypt"])',
    makeToken({ name: 'send-only-token', description: '', keySet: 'send-only', kid: 'send-only', alg: 'A256KW', plaintext: 'x', record: false }),
    'ERR_KEY_UNKNOWN', {}, 'send-only');
  const D = 'ERR_DECRYPT';
  bad('tag-flipped', 'one bit of the tag flipped', replaceSeg(base, 4, flipB64u(tag, 15)), D);
  bad('ciphertext-flipped', 'one bit of the ciphertext flipped', replaceSeg(base, 3, flipB64u(ct, 3)), D);
  bad('ciphertext-truncated', 'last ciphertext byte removed', replaceSeg(base, 3, b64u(Buffer.from(ct, 'base64url').subarray(0, -1))), D);
  bad('iv-flipped', 'one bit of the iv flipped', replaceSeg(base, 2, flipB64u(iv, 11)), D);
  bad('ek-flipped', 'one bit of the wrapped content key flipped: AES key unwrap integrity check fails', replaceSeg(base, 1, flipB64u(ek, 20)), D);
  bad('header-reencoded', 'same header members, different JSON text: the AAD changed', withHeader(base, '{"alg":"A256KW", "enc":"A256GCM", "kid":"2026-11"}'), D);
  bad('header-member-added', 'a member added to the header after sealing', withHeader(base, { ...hdr, wsf: 'card.number' }), D, { field: 'card.number' });
  bad('dir-wrong-key', 'dir token under another key with the same kid',
    makeToken({ name: 'dir-wrong-key', description: '', alg: 'dir', plaintext: 'x', keyBytes: derive('other-key'), record: false }), D);
  bad('a256kw-wrong-key', 'A256KW token wrapped under another key with the same kid',
    makeToken({ name: 'a256kw-wrong-key', description: '', alg: 'A256KW', plaintext: 'x', keyBytes: derive('other-key'), record: false }), D);
  bad('alg-swapped-to-dir', 'an A256KW token relabelled dir with the encrypted key removed', replaceSeg(withHeader(base, { ...hdr, alg: 'dir' }), 1, ''), D);
  const F = 'ERR_FIELD_MISMATCH';
  bad('wsf-other-path', 'token for card.number found at card.cvv', fieldTok, F, { field: 'card.cvv' });
  bad('wsf-opened-whole', 'field token opened as a whole value', fieldTok, F);
  bad('no-wsf-at-field', 'whole-value token found at a policy path', base, F, { field: 'card.number' });
  bad('wsf-exact-text', 'wsf is compared as text: ["a.b"] is not a.b',
    makeToken({ name: 'wsf-quoted', description: '', alg: 'A256KW', field: '["a.b"]', plaintext: '1', record: false }), F, { field: 'a.b' });
  bad('wsf-array-index', 'wsf is the policy path, not the concrete index', ctxTok, F, { field: 'accounts[0].iban', context: { ...ctx('kafka-topic') } });
  const C = 'ERR_CONTEXT_MISMATCH';
  bad('wsc-other-context', 'sealed for topic payments.v1, opened for payments.v2', ctxTok, C, { field: 'accounts[*].iban', context: { topic: 'payments.v2' } });
  bad('wsc-none-expected', 'token has wsc but no context is expected', ctxTok, C, { field: 'accounts[*].iban' });
  bad('no-wsc-context-expected', 'token has no wsc but a context is expected', base, C, { context: { topic: 'payments.v1' } });
  bad('wsc-extra-pair', 'expected context has one more pair', ctxTok, C, { field: 'accounts[*].iban', context: { topic: 'payments.v1', tenant: 'acme' } });
  const S = 'ERR_STALE';
  bad('iat-too-old', 'iat 301 s old with maxAgeSeconds 300', iatTok, S, { maxAgeSeconds: 300, nowSeconds: 1_790_000_301 });
  bad('iat-in-future', 'iat 31 s in the future (allowed skew 30 s)', iatTok, S, { maxAgeSeconds: 300, nowSeconds: 1_789_999_969 });
  bad('iat-missing', 'freshness required but the token has no iat', base, S, { maxAgeSeconds: 300, nowSeconds: 1_790_000_000 });

  // --- field documents ------------------------------------------------------
  const fields: FieldVector[] = [];
  const fieldDoc = (v: { name: string; description: string; policy: string[]; alg: SymmetricAlg; context?: string; doc: JsonValue }): FieldVector => {
    const log: Uint8Array[] = [];
    const policy = FieldPolicy.parse({ fields: v.policy });
    const context = v.context ? ctx(v.context) : undefined;
    const sealed = encryptFields(sets.main!, v.doc, policy, {
      alg: v.alg,
      engine: deterministicEngine(engine, `fields/${v.name}`, log),
      ...(context ? { context } : {}),
    });
    const entries: FieldTokenEntry[] = [];
    for (const path of policy.paths) {
      const plain = locations(v.doc, path);
      const sealedAt = locations(sealed, path);
      plain.forEach((p, i) => entries.push({ path: path.text, at: p.at, value: p.value as JsonValue, token: sealedAt[i]!.value as string }));
    }
    const vec: FieldVector = {
      name: v.name,
      description: v.description,
      keySet: 'main',
      policy: { fields: v.policy },
      alg: v.alg,
      ...(context ? { context: { ...context } } : {}),
      ...(v.alg === 'A256KW' && log[0] ? { cek: b64u(log[0]) } : {}),
      doc: v.doc,
      sealed: sealed as JsonValue,
      tokens: entries,
    };
    fields.push(vec);
    return vec;
  };
  const payment = fieldDoc({
    name: 'payment',
    description: 'three scalar fields; everything else stays readable. One content key per document.',
    policy: ['card.number', 'card.cvv', 'customer.ssn'],
    alg: 'A256KW',
    doc: { card: { number: '4111111111111111', cvv: '123', expiry: '12/29' }, customer: { name: 'Ada', ssn: '078-05-1120' }, amount: 1999 },
  });
  const mixed = fieldDoc({
    name: 'arrays-subtrees-types',
    description: '[*], nested [*][*], a quoted key with a dot, a subtree sealed as one token, every JSON type, a path that matches nothing; bound to a Kafka topic',
    policy: ['accounts[*].iban', '["a.b"]', 'profile', 'matrix[*][*]', 'flags[*]', 'missing.path'],
    alg: 'A256KW',
    context: 'kafka-topic',
    doc: {
      accounts: [{ iban: 'DE89370400440532013000', bank: 'X' }, { iban: 'FR1420041010050500013M02606' }, { bank: 'no iban here' }],
      'a.b': 5.25,
      a: { b: 'not sealed: the policy quotes "a.b"' },
      profile: { name: 'Grüße 😀', born: 1970, tags: ['x', null], nested: { deep: [true, false] } },
      matrix: [[1, 2], [3]],
      flags: [true, null, 0, '', [], {}],
    },
  });
  fieldDoc({
    name: 'whole-document-dir',
    description: '"$" seals the whole document as one token; alg dir; context with two pairs',
    policy: ['$'],
    alg: 'dir',
    context: 'two-keys-unsorted',
    doc: { order: 'o-1', items: [{ sku: 'A', qty: 2 }] },
  });

  // --- negative field documents ---------------------------------------------
  const negFields: NegativeFieldVector[] = [];
  const paySealed = payment.sealed as { card: { number: string; cvv: string } };
  negFields.push({
    name: 'swapped-tokens',
    description: 'card.number and card.cvv tokens swapped (cut and paste between fields)',
    keySet: 'main',
    policy: payment.policy,
    mode: 'strict',
    doc: { ...(payment.sealed as object), card: { ...paySealed.card, number: paySealed.card.cvv, cvv: paySealed.card.number } },
    path: 'card.number',
    token: paySealed.card.cvv,
    code: F,
  });
  const mixedSealed = mixed.sealed as { accounts: Array<{ iban: string }>; profile: unknown };
  negFields.push({
    name: 'token-moved-to-other-path',
    description: 'an accounts[*].iban token pasted into profile',
    keySet: 'main',
    policy: mixed.policy,
    mode: 'migrate',
    context: mixed.context!,
    doc: { ...(mixed.sealed as object), profile: mixedSealed.accounts[0]!.iban },
    path: 'profile',
    token: mixedSealed.accounts[0]!.iban,
    code: F,
  });
  negFields.push({
    name: 'plaintext-in-strict-mode',
    description: 'a policy path holds plaintext and the mode is strict',
    keySet: 'main',
    policy: payment.policy,
    mode: 'strict',
    doc: { ...(payment.sealed as object), card: { ...paySealed.card, number: '4111111111111111' } },
    code: 'ERR_PLAINTEXT_FIELD',
  });
  negFields.push({
    name: 'wrong-context',
    description: 'document sealed for topic payments.v1 read for payments.v2',
    keySet: 'main',
    policy: mixed.policy,
    mode: 'strict',
    context: { topic: 'payments.v2' },
    doc: mixed.sealed,
    path: 'accounts[*].iban',
    token: mixedSealed.accounts[0]!.iban,
    code: C,
  });
  // Field tokens whose plaintext is not JSON text / not UTF-8: ERR_TOKEN_MALFORMED.
  const badPlaintexts = [
    ['field-plaintext-not-json', 'a field token whose plaintext is not JSON text', makeToken({ name: 'field-not-json', description: '', alg: 'A256KW', field: 'note', plaintext: 'not json', record: false })],
    ['field-plaintext-not-utf8', 'a field token whose plaintext is not UTF-8', makeToken({ name: 'field-not-utf8', description: '', alg: 'dir', field: 'note', plaintext: Uint8Array.from([0x22, 0xc3, 0x28, 0x22]), record: false })],
  ] as const;
  for (const [name, description, token] of badPlaintexts) {
    negFields.push({ name, description, keySet: 'main', policy: { fields: ['note'] }, mode: 'strict', doc: { note: token }, path: 'note', token, code: M });
  }

  // --- negative key sets ----------------------------------------------------
  const K = 'ERR_KEYSET_INVALID';
  const good = jwk('k1', ['encrypt', 'decrypt']);
  const ks = (name: string, description: string, jwks: unknown): { name: string; description: string; jwks: unknown; code: string } => ({ name, description, jwks, code: K });
  const badKeySets = [
    ks('not-object', 'a JSON array, not a JWK Set', [good]),
    ks('no-keys-member', 'no "keys"', { key: [good] }),
    ks('keys-not-array', '"keys" is an object', { keys: { k1: good } }),
    ks('empty', 'no keys at all', { keys: [] }),
    ks('key-not-object', 'a key is a string', { keys: [good, 'k2'] }),
    ks('kty-rsa', 'kty RSA', { keys: [{ ...good, kty: 'RSA' }] }),
    ks('kty-missing', 'no kty', { keys: [{ kid: 'k1', k: good.k, key_ops: ['encrypt', 'decrypt'] }] }),
    ks('k-31-bytes', 'k decodes to 31 bytes', { keys: [{ ...good, k: b64u(derive('short', 31)) }] }),
    ks('k-33-bytes', 'k decodes to 33 bytes', { keys: [{ ...good, k: b64u(new Uint8Array(33).fill(7)) }] }),
    ks('k-16-bytes', 'AES-128 keys are not accepted', { keys: [{ ...good, k: b64u(derive('aes128', 16)) }] }),
    ks('k-padded', 'k with "=" padding', { keys: [{ ...good, k: `${good.k}=` }] }),
    ks('k-standard-base64', 'k in standard base64 (+ and /)', { keys: [{ ...good, k: `+/${good.k.slice(2)}` }] }),
    ks('k-missing', 'no k', { keys: [{ kty: 'oct', kid: 'k1', key_ops: ['encrypt', 'decrypt'] }] }),
    ks('kid-missing', 'no kid', { keys: [{ kty: 'oct', k: good.k, key_ops: ['encrypt', 'decrypt'] }] }),
    ks('kid-empty', 'empty kid', { keys: [{ ...good, kid: '' }] }),
    ks('kid-65-chars', 'kid longer than 64 characters', { keys: [{ ...good, kid: 'k'.repeat(65) }] }),
    ks('kid-control-char', 'kid with a newline', { keys: [{ ...good, kid: 'k\n1' }] }),
    ks('kid-non-ascii', 'kid with a non-ASCII character', { keys: [{ ...good, kid: 'clé' }] }),
    ks('kid-duplicate', 'two keys with the same kid', { keys: [good, { ...jwk('k1', ['decrypt'], derive('dup')) }] }),
    ks('two-primaries', 'two keys with "encrypt"', { keys: [good, jwk('k2', ['encrypt', 'decrypt'])] }),
    ks('no-primary', 'no key has "encrypt"', { keys: [jwk('k1', ['decrypt']), jwk('k2')] }),
    ks('key-ops-sign', 'key_ops holds "sign"', { keys: [{ ...good, key_ops: ['encrypt', 'decrypt', 'sign'] }] }),
    ks('key-ops-string', 'key_ops is a string', { keys: [{ ...good, key_ops: 'encrypt' }] }),
    ks('key-ops-duplicate', 'key_ops lists "decrypt" twice', { keys: [{ ...good, key_ops: ['encrypt', 'decrypt', 'decrypt'] }] }),
    ks('alg-a128kw', 'alg A128KW', { keys: [{ ...good, alg: 'A128KW' }] }),
    ks('use-sig', 'use "sig"', { keys: [{ ...good, use: 'sig' }] }),
  ];

  // --- negative policies ----------------------------------------------------
  const P = 'ERR_POLICY_INVALID';
  const pol = (name: string, description: string, policy: unknown): { name: string; description: string; policy: unknown; code: string } => ({ name, description, policy, code: P });
  const badPolicies = [
    pol('not-object', 'a string where an object is expected', 'card.number'),
    pol('fields-not-array', '"fields" is a string', { fields: 'card.number' }),
    pol('path-not-string', 'a path is a number', { fields: [1] }),
    pol('empty-path', 'empty path', { fields: [''] }),
    pol('leading-dot', 'leading dot', { fields: ['.card'] }),
    pol('trailing-dot', 'trailing dot', { fields: ['card.'] }),
    pol('double-dot', 'empty segment', { fields: ['card..number'] }),
    pol('index', 'numeric index (only [*] is allowed)', { fields: ['accounts[0].iban'] }),
    pol('unterminated-each', 'unterminated [*', { fields: ['accounts[*'] }),
    pol('unterminated-quoted', 'unterminated quoted key', { fields: ['["a.b"'] }),
    pol('quoted-single-quotes', "single quotes are not JSON strings", { fields: ["['a.b']"] }),
    pol('whitespace', 'whitespace in a name', { fields: ['card number'] }),
    pol('missing-dot', 'a name right after [*] without a dot', { fields: ['accounts[*]iban'] }),
    pol('proto', '__proto__ segment', { fields: ['a.__proto__.b'] }),
    pol('constructor', 'constructor segment', { fields: ['constructor'] }),
    pol('prototype', 'prototype segment', { fields: ['x.prototype'] }),
    pol('quoted-proto', 'a quoted "__proto__" is still forbidden', { fields: ['["__proto__"]'] }),
    pol('duplicate', 'the same path twice', { fields: ['card.number', 'card.number'] }),
    pol('duplicate-spelling', 'the same path spelled two ways', { fields: ['card.number', 'card["number"]'] }),
    pol('nested', 'a path inside another path (already sealed as one token)', { fields: ['card', 'card.number'] }),
    pol('dollar-and-path', '"$" with any other path', { fields: ['$', 'card.number'] }),
  ];

  // --- legacy AES-CBC -------------------------------------------------------
  const legacyPositive: Vectors['legacy']['positive'] = [];
  const legacyKeys = {
    k16: derive('legacy/k16', 16),
    k24: derive('legacy/k24', 24),
    k32: derive('legacy/k32', 32),
    ascii32: te.encode('correct horse battery staple 32!'),
  };
  const lp = (name: string, key: keyof typeof legacyKeys, plaintext: string): void => {
    const iv = derive(`legacy/${name}/iv`, 16);
    const value = sealLegacyCbcInsecure(legacyKeys[key], plaintext, { insecureLegacy: true, iv, engine: engineName });
    legacyPositive.push({
      name,
      key: hex(legacyKeys[key]),
      ...(key === 'ascii32' ? { keyText: 'correct horse battery staple 32!' } : {}),
      iv: hex(iv),
      plaintext,
      value,
    });
  };
  lp('aes128-text', 'k16', '4111111111111111');
  lp('aes192-empty', 'k24', '');
  lp('aes256-json-object', 'k32', JSON.stringify({ iban: 'DE89370400440532013000', name: 'Grüße 😀', n: 1 }));
  lp('aes256-ascii-key-full-padding-block', 'ascii32', '0123456789abcdef');
  lp('aes256-ascii-key-long', 'ascii32', 'legacy '.repeat(40));
  const rawCbc = (key: Uint8Array, ivBytes: Uint8Array, blocks: Uint8Array): string =>
    Buffer.concat([ivBytes, nodeCbcNoPad(key, ivBytes, blocks)]).toString('base64');
  /** The first candidate whose padding is invalid under k32 (255 in 256 are). */
  const failing = (make: (i: number) => string): string => {
    for (let i = 0; ; i++) {
      const v = make(i);
      try {
        nodeCbcOpen(k32, v);
      } catch {
        return v;
      }
    }
  };
  const block = (fill: number[], tail: number[]): Uint8Array => Uint8Array.from([...fill, ...tail]);
  const k32 = legacyKeys.k32;
  const lr = (name: string, description: string, value: string, parse: 'string' | 'json' = 'string'): { name: string; description: string; key: string; parse: 'string' | 'json'; value: string; code: string } => ({
    name, description, key: hex(k32), parse, value, code: D,
  });
  const wrongKeyValue = failing((i) =>
    sealLegacyCbcInsecure(derive(`legacy/other/${i}`), 'secret', { insecureLegacy: true, iv: derive(`legacy/wrong-key/iv/${i}`, 16), engine: engineName }));
  // A plaintext SHA-256 hex digest is 64 base64 characters = 48 bytes: shaped like a legacy value.
  const hexDigest = failing((i) => createHash('sha256').update(`plaintext digest ${i}`).digest('hex'));
  const legacyRejected = [
    lr('padding-byte-zero', 'last byte 0x00 is not PKCS#7', rawCbc(k32, derive('legacy/p0/iv', 16), block(new Array(15).fill(0x41), [0x00]))),
    lr('padding-byte-17', 'last byte 0x11 is over the block size', rawCbc(k32, derive('legacy/p17/iv', 16), block(new Array(15).fill(0x41), [0x11]))),
    lr('padding-inconsistent', 'last byte 0x03 but the two before are not 0x03', rawCbc(k32, derive('legacy/p3/iv', 16), block(new Array(13).fill(0x41), [0x03, 0x02, 0x03]))),
    lr('wrong-key', 'sealed under another key', wrongKeyValue),
    lr('not-utf8', 'valid padding, plaintext is not UTF-8', sealLegacyCbcInsecure(k32, Uint8Array.from([0xff, 0xfe, 0x41]), { insecureLegacy: true, iv: derive('legacy/utf8/iv', 16), engine: engineName })),
    lr('hex-digest-plaintext', 'a plaintext 64-hex-digit digest is shaped like a legacy value and is rejected, not passed through: limit legacy readers to the paths legacy senders encrypt', hexDigest),
    lr('not-json', 'valid padding and UTF-8, but parse is "json" and the text is not JSON', sealLegacyCbcInsecure(k32, 'plain text', { insecureLegacy: true, iv: derive('legacy/json/iv', 16), engine: engineName }), 'json'),
  ];
  const sample = legacyPositive[2]!.value;
  const notLegacy = [
    { name: 'plain-card-number', description: 'a plaintext value', value: '4111111111111111' },
    { name: 'unpadded', description: 'standard base64 without its padding', value: legacyPositive[1]!.value.replace(/=+$/, '') },
    { name: 'url-safe-alphabet', description: 'base64url alphabet (- and _)', value: sample.replace(/\+/g, '-').replace(/\//g, '_') },
    { name: 'iv-only', description: '16 bytes: an IV and no ciphertext block', value: Buffer.from(derive('legacy/ivonly', 16)).toString('base64') },
    { name: 'not-whole-blocks', description: '16-byte IV + 20 bytes', value: Buffer.concat([derive('legacy/36', 32), derive('legacy/36b', 4)]).toString('base64') },
    { name: 'line-break', description: 'a MIME line break inside', value: `${sample.slice(0, 20)}\n${sample.slice(20)}` },
    { name: 'noncanonical-padding-bits', description: 'non-zero bits under the "=" padding', value: noncanonicalB64(legacyPositive[1]!.value) },
    { name: 'wireseal-token', description: 'a JWE compact token is not legacy', value: base },
  ];

  return {
    $comment:
      'wireseal conformance vectors: see docs/format.md. Generated by packages/core/scripts/gen-vectors.ts; do not edit. ' +
      'Binary values are base64url without padding (legacy keys and IVs: hex). Every key, content key and IV is derived, never random.',
    version: 1,
    keySets,
    contexts,
    tokens,
    fields,
    negative: { tokens: neg, fields: negFields, keySets: badKeySets, policies: badPolicies },
    legacy: {
      $comment: 'Legacy AES-CBC (INSECURE, migration only): value = standard padded base64 of IV (16 bytes) || AES-CBC(key, IV, PKCS#7(UTF-8 plaintext)).',
      positive: legacyPositive,
      rejected: legacyRejected,
      notLegacy,
    },
    audiences: generateAudienceVectors(engine),
  };
}

function nodeCbcNoPad(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

function nodeCbcOpen(key: Uint8Array, value: string): Uint8Array {
  const raw = Buffer.from(value, 'base64');
  const d = createDecipheriv(`aes-${key.length * 8}-cbc`, key, raw.subarray(0, 16));
  return Buffer.concat([d.update(raw.subarray(16)), d.final()]);
}

function noncanonicalB64(value: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const pad = value.endsWith('==') ? 2 : 1;
  const i = value.length - 1 - pad;
  return value.slice(0, i) + alphabet[alphabet.indexOf(value[i]!) | 1]! + value.slice(i + 1);
}

/** The vector file's text: stable JSON with a trailing newline. */
export function vectorsText(engineName: EngineName = 'node'): string {
  return `${JSON.stringify(generateVectors(engineName), null, 2)}\n`;
}
