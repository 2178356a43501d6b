/**
 * Key sets: a JWK Set (RFC 7517) of 256-bit `oct` keys. Exactly one key has
 * `encrypt` in `key_ops` (the primary, which seals); every key with `decrypt`
 * opens. Key bytes never appear in messages, `toJSON()` or `util.inspect`.
 */
import { decode, encode } from './base64url.ts';
import { defaultEngine } from './engine.ts';
import { KeySetInvalidError } from './errors.ts';

/** A JSON Web Key as wireseal accepts it. */
export interface OctJwk {
  kty: 'oct';
  kid: string;
  /** base64url of 32 bytes */
  k: string;
  key_ops?: Array<'encrypt' | 'decrypt'>;
  alg?: string;
  use?: string;
  [member: string]: unknown;
}

/** A JWK Set object. */
export interface Jwks {
  keys: OctJwk[];
}

/** Role of a key in a set. */
export type KeyRole = 'primary' | 'decrypt-only' | 'encrypt-only';

/** A key's public description: never its bytes. */
export interface KeyInfo {
  kid: string;
  role: KeyRole;
}

/** @internal A validated key. */
export interface KeyEntry {
  readonly kid: string;
  readonly bytes: Uint8Array;
  readonly canEncrypt: boolean;
  readonly canDecrypt: boolean;
  readonly jwk: Readonly<OctJwk>;
}

/** @internal A valid kid: 1-64 printable ASCII characters (docs/design.md, "Key set"). */
export const KID_RE = /^[\x20-\x7e]{1,64}$/;
const ALLOWED_JWK_ALGS = new Set(['A256KW', 'dir', 'A256GCM']);
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/** @internal Names a key in a message: its kid when it is a valid one, else its index. */
export function describeAt(index: number, kid: unknown): string {
  return typeof kid === 'string' && KID_RE.test(kid) ? `key "${kid}" (index ${index})` : `key at index ${index}`;
}

function validateKey(raw: unknown, index: number): KeyEntry {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new KeySetInvalidError(`key at index ${index} is not a JSON object`);
  }
  const jwk = raw as Record<string, unknown>;
  const where = describeAt(index, jwk.kid);
  if (jwk.kty !== 'oct') {
    const got = typeof jwk.kty === 'string' && /^[A-Za-z]{1,8}$/.test(jwk.kty) ? ` (got "${jwk.kty}")` : '';
    throw new KeySetInvalidError(`${where}: kty must be "oct"${got}`);
  }
  if (typeof jwk.kid !== 'string' || !KID_RE.test(jwk.kid)) {
    throw new KeySetInvalidError(`key at index ${index}: kid must be 1-64 printable ASCII characters`);
  }
  if (typeof jwk.k !== 'string') throw new KeySetInvalidError(`${where}: "k" is missing or not a string`);
  const decoded = decode(jwk.k);
  if (!decoded) throw new KeySetInvalidError(`${where}: "k" is not valid unpadded base64url`);
  // The key gets its own memory; the decoder's output may sit in Node's shared
  // Buffer pool (readable through any pooled Buffer's .buffer), so it is zeroed.
  const bytes = new Uint8Array(decoded);
  decoded.fill(0);
  if (bytes.length !== 32) throw new KeySetInvalidError(`${where}: "k" must decode to 32 bytes (AES-256), got ${bytes.length}`);
  if (jwk.alg !== undefined && !(typeof jwk.alg === 'string' && ALLOWED_JWK_ALGS.has(jwk.alg))) {
    throw new KeySetInvalidError(`${where}: alg must be absent or one of A256KW, dir, A256GCM`);
  }
  if (jwk.use !== undefined && jwk.use !== 'enc') throw new KeySetInvalidError(`${where}: use must be absent or "enc"`);
  let canEncrypt = false;
  let canDecrypt = true;
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops)) throw new KeySetInvalidError(`${where}: key_ops must be an array`);
    const ops = new Set<unknown>();
    for (const op of jwk.key_ops) {
      if (op !== 'encrypt' && op !== 'decrypt') {
        throw new KeySetInvalidError(`${where}: key_ops may hold only "encrypt" and "decrypt"`);
      }
      if (ops.has(op)) throw new KeySetInvalidError(`${where}: key_ops lists "${op}" twice`);
      ops.add(op);
    }
    canEncrypt = ops.has('encrypt');
    canDecrypt = ops.has('decrypt');
  }
  const copy = { ...(jwk as OctJwk) };
  if (Array.isArray(copy.key_ops)) copy.key_ops = [...copy.key_ops];
  return { kid: jwk.kid, bytes, canEncrypt, canDecrypt, jwk: Object.freeze(copy) };
}

