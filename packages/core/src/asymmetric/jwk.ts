/**
 * Validation of one asymmetric JWK (RFC 7517/7518/8037) for the public-key
 * profiles: RSA 2048–8192 bits with e = 65537, EC P-256, OKP X25519. A key
 * pair must carry its private part and the private part must belong to the
 * public one; a public key must carry no private member. Messages name the
 * kid or index and never contain key material.
 */
import type { KeyObject } from 'node:crypto';
import { KeySetInvalidError } from '../errors.ts';
import { describeAt as where, KID_RE } from '../keyset.ts';

export { KID_RE };
import { nodeCrypto } from './node-crypto.ts';

/** JWE key management with a public key, as the `application/jose` public-key profile uses them. */
export type PublicJweAlg = 'RSA-OAEP-256' | 'ECDH-ES+A256KW';

/**
 * wireseal's label for the HPKE suite in a JWK's `alg` (not an IANA name):
 * RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
 */
export const HPKE_ALG = 'HPKE-X25519-SHA256-A256GCM';

/** Everything an asymmetric key can be used for. */
export type PublicKeyAlg = PublicJweAlg | typeof HPKE_ALG;

/** What a key is, without its key material. */
export interface AsymmetricKeyInfo {
  /** The key id. */
  readonly kid: string;
  /** `RSA`, `EC` (P-256) or `OKP` (X25519). */
  readonly kty: 'RSA' | 'EC' | 'OKP';
  /** `P-256` or `X25519`; absent for RSA. */
  readonly crv?: 'P-256' | 'X25519';
  /** RSA modulus length in bits. */
  readonly bits?: number;
  /** The algorithms this key may be used with (its `alg`, or every one its type allows). */
  readonly algs: readonly PublicKeyAlg[];
  /** True when the private part is held. */
  readonly private: boolean;
}

/** @internal A validated key. */
export interface AsymmetricEntry {
  readonly kid: string;
  readonly info: AsymmetricKeyInfo;
  /** The public JWK (public members, `kid`, and `alg`/`use` when given). */
  readonly publicJwk: Readonly<Record<string, unknown>>;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject | undefined;
  /** X25519 keys: the raw 32-byte public key (HPKE). */
  readonly x25519: Uint8Array | undefined;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const ALGS_FOR: Readonly<Record<'RSA' | 'P-256' | 'X25519', readonly PublicKeyAlg[]>> = {
  RSA: ['RSA-OAEP-256'],
  'P-256': ['ECDH-ES+A256KW'],
  X25519: ['ECDH-ES+A256KW', HPKE_ALG],
};
/** RSA bounds (the 2048–8192 bits). */
export const RSA_MIN_BITS = 2048;
/** RSA bounds (the 2048–8192 bits). */
export const RSA_MAX_BITS = 8192;


/** A short, safe rendering of a JWK member for a message: short identifiers only. */
function shown(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z0-9+_.-]{1,24}$/.test(value) ? ` (got "${value}")` : '';
}

function b64uBytes(value: unknown, at: string, member: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value) || value.length % 4 === 1) {
    throw new KeySetInvalidError(`${at}: "${member}" is missing or not base64url`);
  }
  return Buffer.from(value, 'base64url');
}

