/**
 * Public-key key management for field tokens (RFC 7518 §4.3 RSA-OAEP-256,
 * §4.6 ECDH-ES+A256KW on X25519 and P-256). The writer holds only the public
 * key: it draws the content key, and either encrypts it to the reader's RSA
 * key or agrees a key-encryption key with an ephemeral key pair (`epk`) and
 * wraps it. One key agreement or transport per document and audience, shared
 * by that audience's tokens; each token is still a standalone JWE. On Node,
 * synchronously through node:crypto.
 */
import type { KeyObject } from 'node:crypto';
import { encode } from '../base64url.ts';
import type { Engine } from '../engine.ts';
import { AlgUnsupportedError, DecryptError, KeyUnknownError, TokenMalformedError } from '../errors.ts';
import type { AsymmetricEntry, PublicJweAlg } from '../asymmetric/jwk.ts';
import { nodeCrypto } from '../asymmetric/node-crypto.ts';
import type { ProtectedHeader } from './header.ts';

/** The `alg` a public key seals field tokens with: RSA-OAEP-256 for RSA keys, ECDH-ES+A256KW for P-256 and X25519. */
export function publicAlgOf(entry: AsymmetricEntry): PublicJweAlg | undefined {
  const algs = entry.info.algs;
  if (algs.includes('RSA-OAEP-256')) return 'RSA-OAEP-256';
  if (algs.includes('ECDH-ES+A256KW')) return 'ECDH-ES+A256KW';
  return undefined;
}

/** The public members of an ephemeral key, as the `epk` header member. */
export type Epk = Readonly<Record<string, string>>;

const te = new TextEncoder();

function u32(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/**
 * @internal The Concat KDF of RFC 7518 §4.6.2 for a 256-bit key-encryption key:
 * one SHA-256 round over counter 1, Z, AlgorithmID, empty PartyUInfo and
 * PartyVInfo (`apu`/`apv` are not used), and SuppPubInfo = 256.
 */
export function concatKdf(engine: Engine, z: Uint8Array, alg: string): Uint8Array {
  const algId = te.encode(alg);
  const parts = [u32(1), z, u32(algId.length), algId, u32(0), u32(0), u32(256)];
  const input = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    input.set(p, at);
    at += p.length;
  }
  return engine.sha256(input).subarray(0, 32);
}

/**
 * @internal For the conformance vectors only (scripts/vectors.ts): the
 * randomness of key management that does not come from `engine.randomBytes`
 * (the ephemeral key pair of ECDH-ES, the seed of RSA-OAEP), fixed for one
 * engine object the vector script made. No other engine is ever registered.
 */
export interface FixedKeyManagement {
  /** The ephemeral key pair for an ECDH-ES agreement on `crv`. */
  ephemeral(crv: 'X25519' | 'P-256'): { privateKey: KeyObject; publicKey: KeyObject };
  /** RSA-OAEP-256 encryption of the content key (with a fixed seed). */
  rsaOaep256(publicKey: KeyObject, cek: Uint8Array): Uint8Array;
}
const fixedFor = new WeakMap<Engine, FixedKeyManagement>();

/** @internal Registers fixed key-management randomness for `engine` (conformance vectors only). */
export function fixKeyManagementForVectors(engine: Engine, fixed: FixedKeyManagement): void {
  fixedFor.set(engine, fixed);
}

