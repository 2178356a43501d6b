/**
 * Asymmetric key sets: JWK Sets (RFC 7517) of RSA (2048–8192 bits), EC P-256
 * and OKP X25519 keys, validated when loaded.
 *
 * - {@link PrivateKeySet}: key pairs. A server's keys (it decrypts requests
 *   by `kid`; several at once, so a rotation needs no downtime) or a client's
 *   own keys (it decrypts responses).
 * - {@link PublicKeySet}: public keys only. The server's registry of client
 *   keys (`kid` = the client key id a request names for its response), or the
 *   server's published keys on the client side.
 *
 * Key material never appears in messages, `toJSON()` or `util.inspect`.
 */
import { KeySetInvalidError } from '../errors.ts';
import { nodeCrypto } from './node-crypto.ts';
import { validateAsymmetricJwk } from './jwk.ts';
import type { AsymmetricEntry, AsymmetricKeyInfo, PublicKeyAlg } from './jwk.ts';

/** A JWK Set as JSON text, UTF-8 bytes or a parsed object. */
export type JwksInput = string | Uint8Array | { keys: readonly unknown[] };

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

function parseJwks(input: JwksInput): readonly unknown[] {
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input));
    } catch {
      throw new KeySetInvalidError('key set is not valid JSON');
    }
  }
  if (value === null || typeof value !== 'object' || !Array.isArray((value as { keys?: unknown }).keys)) {
    throw new KeySetInvalidError('key set must be a JSON object with a "keys" array (a JWK Set)');
  }
  const keys = (value as { keys: unknown[] }).keys;
  if (keys.length === 0) throw new KeySetInvalidError('key set has no keys');
  return keys;
}

function load(input: JwksInput, need: 'private' | 'public'): Map<string, AsymmetricEntry> {
  const byKid = new Map<string, AsymmetricEntry>();
  parseJwks(input).forEach((raw, i) => {
    const entry = validateAsymmetricJwk(raw, i, need);
    if (byKid.has(entry.kid)) throw new KeySetInvalidError(`key "${entry.kid}" (index ${i}): kid is not unique in the set`);
    byKid.set(entry.kid, entry);
  });
  return byKid;
}

/** Options for generating a key (tests, tooling, first set-up). */
export interface GenerateKeyOptions {
  /** The key id. */
  kid: string;
  /** `RSA` (default 3072 bits), `P-256` or `X25519`. */
  type: 'RSA' | 'P-256' | 'X25519';
  /** RSA modulus length, 2048–8192. Default 3072. */
  bits?: number;
  /** Restrict the key to one algorithm (`alg` member). Default: none (every algorithm its type allows). */
  alg?: PublicKeyAlg;
}

/** Common read-only surface of both set types. */
abstract class AsymmetricKeySet {
  readonly #byKid: Map<string, AsymmetricEntry>;

  /** @internal */
  protected constructor(byKid: Map<string, AsymmetricEntry>) {
    this.#byKid = byKid;
  }

