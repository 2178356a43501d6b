/**
 * The `audiences` member of the conformance vectors (docs/format.md §6.6–6.8,
 * §10): documents split among audiences with record binding, sealed under
 * shared keys and under public keys (ECDH-ES+A256KW on X25519 and P-256,
 * RSA-OAEP-256), and the documents a reader must reject.
 *
 * Everything is derived from `derive(label)`, as for the other vectors:
 * - shared keys, X25519 and P-256 private keys: the derived bytes;
 * - the RSA-2048 key: p and q are the first primes at or above numbers made of
 *   derived bytes (top two bits and the low bit set), e = 65537;
 * - content keys and IVs: the deterministic engine of vectors.ts;
 * - the ECDH-ES ephemeral private keys: derived bytes;
 * - RSA-OAEP-256: OAEP encoding (RFC 8017 §7.1.1, SHA-256, MGF1-SHA-256,
 *   empty label) with a derived seed, then raw RSA (RSA_NO_PADDING). So the
 *   RSA vector regenerates byte for byte like every other one.
 *
 * The documents are sealed by wireseal's own encryptFields (the writer under
 * test); the fixed ephemeral keys and OAEP seeds reach it through the
 * @internal fixKeyManagementForVectors seam, registered only on the
 * deterministic engine made here. Each token's context (caller context plus
 * record bindings) is computed here independently and checked against the
 * token's wsc before the vector is written.
 */
import { checkPrimeSync, constants, createECDH, createHash, createPrivateKey, createPublicKey, publicEncrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { encode as b64u } from '../src/base64url.ts';
import { PrivateKeySet, PublicKeySet } from '../src/asymmetric/keysets.ts';
import type { Context } from '../src/context.ts';
import { contextDigest } from '../src/context.ts';
import type { Engine } from '../src/engine.ts';
import type { FieldKeys, JsonValue } from '../src/fields.ts';
import { encryptFields } from '../src/fields.ts';
import type { Jwks } from '../src/keyset.ts';
import { KeySet } from '../src/keyset.ts';
import type { FieldPath, FieldPolicyJson } from '../src/policy.ts';
import { FieldPolicy } from '../src/policy.ts';
import type { ProtectedHeader } from '../src/token/header.ts';
import { fixKeyManagementForVectors, publicUnwrap } from '../src/token/public-key.ts';
import { derive, deterministicEngine } from './vectors.ts';

/** A JWK of the vector file (shared or asymmetric, private members included: test keys only). */
export type VectorJwk = Record<string, unknown>;

/** One token of an audience document. */
export interface AudienceTokenEntry {
  /** The audience whose keys sealed it. */
  audience: string;
  /** The policy path (its `wsf`). */
  path: string;
  /** The concrete location. */
  at: string;
  /** The plaintext JSON value. */
  value: JsonValue;
  /** The context this token is bound to: the caller's pairs plus `"$" + bind path` → JSON text of the bound value. */
  context: Record<string, string>;
  /** SHA-256 digest of `context` (docs/format.md §5.2): the token's `wsc`. */
  wsc: string;
  token: string;
}

/** A document of several audiences, with record binding, before and after sealing. */
export interface AudienceFieldVector {
  name: string;
  description: string;
  policy: FieldPolicyJson;
  /** Audience → the name of its key set in `audiences.keySets` (the reader's keyring; a writer of a public-key audience holds only the public members). */
  keyring: Record<string, string>;
  /** The caller's context, when one is given. */
  context?: Record<string, string>;
  /** Audience → the document's content key for it (one per document and audience). */
  ceks: Record<string, string>;
  /** Audience → the ECDH-ES ephemeral private JWK (its public members are the tokens' `epk`). */
  ephemeral?: Record<string, VectorJwk>;
  /** Audience → the RSA-OAEP seed (32 bytes) used to encrypt its content key. */
  oaepSeed?: Record<string, string>;
  doc: JsonValue;
  sealed: JsonValue;
  tokens: AudienceTokenEntry[];
  /** A reader holding only some audiences: what it opens, and the concrete paths it leaves sealed (byte for byte). */
  partial: { keyring: Record<string, string>; decrypted: string[]; sealed: string[] };
}

/** An audience document that `decryptFields` rejects, with the offending token for token-level readers. */
export interface AudienceNegativeVector {
  name: string;
  description: string;
  policy: FieldPolicyJson;
  keyring: Record<string, string>;
  mode: 'strict' | 'migrate';
  context?: Record<string, string>;
  doc: JsonValue;
  /** The offending token: its location, the policy path and audience of that location, and the context expected there. */
  audience: string;
  path: string;
  at: string;
  expectedContext: Record<string, string>;
  token: string;
  code: string;
}

/** The `audiences` member of the vector file. */
export interface AudienceVectors {
  $comment: string;
  keySets: Record<string, { keys: VectorJwk[] }>;
  fields: AudienceFieldVector[];
  negative: AudienceNegativeVector[];
}

// --- keys -------------------------------------------------------------------

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function x25519Private(d: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8, d]), format: 'der', type: 'pkcs8' });
}