function bigint(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/** The RSA private members are one consistent key (no private-key operation needed). */
function checkRsaPair(jwk: Record<string, unknown>, at: string): void {
  const [n, e, d, p, q, dp, dq, qi] = (['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const).map((m) => bigint(b64uBytes(jwk[m], at, m))) as [
    bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint,
  ];
  const ok =
    p > 1n && q > 1n && p * q === n && dp === d % (p - 1n) && dq === d % (q - 1n) && (e * dp) % (p - 1n) === 1n && (e * dq) % (q - 1n) === 1n && (qi * q) % p === 1n;
  if (!ok) throw new KeySetInvalidError(`${at}: the private part (d, p, q, dp, dq, qi) does not belong to the public key (n, e)`);
}

/** An EC/X25519 private key belongs to the public key: one key agreement each way with a throw-away key. */
function checkAgreementPair(privateKey: KeyObject, publicKey: KeyObject, at: string): void {
  const crypto = nodeCrypto();
  const type = publicKey.asymmetricKeyType === 'x25519' ? 'x25519' : 'ec';
  const probe = type === 'x25519' ? crypto.generateKeyPairSync('x25519') : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const a = crypto.diffieHellman({ privateKey, publicKey: probe.publicKey });
  const b = crypto.diffieHellman({ privateKey: probe.privateKey, publicKey });
  if (!a.equals(b)) throw new KeySetInvalidError(`${at}: the private part (d) does not belong to the public key`);
}

function checkUsage(jwk: Record<string, unknown>, at: string): void {
  if (jwk.use !== undefined && jwk.use !== 'enc') throw new KeySetInvalidError(`${at}: use must be absent or "enc"${shown(jwk.use)}: this is not an encryption key`);
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.every((op) => typeof op === 'string')) {
      throw new KeySetInvalidError(`${at}: key_ops must be an array of strings`);
    }
    if (jwk.key_ops.some((op) => op === 'sign' || op === 'verify')) throw new KeySetInvalidError(`${at}: key_ops names sign/verify: this is a signing key`);
  }
}

function algsOf(jwk: Record<string, unknown>, kind: 'RSA' | 'P-256' | 'X25519', at: string): PublicKeyAlg[] {
  const allowed = ALGS_FOR[kind];
  if (jwk.alg === undefined) return [...allowed];
  if (typeof jwk.alg === 'string' && (allowed as readonly string[]).includes(jwk.alg)) return [jwk.alg as PublicKeyAlg];
  throw new KeySetInvalidError(`${at}: alg must be absent or one of ${allowed.join(', ')} for a ${kind} key${shown(jwk.alg)}`);
}

/**
 * Validates one JWK.
 * @param raw - the JWK
 * @param index - its index in the set (for messages)
 * @param need - `private`: a key pair (private part required); `public`: a public key (private members refused)
 * @throws KeySetInvalidError (`ERR_KEYSET_INVALID`) naming the kid or index and what is wrong
 */