/** @internal A fresh content key for a public-key audience: the key, its encrypted-key segment and, for ECDH-ES, the `epk`. */
export function publicContentKey(engine: Engine, entry: AsymmetricEntry, alg: PublicJweAlg): { cek: Uint8Array; ek: string; epk: Epk | undefined } {
  const crypto = nodeCrypto();
  const fixed = fixedFor.get(engine);
  const cek = engine.randomBytes(32);
  if (alg === 'RSA-OAEP-256') {
    const ek = fixed
      ? fixed.rsaOaep256(entry.publicKey, cek)
      : crypto.publicEncrypt({ key: entry.publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
    return { cek, ek: encode(ek), epk: undefined };
  }
  const x25519 = entry.info.crv === 'X25519';
  const pair = fixed
    ? fixed.ephemeral(x25519 ? 'X25519' : 'P-256')
    : x25519 ? crypto.generateKeyPairSync('x25519') : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const z = crypto.diffieHellman({ privateKey: pair.privateKey, publicKey: entry.publicKey });
  const kek = concatKdf(engine, z, alg);
  const jwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const epk: Epk = x25519 ? { kty: 'OKP', crv: 'X25519', x: jwk.x! } : { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! };
  return { cek, ek: encode(engine.keyWrap(kek, cek)), epk };
}

/**
 * @internal What a public-key field token's header must be for `entry` to
 * open it, checked for every token (also when its content key is already
 * known from a neighbour): the key may decrypt and serves the `alg`; no
 * `apu`/`apv` (wireseal's key derivation uses none, so a token with them is
 * refused as unsupported rather than failing as a wrong key); for ECDH-ES an
 * `epk` that is a public key on the key's curve.
 * @returns the `alg`
 */
export function checkPublicHeader(entry: AsymmetricEntry, header: ProtectedHeader): PublicJweAlg {
  if (!entry.privateKey) throw new KeyUnknownError(`key ${JSON.stringify(entry.kid)} is a public key: it cannot open (the writer's key set holds no decryption key)`);
  const alg = header.alg;
  if (!(entry.info.algs as readonly string[]).includes(alg)) throw new KeyUnknownError(`key ${JSON.stringify(entry.kid)} is not usable with ${JSON.stringify(alg)}`);
  if (header.apu !== undefined || header.apv !== undefined) throw new AlgUnsupportedError('token header has "apu"/"apv": wireseal\'s ECDH-ES key derivation uses no party information');
  if (alg === 'ECDH-ES+A256KW') {
    const epk = header.epk as Record<string, unknown> | undefined;
    const crv = entry.info.crv;
    if (epk === null || typeof epk !== 'object' || Array.isArray(epk) || epk.crv !== crv || epk.kty !== (crv === 'X25519' ? 'OKP' : 'EC') || 'd' in epk ||
      typeof epk.x !== 'string' || (crv === 'P-256' && typeof epk.y !== 'string')) {
      throw new TokenMalformedError(`token "epk" must be a public ${crv} key (kty ${crv === 'X25519' ? 'OKP' : 'EC'})`);
    }
  } else if (header.epk !== undefined) {
    throw new TokenMalformedError('token has an "epk" but its alg is RSA-OAEP-256');
  }
  return alg as PublicJweAlg;
}

/**
 * @internal The content key of a public-key field token, with the reader's
 * private key. Failures of the key transport or agreement are `ERR_DECRYPT`;
 * an `epk` of the wrong shape or curve is `ERR_TOKEN_MALFORMED`.
 */
export function publicUnwrap(engine: Engine, entry: AsymmetricEntry, header: ProtectedHeader, ek: Uint8Array): Uint8Array {
  const crypto = nodeCrypto();
  const alg = checkPublicHeader(entry, header);
  const privateKey = entry.privateKey!; // checked above
  if (alg === 'RSA-OAEP-256') {
    let cek: Uint8Array;
    try {
      cek = crypto.privateDecrypt({ key: privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ek);
    } catch {
      throw new DecryptError('RSA-OAEP-256 key transport failed (wrong key, or a tampered encrypted key)');
    }
    if (cek.length !== 32) throw new DecryptError('RSA-OAEP-256 key transport gave a content key that is not 32 bytes');
    return cek;
  }
  const epk = header.epk as Record<string, unknown>;
  const crv = entry.info.crv;
  let publicKey;
  try {
    publicKey = crypto.createPublicKey({ key: (crv === 'X25519' ? { kty: 'OKP', crv, x: epk.x } : { kty: 'EC', crv, x: epk.x, y: epk.y }) as never, format: 'jwk' });
  } catch {
    throw new TokenMalformedError('token "epk" is not a valid public key (is the point on the curve?)');
  }
  let z: Uint8Array;
  try {
    z = crypto.diffieHellman({ privateKey, publicKey });
  } catch {
    throw new DecryptError('ECDH-ES key agreement failed');
  }
  return engine.keyUnwrap(concatKdf(engine, z, alg), ek);
}