function p256Private(d: Uint8Array): KeyObject {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(d)); // throws for d = 0 or d ≥ n
  const pub = ecdh.getPublicKey();
  return createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: b64u(d), x: b64u(pub.subarray(1, 33)), y: b64u(pub.subarray(33)) },
    format: 'jwk',
  });
}

/** The private JWK of a derived X25519 or P-256 key, members in a fixed order. */
function curveJwk(crv: 'X25519' | 'P-256', d: Uint8Array, kid?: string): VectorJwk {
  const priv = crv === 'X25519' ? x25519Private(d) : p256Private(d);
  const j = priv.export({ format: 'jwk' }) as Record<string, string>;
  return crv === 'X25519'
    ? { kty: 'OKP', ...(kid ? { kid } : {}), crv, x: j.x!, d: j.d! }
    : { kty: 'EC', ...(kid ? { kid } : {}), crv, x: j.x!, y: j.y!, d: j.d! };
}

const big = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex')}`);
function bigB64u(n: bigint): string {
  const h = n.toString(16);
  return b64u(Buffer.from(h.length % 2 ? `0${h}` : h, 'hex'));
}

/** The first prime ≥ a `bits`-bit number of derived bytes (top two bits and the low bit set) with p − 1 coprime to 65537. */
function derivedPrime(label: string, bits: number): bigint {
  const bytes: Uint8Array[] = [];
  for (let i = 0; bytes.length * 32 < bits / 8; i++) bytes.push(derive(`${label}/${i}`));
  let c = big(Buffer.concat(bytes).subarray(0, bits / 8)) | (3n << BigInt(bits - 2)) | 1n;
  while (!checkPrimeSync(c) || (c - 1n) % 65537n === 0n) c += 2n;
  return c;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return ((s0 % m) + m) % m;
}

const rsaCache = new Map<string, VectorJwk>();
/** A deterministic RSA-2048 private JWK (e = 65537). Cached: the prime search is the slow part. */
function rsaJwk(kid: string): VectorJwk {
  let jwk = rsaCache.get(kid);
  if (jwk) return jwk;
  const p = derivedPrime(`key/${kid}/p`, 1024);
  const q = derivedPrime(`key/${kid}/q`, 1024);
  if (p === q) throw new Error('p = q');
  const e = 65537n;
  const n = p * q;
  const d = modInverse(e, (p - 1n) * (q - 1n));
  jwk = {
    kty: 'RSA',
    kid,
    n: bigB64u(n),
    e: 'AQAB',
    d: bigB64u(d),
    p: bigB64u(p),
    q: bigB64u(q),
    dp: bigB64u(d % (p - 1n)),
    dq: bigB64u(d % (q - 1n)),
    qi: bigB64u(modInverse(q, p)),
  };
  rsaCache.set(kid, jwk);
  return jwk;
}

// --- RSA-OAEP-256 with a fixed seed -------------------------------------------

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

function mgf1(seed: Uint8Array, length: number): Buffer {
  const out: Buffer[] = [];
  for (let counter = 0; out.length * 32 < length; counter++) {
    out.push(sha256(seed, Uint8Array.from([counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff])));
  }
  return Buffer.concat(out).subarray(0, length);
}

const xor = (a: Uint8Array, b: Uint8Array): Buffer => Buffer.from(a.map((x, i) => x ^ b[i]!));