export function validateAsymmetricJwk(raw: unknown, index: number, need: 'private' | 'public'): AsymmetricEntry {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new KeySetInvalidError(`key at index ${index} is not a JSON object`);
  const jwk = raw as Record<string, unknown>;
  const at = where(index, jwk.kid);
  if (typeof jwk.kid !== 'string' || !KID_RE.test(jwk.kid)) throw new KeySetInvalidError(`key at index ${index}: kid must be 1-64 printable ASCII characters`);
  const kid = jwk.kid;
  let kind: 'RSA' | 'P-256' | 'X25519';
  if (jwk.kty === 'RSA') kind = 'RSA';
  else if (jwk.kty === 'EC') {
    if (jwk.crv !== 'P-256') throw new KeySetInvalidError(`${at}: EC keys must use crv "P-256"${shown(jwk.crv)}`);
    kind = 'P-256';
  } else if (jwk.kty === 'OKP') {
    if (jwk.crv === 'Ed25519' || jwk.crv === 'Ed448') throw new KeySetInvalidError(`${at}: crv "${jwk.crv}" is a signature curve; encryption keys use "X25519"`);
    if (jwk.crv !== 'X25519') throw new KeySetInvalidError(`${at}: OKP keys must use crv "X25519"${shown(jwk.crv)}`);
    kind = 'X25519';
  } else if (jwk.kty === 'oct') {
    throw new KeySetInvalidError(`${at}: kty "oct" is a shared (symmetric) key; this set holds RSA, EC P-256 or OKP X25519 keys`);
  } else {
    throw new KeySetInvalidError(`${at}: kty must be "RSA", "EC" or "OKP"${shown(jwk.kty)}`);
  }
  checkUsage(jwk, at);
  const algs = algsOf(jwk, kind, at);
  const present = PRIVATE_MEMBERS.filter((m) => jwk[m] !== undefined);
  if (need === 'public' && present.length > 0) {
    throw new KeySetInvalidError(`${at}: has private member(s) ${present.join(', ')}; this set must hold public keys only (remove them, and treat the key as leaked)`);
  }
  if (need === 'private' && jwk.d === undefined) throw new KeySetInvalidError(`${at}: the private part ("d") is missing; this set needs key pairs`);
  if (jwk.oth !== undefined) throw new KeySetInvalidError(`${at}: multi-prime RSA keys ("oth") are not supported`);

  const crypto = nodeCrypto();
  const members: Record<string, unknown> = { kty: jwk.kty };
  if (kind === 'RSA') {
    members.n = jwk.n;
    members.e = jwk.e;
    b64uBytes(jwk.n, at, 'n');
    if (jwk.e !== 'AQAB') throw new KeySetInvalidError(`${at}: RSA public exponent "e" must be 65537 ("AQAB")`);
  } else {
    members.crv = jwk.crv;
    members.x = jwk.x;
    if (b64uBytes(jwk.x, at, 'x').length !== 32) throw new KeySetInvalidError(`${at}: "x" must decode to 32 bytes for ${kind}`);
    if (kind === 'P-256') {
      members.y = jwk.y;
      if (b64uBytes(jwk.y, at, 'y').length !== 32) throw new KeySetInvalidError(`${at}: "y" must decode to 32 bytes for P-256`);
    }
  }
  let publicKey: KeyObject;
  try {
    publicKey = crypto.createPublicKey({ key: members as never, format: 'jwk' });
  } catch {
    throw new KeySetInvalidError(`${at}: not a valid ${kind} public key${kind === 'P-256' ? ' (is the point on the curve?)' : ''}`);
  }
  if (kind === 'RSA') {
    const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) throw new KeySetInvalidError(`${at}: RSA keys must be ${RSA_MIN_BITS}-${RSA_MAX_BITS} bits, got ${bits}`);
  }
  let privateKey: KeyObject | undefined;
  if (need === 'private') {
    const priv: Record<string, unknown> = { ...members };
    const names = kind === 'RSA' ? ['d', 'p', 'q', 'dp', 'dq', 'qi'] : ['d'];
    for (const m of names) {
      b64uBytes(jwk[m], at, m);
      priv[m] = jwk[m];
    }
    if (kind !== 'RSA' && Buffer.from(jwk.d as string, 'base64url').length !== 32) throw new KeySetInvalidError(`${at}: "d" must decode to 32 bytes for ${kind}`);
    try {
      privateKey = crypto.createPrivateKey({ key: priv as never, format: 'jwk' });
    } catch {
      throw new KeySetInvalidError(`${at}: not a valid ${kind} private key`);
    }
    if (kind === 'RSA') checkRsaPair(jwk, at);
    else if (kind === 'X25519') {
      // node:crypto derives the X25519 public key from d and ignores x: compare.
      const derived = Buffer.from(String(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x), 'base64url');
      if (!derived.equals(Buffer.from(jwk.x as string, 'base64url'))) {
        throw new KeySetInvalidError(`${at}: the private part (d) does not belong to the public key (x)`);
      }
    } else checkAgreementPair(privateKey, publicKey, at);
  }
  const publicJwk: Record<string, unknown> = { ...members, kid };
  if (jwk.alg !== undefined) publicJwk.alg = jwk.alg;
  if (jwk.use !== undefined) publicJwk.use = jwk.use;
  const info: AsymmetricKeyInfo = Object.freeze({
    kid,
    kty: jwk.kty as AsymmetricKeyInfo['kty'],
    ...(kind === 'RSA' ? { bits: publicKey.asymmetricKeyDetails?.modulusLength ?? 0 } : { crv: kind }),
    algs: Object.freeze(algs),
    private: privateKey !== undefined,
  });
  return Object.freeze({
    kid,
    info,
    publicJwk: Object.freeze(publicJwk),
    publicKey,
    privateKey,
    x25519: kind === 'X25519' ? new Uint8Array(Buffer.from(jwk.x as string, 'base64url')) : undefined,
  });
}