  /** Key ids in set order. */
  get kids(): string[] {
    return [...this.#byKid.keys()];
  }

  /** Number of keys. */
  get size(): number {
    return this.#byKid.size;
  }

  /** What each key is (type, curve or size, algorithms), never key material. */
  list(): AsymmetricKeyInfo[] {
    return [...this.#byKid.values()].map((e) => e.info);
  }

  /** True when the set holds `kid`. */
  has(kid: string): boolean {
    return this.#byKid.has(kid);
  }

  /** @internal The validated key for `kid`, if any. */
  entry(kid: string): AsymmetricEntry | undefined {
    return this.#byKid.get(kid);
  }

  /** @internal Keys usable with `alg`, in set order. */
  usableWith(alg: PublicKeyAlg): AsymmetricEntry[] {
    return [...this.#byKid.values()].filter((e) => e.info.algs.includes(alg));
  }

  /** The public JWK Set (what to hand to the other side): public members, `kid`, `alg`/`use` when set. */
  publicJwks(): { keys: Array<Record<string, unknown>> } {
    return { keys: [...this.#byKid.values()].map((e) => ({ ...e.publicJwk })) };
  }

  /** Kids only: key material never serialises by accident. */
  toJSON(): { kids: string[] } {
    return { kids: this.kids };
  }

  /** Kids only, for `util.inspect` / `console.log`. */
  [inspectSymbol](): string {
    return `${this.constructor.name} { kids: ${JSON.stringify(this.kids)} }`;
  }
}

/**
 * Key pairs, each with its private part, validated when loaded.
 * @example
 * const serverKeys = PrivateKeySet.fromJwks(await readFile('server-keys.json', 'utf8'));
 * const published = serverKeys.publicJwks(); // give this to partners
 */
export class PrivateKeySet extends AsymmetricKeySet {
  private constructor(byKid: Map<string, AsymmetricEntry>) {
    super(byKid);
  }

  /**
   * Parses and validates a JWK Set of key pairs.
   * @throws KeySetInvalidError (`ERR_KEYSET_INVALID`) naming the kid or index: wrong `kty`/`crv`, RSA size
   * outside 2048–8192 or `e` ≠ 65537, a missing or mismatched private part, a signing key, an `alg` the
   * key type does not allow, a duplicate kid
   */
  static fromJwks(input: JwksInput): PrivateKeySet {
    return new PrivateKeySet(load(input, 'private'));
  }

  /**
   * Generates a set with one fresh key pair (tests, tooling).
   * @example
   * const keys = PrivateKeySet.generate({ kid: 'server-2026', type: 'X25519' });
   */
  static generate(options: GenerateKeyOptions): PrivateKeySet {
    return PrivateKeySet.fromJwks({ keys: [generateJwk(options)] });
  }

  /** A new set with the keys of both (this set's first); kids must stay unique. */
  concat(other: PrivateKeySet): PrivateKeySet {
    return PrivateKeySet.fromJwks({ keys: [...this.toPrivateJwks().keys, ...other.toPrivateJwks().keys] });
  }

  /**
   * The private JWK Set, for storing it (Secrets Manager, a file readable by the service only).
   * Handle the result as a secret.
   */
  toPrivateJwks(): { keys: Array<Record<string, unknown>> } {
    const keys: Array<Record<string, unknown>> = [];
    for (const kid of this.kids) {
      const e = this.entry(kid)!;
      const jwk = e.privateKey!.export({ format: 'jwk' }) as Record<string, unknown>;
      keys.push({ ...jwk, ...e.publicJwk });
    }
    return { keys };
  }
}

/**
 * Public keys only (a private member is refused), validated when loaded.
 * @example
 * const clients = PublicKeySet.fromJwks(registryJson); // kid = the client key id
 */
export class PublicKeySet extends AsymmetricKeySet {
  private constructor(byKid: Map<string, AsymmetricEntry>) {
    super(byKid);
  }

  /**
   * Parses and validates a JWK Set of public keys.
   * @throws KeySetInvalidError (`ERR_KEYSET_INVALID`) naming the kid or index: a private member, wrong
   * `kty`/`crv`, RSA size outside 2048–8192, a point not on the curve, a signing key, a duplicate kid
   */
  static fromJwks(input: JwksInput): PublicKeySet {
    return new PublicKeySet(load(input, 'public'));
  }

  /** The public keys of a key-pair set. */
  static of(keys: PrivateKeySet): PublicKeySet {
    return PublicKeySet.fromJwks(keys.publicJwks());
  }
}

/** A fresh key as a private JWK. */
function generateJwk(options: GenerateKeyOptions): Record<string, unknown> {
  const crypto = nodeCrypto();
  let pair;
  if (options.type === 'RSA') {
    pair = crypto.generateKeyPairSync('rsa', { modulusLength: options.bits ?? 3072, publicExponent: 0x10001 });
  } else if (options.type === 'P-256') {
    pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  } else if (options.type === 'X25519') {
    pair = crypto.generateKeyPairSync('x25519');
  } else {
    throw new KeySetInvalidError(`cannot generate a key of type ${JSON.stringify(options.type)}: use RSA, P-256 or X25519`);
  }
  const jwk = pair.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return { ...jwk, kid: options.kid, use: 'enc', ...(options.alg ? { alg: options.alg } : {}) };
}