/** EME-OAEP encoding (RFC 8017 §7.1.1) with SHA-256, MGF1-SHA-256, an empty label and the given seed. */
export function oaepEncode(message: Uint8Array, modulusBytes: number, seed: Uint8Array): Buffer {
  const hLen = 32;
  if (seed.length !== hLen || message.length > modulusBytes - 2 * hLen - 2) throw new Error('oaep: bad lengths');
  const db = Buffer.concat([sha256(new Uint8Array(0)), Buffer.alloc(modulusBytes - message.length - 2 * hLen - 2), Buffer.from([1]), message]);
  const maskedDb = xor(db, mgf1(seed, modulusBytes - hLen - 1));
  const maskedSeed = xor(seed, mgf1(maskedDb, hLen));
  return Buffer.concat([Buffer.from([0]), maskedSeed, maskedDb]);
}

// --- documents --------------------------------------------------------------

interface Location {
  at: string;
  value: unknown;
  indices: number[];
}

/** Every location of a compiled path, with the indices taken at its [*] steps. */
function locate(doc: unknown, path: FieldPath): Location[] {
  const out: Location[] = [];
  const go = (v: unknown, i: number, at: string, indices: number[]): void => {
    if (i === path.steps.length) {
      if (v !== undefined) out.push({ at: at === '' ? '$' : at, value: v, indices });
      return;
    }
    const s = path.steps[i]!;
    if (s.kind === 'each') {
      if (Array.isArray(v)) v.forEach((e, j) => go(e, i + 1, `${at}[${j}]`, [...indices, j]));
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, s.key)) {
      go((v as Record<string, unknown>)[s.key], i + 1, at === '' ? s.key : `${at}.${s.key}`, indices);
    }
  };
  go(doc, 0, '', []);
  return out;
}

/**
 * The context a token at `path` (reached through `indices`) is bound to, as
 * docs/format.md §6.6 says: the caller's pairs, plus for each bind path whose
 * steps up to its last [*] are a prefix of `path` (all of them, for a bind
 * path outside any array), `"$" + bind path` → JSON text of its value, taken
 * at the same indices.
 */
export function boundContext(doc: unknown, policy: FieldPolicy, path: FieldPath, indices: readonly number[], base: Context | undefined): Record<string, string> {
  const ctx: Record<string, string> = { ...base };
  for (const b of policy.bind) {
    let last = -1;
    b.steps.forEach((s, i) => {
      if (s.kind === 'each') last = i;
    });
    const prefix = b.steps.slice(0, last + 1);
    const applies = prefix.length <= path.steps.length && prefix.every((s, i) => {
      const t = path.steps[i]!;
      return s.kind === t.kind && (s.kind === 'each' || s.key === (t as { key: string }).key);
    });
    if (!applies) continue;
    let v: unknown = doc;
    let e = 0;
    for (const s of b.steps) v = s.kind === 'each' ? (v as unknown[])[indices[e++]!] : (v as Record<string, unknown>)[s.key];
    ctx[`$${b.text}`] = JSON.stringify(v);
  }
  return ctx;
}

const headerOf = (token: string): ProtectedHeader => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as ProtectedHeader;

function withHeader(token: string, header: Record<string, unknown>): string {
  const s = token.split('.');
  s[0] = b64u(Buffer.from(JSON.stringify(header), 'utf8'));
  return s.join('.');
}

function flipSegment(token: string, segment: number, byteIndex: number): string {
  const s = token.split('.');
  const bytes = Buffer.from(s[segment]!, 'base64url');
  bytes[byteIndex] = bytes[byteIndex]! ^ 0x01;
  s[segment] = b64u(bytes);
  return s.join('.');
}

/** Replaces the value at a concrete location (`a.b[1].c`, simple names only) in a deep copy. */
function replaceAt(doc: JsonValue, at: string, value: JsonValue): JsonValue {
  const copy = JSON.parse(JSON.stringify(doc)) as JsonValue;
  const steps = at.match(/[^.[\]]+|\[\d+\]/g)!.map((s) => (s.startsWith('[') ? Number(s.slice(1, -1)) : s));
  let holder = copy as Record<string | number, JsonValue>;
  for (const s of steps.slice(0, -1)) holder = holder[s] as Record<string | number, JsonValue>;
  holder[steps[steps.length - 1]!] = value;
  return copy;
}

const valueAt = (doc: JsonValue, at: string): JsonValue => {
  const steps = at.match(/[^.[\]]+|\[\d+\]/g)!.map((s) => (s.startsWith('[') ? Number(s.slice(1, -1)) : s));
  let v = doc as Record<string | number, JsonValue>;
  for (const s of steps) v = v[s] as Record<string | number, JsonValue>;
  return v as JsonValue;
};