/** Options for {@link KeySet.generate}. */
export interface GenerateOptions {
  /** The new primary key's id; defaults to the current UTC year-month (`2026-11`). */
  kid?: string;
}

function defaultKid(): string {
  const d = new Date();
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * An immutable, validated set of AES-256 keys. Build one with
 * {@link KeySet.fromJwks} or {@link KeySet.generate}; rotation helpers return
 * new sets.
 */
export class KeySet {
  readonly #byKid: Map<string, KeyEntry>;
  readonly #primary: KeyEntry;

  private constructor(entries: KeyEntry[]) {
    const byKid = new Map<string, KeyEntry>();
    let primary: KeyEntry | undefined;
    entries.forEach((e, i) => {
      if (byKid.has(e.kid)) throw new KeySetInvalidError(`key "${e.kid}" (index ${i}): kid is not unique`);
      byKid.set(e.kid, e);
      if (e.canEncrypt) {
        if (primary) {
          throw new KeySetInvalidError(`key "${e.kid}" (index ${i}): more than one key has "encrypt" in key_ops (also "${primary.kid}"); exactly one primary is allowed`);
        }
        primary = e;
      }
    });
    if (entries.length === 0) throw new KeySetInvalidError('key set has no keys');
    if (!primary) throw new KeySetInvalidError('key set has no primary: exactly one key must have "encrypt" in key_ops');
    this.#byKid = byKid;
    this.#primary = primary;
  }

  /**
   * Parses and validates a JWK Set given as JSON text, bytes or an object.
   * @throws KeySetInvalidError naming the offending kid or index, never key bytes
   */
  static fromJwks(jwks: string | Uint8Array | Jwks | { keys: unknown }): KeySet {
    let obj: unknown = jwks;
    if (typeof jwks === 'string' || jwks instanceof Uint8Array) {
      const text = typeof jwks === 'string' ? jwks : new TextDecoder('utf-8', { fatal: false }).decode(jwks);
      try {
        obj = JSON.parse(text);
      } catch {
        throw new KeySetInvalidError('key set is not valid JSON');
      }
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new KeySetInvalidError('key set must be a JSON object with a "keys" array');
    const keys = (obj as { keys?: unknown }).keys;
    if (!Array.isArray(keys)) throw new KeySetInvalidError('key set must have a "keys" array');
    return new KeySet(keys.map(validateKey));
  }

  /** Generates a key set holding one fresh primary key. */
  static generate(options: GenerateOptions = {}): KeySet {
    return new KeySet([validateKey(KeySet.generateKey({ kid: options.kid ?? defaultKid(), primary: true }), 0)]);
  }

  /**
   * Generates one key as a JWK: a primary (`encrypt`, `decrypt`) or, by
   * default, decrypt-only, ready to be added to a set.
   */
  static generateKey(options: { kid?: string; primary?: boolean } = {}): OctJwk {
    const kid = options.kid ?? defaultKid();
    const k = encode(defaultEngine.randomBytes(32).slice());
    return { kty: 'oct', kid, k, key_ops: options.primary ? ['encrypt', 'decrypt'] : ['decrypt'] };
  }

  /** The JWK Set, key bytes included. Handle it as a secret. */
  toJwks(): Jwks {
    return { keys: [...this.#byKid.values()].map((e) => ({ ...e.jwk, ...(e.jwk.key_ops ? { key_ops: [...e.jwk.key_ops] } : {}) })) };
  }

  /** The primary key's id: the key that seals. */
  get primaryKid(): string {
    return this.#primary.kid;
  }

  /** Every kid with its role, in set order. Never key bytes. */
  list(): KeyInfo[] {
    return [...this.#byKid.values()].map((e) => ({
      kid: e.kid,
      role: e.canEncrypt ? (e.canDecrypt ? 'primary' : 'encrypt-only') : 'decrypt-only',
    }));
  }

  /** True when the set holds a key with this kid. */
  has(kid: string): boolean {
    return this.#byKid.has(kid);
  }

  /** Number of keys. */
  get size(): number {
    return this.#byKid.size;
  }

  /** @internal The primary key entry. */
  primaryEntry(): KeyEntry {
    return this.#primary;
  }

  /** @internal A key entry by kid. */
  entry(kid: string): KeyEntry | undefined {
    return this.#byKid.get(kid);
  }

  /**
   * A new set that also holds `other`'s decrypting keys as decrypt-only (keys
   * whose kid this set already has are skipped). Used for AWSPREVIOUS key
   * sets. A key that cannot decrypt in `other` (an encrypt-only key of a
   * send-only service) is left out: merging never grants decryption.
   */
  withDecryptOnly(other: KeySet): KeySet {
    const entries = [...this.#byKid.values()];
    for (const e of other.#byKid.values()) {
      if (this.#byKid.has(e.kid) || !e.canDecrypt) continue;
      entries.push({ ...e, canEncrypt: false, canDecrypt: true, jwk: Object.freeze({ ...e.jwk, key_ops: ['decrypt'] as Array<'encrypt' | 'decrypt'> }) });
    }
    return new KeySet(entries);
  }

  /**
   * Rotation step 1: a new set with a new decrypt-only key (generated unless
   * `jwk` is given). Roll it out to every reader before promoting it.
   */
  addKey(options: { kid?: string; jwk?: OctJwk } = {}): KeySet {
    const jwk = options.jwk ?? KeySet.generateKey(options.kid === undefined ? {} : { kid: options.kid });
    const entry = validateKey({ ...jwk, key_ops: ['decrypt'] }, this.#byKid.size);
    return new KeySet([...this.#byKid.values(), entry]);
  }

  /** Rotation step 2: `kid` becomes the primary; the old primary becomes decrypt-only. */
  promote(kid: string): KeySet {
    if (!this.#byKid.has(kid)) throw new KeySetInvalidError(`cannot promote key "${kid}": no such kid`);
    return new KeySet([...this.#byKid.values()].map((e) => withOps(e, e.kid === kid ? ['encrypt', 'decrypt'] : ['decrypt'])));
  }

  /** A new set without `kid` (never the primary: promote another key first). */
  remove(kid: string): KeySet {
    const e = this.#byKid.get(kid);
    if (!e) throw new KeySetInvalidError(`cannot remove key "${kid}": no such kid`);
    if (e === this.#primary) throw new KeySetInvalidError(`cannot remove key "${kid}": it is the primary; promote another key first`);
    return new KeySet([...this.#byKid.values()].filter((x) => x.kid !== kid));
  }

  /** Redacted: kids and roles only, so logging a key set never leaks keys. */
  toJSON(): { primary: string; keys: KeyInfo[] } {
    return { primary: this.primaryKid, keys: this.list() };
  }

  /** Redacted description. */
  toString(): string {
    return `KeySet(primary=${this.primaryKid}, kids=[${[...this.#byKid.keys()].join(', ')}])`;
  }

  /** Redacted in `util.inspect` / console output. */
  [inspectSymbol](): string {
    return this.toString();
  }
}

function withOps(e: KeyEntry, ops: Array<'encrypt' | 'decrypt'>): KeyEntry {
  return { ...e, canEncrypt: ops.includes('encrypt'), canDecrypt: ops.includes('decrypt'), jwk: Object.freeze({ ...e.jwk, key_ops: ops }) };
}