/** Generates the `audiences` member with `engine` (byte-identical for both engines). */
export function generateAudienceVectors(engine: Engine): AudienceVectors {
  const shared = (kid: string): { keys: VectorJwk[] } => ({ keys: [{ kty: 'oct', kid, k: b64u(derive(`key/${kid}`)), key_ops: ['encrypt', 'decrypt'] }] });
  const keySets: Record<string, { keys: VectorJwk[] }> = {
    pci: shared('pci-2026'),
    pii: shared('pii-2026'),
    'pci-x25519': { keys: [curveJwk('X25519', derive('key/pci-x25519'), 'pci-x25519')] },
    'pci-p256': { keys: [curveJwk('P-256', derive('key/pci-p256'), 'pci-p256')] },
    'pci-rsa': { keys: [rsaJwk('pci-rsa')] },
  };
  const isShared = (name: string): boolean => keySets[name]!.keys[0]!.kty === 'oct';
  /** The reader's key set (private keys for public-key audiences). */
  const readerSet = (name: string): KeySet | PrivateKeySet =>
    isShared(name) ? KeySet.fromJwks(keySets[name] as unknown as Jwks) : PrivateKeySet.fromJwks(keySets[name]!);
  /** The writer's key set (public keys only for public-key audiences). */
  const writerSet = (name: string): KeySet | PublicKeySet =>
    isShared(name) ? KeySet.fromJwks(keySets[name] as unknown as Jwks) : PublicKeySet.of(PrivateKeySet.fromJwks(keySets[name]!));
  const ring = (keyring: Record<string, string>, side: 'reader' | 'writer'): FieldKeys =>
    Object.fromEntries(Object.entries(keyring).map(([aud, set]) => [aud, side === 'reader' ? readerSet(set) : writerSet(set)])) as FieldKeys;

  /** Seals `doc` with wireseal's encryptFields, every random input derived from `label`. */
  const sealDoc = (label: string, policyJson: FieldPolicyJson, keyring: Record<string, string>, doc: JsonValue, context: Context | undefined) => {
    const det = deterministicEngine(engine, `audiences/${label}`, []);
    const ephemeral: VectorJwk[] = [];
    const seeds: string[] = [];
    fixKeyManagementForVectors(det, {
      ephemeral: (crv) => {
        const jwk = curveJwk(crv, derive(`audiences/${label}/ephemeral/${ephemeral.length}`));
        ephemeral.push(jwk);
        const privateKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
        return { privateKey, publicKey: createPublicKey(privateKey) };
      },
      rsaOaep256: (publicKey, cek) => {
        const seed = derive(`audiences/${label}/oaep-seed/${seeds.length}`);
        seeds.push(b64u(seed));
        const bytes = (publicKey.asymmetricKeyDetails!.modulusLength! + 7) >> 3;
        return new Uint8Array(publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, oaepEncode(cek, bytes, seed)));
      },
    });
    const sealed = encryptFields(ring(keyring, 'writer'), doc, FieldPolicy.parse(policyJson), { engine: det, ...(context ? { context } : {}) }) as JsonValue;
    return { sealed, ephemeral, seeds };
  };

  const fields: AudienceFieldVector[] = [];
  const fieldDoc = (v: { name: string; description: string; policy: FieldPolicyJson; keyring: Record<string, string>; context?: Context; doc: JsonValue }): AudienceFieldVector => {
    const policy = FieldPolicy.parse(v.policy);
    const { sealed, ephemeral, seeds } = sealDoc(v.name, v.policy, v.keyring, v.doc, v.context);
    const tokens: AudienceTokenEntry[] = [];
    const ceks: Record<string, string> = {};
    const ephemeralBy: Record<string, VectorJwk> = {};
    const seedBy: Record<string, string> = {};
    for (const path of policy.paths) {
      const plain = locate(v.doc, path);
      const at = locate(sealed, path);
      plain.forEach((p, i) => {
        const token = at[i]!.value as string;
        const context = boundContext(v.doc, policy, path, p.indices, v.context);
        const wsc = contextDigest(context, engine);
        const header = headerOf(token);
        if (header.wsc !== wsc || header.wsf !== path.text) throw new Error(`${v.name} ${p.at}: wsc/wsf of the sealed token is not the independently computed one`);
        tokens.push({ audience: path.audience, path: path.text, at: p.at, value: p.value as JsonValue, context, wsc, token });
        if (ceks[path.audience] === undefined) {
          const setName = v.keyring[path.audience]!;
          const ek = Buffer.from(token.split('.')[1]!, 'base64url');
          if (isShared(setName)) {
            ceks[path.audience] = b64u(engine.keyUnwrap(derive(`key/${String(keySets[setName]!.keys[0]!.kid)}`), ek));
          } else {
            const set = PrivateKeySet.fromJwks(keySets[setName]!);
            ceks[path.audience] = b64u(publicUnwrap(engine, set.entry(set.kids[0]!)!, header, ek));
            if (header.epk !== undefined) ephemeralBy[path.audience] = ephemeral[Object.keys(ephemeralBy).length]!;
            else seedBy[path.audience] = seeds[Object.keys(seedBy).length]!;
          }
        }
      });
    }
    const partialRing = { pii: v.keyring.pii! };
    const vec: AudienceFieldVector = {
      name: v.name,
      description: v.description,
      policy: v.policy,
      keyring: v.keyring,
      ...(v.context ? { context: { ...v.context } } : {}),
      ceks,
      ...(Object.keys(ephemeralBy).length ? { ephemeral: ephemeralBy } : {}),
      ...(Object.keys(seedBy).length ? { oaepSeed: seedBy } : {}),
      doc: v.doc,
      sealed,
      tokens,
      partial: {
        keyring: partialRing,
        decrypted: tokens.filter((t) => t.audience in partialRing).map((t) => t.at),
        sealed: tokens.filter((t) => !(t.audience in partialRing)).map((t) => t.at),
      },
    };
    fields.push(vec);
    return vec;
  };

  const payment = (id: string): JsonValue => ({
    id,
    amount: 1999,
    card: { number: '4111111111111111', cvv: '737', expiry: '12/29' },
    customer: { name: 'Ada', ssn: '078-05-1120', dob: '1990-01-01' },
    accounts: [
      { accountId: 'acc-1', iban: 'DE89370400440532013000' },
      { accountId: 2, iban: 'FR1420041010050500013M02606' },
    ],
  });
  const twoAudiences: FieldPolicyJson = {
    audiences: { pci: ['card.number', 'card.cvv', 'accounts[*].iban'], pii: ['customer.ssn', 'customer.dob'] },
    bind: ['id', 'accounts[*].accountId'],
  };
  const topic = { topic: 'payments.v1' };
  const base = fieldDoc({
    name: 'two-audiences-bound',
    description:
      'audiences pci and pii, each under its own shared key (A256KW, one content key per document and audience); bound to the record id (every token) ' +
      'and to accounts[*].accountId (only the tokens under accounts[*], each to its own element: a string, then a number); caller context topic',
    policy: twoAudiences,
    keyring: { pci: 'pci', pii: 'pii' },
    context: topic,
    doc: payment('pay_7'),
  });
  const publicPolicy: FieldPolicyJson = {
    audiences: { pci: ['card.number', 'card.cvv', 'accounts[*].iban'], pii: ['customer.ssn'] },
    bind: ['id', 'accounts[*].accountId'],
  };
  const pk = (name: string, set: string, what: string): AudienceFieldVector =>
    fieldDoc({
      name,
      description:
        `pci is a public-key audience (${what}): the writer holds only the public key; every pci token of the document shares one ` +
        `encrypted key${set === 'pci-rsa' ? '' : ' and one epk'}. pii is a shared-key audience. Bound to id and accounts[*].accountId; no caller context`,
      policy: publicPolicy,
      keyring: { pci: set, pii: 'pii' },
      doc: payment('pay_42'),
    });
  const x25519 = pk('public-x25519', 'pci-x25519', 'ECDH-ES+A256KW, X25519');
  const p256 = pk('public-p256', 'pci-p256', 'ECDH-ES+A256KW, P-256');
  const rsa = pk('public-rsa', 'pci-rsa', 'RSA-OAEP-256, RSA 2048');

  // --- negative documents ---------------------------------------------------
  const negative: AudienceNegativeVector[] = [];
  const bad = (
    v: { name: string; description: string; from: AudienceFieldVector; doc: JsonValue; keyring?: Record<string, string>; at: string; path: string; code: string },
  ): void => {
    const policy = FieldPolicy.parse(v.from.policy);
    const path = policy.paths.find((p) => p.text === v.path)!;
    const loc = locate(v.doc, path).find((l) => l.at === v.at)!;
    negative.push({
      name: v.name,
      description: v.description,
      policy: v.from.policy,
      keyring: v.keyring ?? v.from.keyring,
      mode: 'strict',
      ...(v.from.context ? { context: { ...v.from.context } } : {}),
      doc: v.doc,
      audience: path.audience,
      path: v.path,
      at: v.at,
      expectedContext: boundContext(v.doc, policy, path, loc.indices, v.from.context),
      token: valueAt(v.doc, v.at) as string,
      code: v.code,
    });
  };
  // Another record (id pay_8), sealed for real: record pay_7's card.number token pasted into it.
  const other = sealDoc('record-pay_8', twoAudiences, base.keyring, payment('pay_8'), topic).sealed;
  bad({
    name: 'token-moved-between-records',
    description: 'record pay_7\'s card.number token pasted into record pay_8 (same key, path and topic): its "$id" is "\\"pay_7\\""',
    from: base,
    doc: replaceAt(other, 'card.number', valueAt(base.sealed, 'card.number')),
    at: 'card.number',
    path: 'card.number',
    code: 'ERR_CONTEXT_MISMATCH',
  });
  bad({
    name: 'array-elements-swapped',
    description: 'the iban tokens of accounts[0] and accounts[1] swapped: each is bound to its own element\'s accountId',
    from: base,
    doc: replaceAt(replaceAt(base.sealed, 'accounts[0].iban', valueAt(base.sealed, 'accounts[1].iban')), 'accounts[1].iban', valueAt(base.sealed, 'accounts[0].iban')),
    at: 'accounts[0].iban',
    path: 'accounts[*].iban',
    code: 'ERR_CONTEXT_MISMATCH',
  });
  bad({
    name: 'pci-token-at-pii-path',
    description: 'a pci token (card.number) pasted at customer.ssn, read by a pii-only reader: wsf is checked before the key is looked up',
    from: base,
    keyring: { pii: 'pii' },
    doc: replaceAt(base.sealed, 'customer.ssn', valueAt(base.sealed, 'card.number')),
    at: 'customer.ssn',
    path: 'customer.ssn',
    code: 'ERR_FIELD_MISMATCH',
  });
  const p256Epk = headerOf(valueAt(p256.sealed, 'card.number') as string).epk;
  bad({
    name: 'epk-wrong-curve',
    description: 'an X25519 token whose epk is replaced by a valid P-256 public key (the epk of public-p256)',
    from: x25519,
    doc: replaceAt(x25519.sealed, 'card.number', withHeader(valueAt(x25519.sealed, 'card.number') as string, { ...headerOf(valueAt(x25519.sealed, 'card.number') as string), epk: p256Epk })),
    at: 'card.number',
    path: 'card.number',
    code: 'ERR_TOKEN_MALFORMED',
  });
  bad({
    name: 'x25519-ek-flipped',
    description: 'one bit of the wrapped content key of an ECDH-ES+A256KW token flipped: AES key unwrap fails',
    from: x25519,
    doc: replaceAt(x25519.sealed, 'card.cvv', flipSegment(valueAt(x25519.sealed, 'card.cvv') as string, 1, 20)),
    at: 'card.cvv',
    path: 'card.cvv',
    code: 'ERR_DECRYPT',
  });
  bad({
    name: 'rsa-ek-flipped',
    description: 'one bit of the RSA-OAEP-256 encrypted key flipped: OAEP decoding fails',
    from: rsa,
    doc: replaceAt(rsa.sealed, 'card.number', flipSegment(valueAt(rsa.sealed, 'card.number') as string, 1, 100)),
    at: 'card.number',
    path: 'card.number',
    code: 'ERR_DECRYPT',
  });

  return {
    $comment:
      'Audiences, record binding and public-key field tokens (docs/format.md §6.6-6.8). keySets hold private keys (test keys only); ' +
      'a writer of a public-key audience holds only their public members. Each token lists the context it is bound to (caller pairs plus ' +
      '"$" + bind path -> JSON text of the bound value) and its wsc.',
    keySets,
    fields,
    negative,
  };
}
