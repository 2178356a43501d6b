/**
 * RFC 9180 HPKE, base mode, for exactly one suite, DHKEM(X25519, HKDF-SHA256)
 * (0x0020), HKDF-SHA256 (0x0001), AES-256-GCM (0x0002), on `node:crypto`
 * (OpenSSL), synchronous. The HPKE profile uses it under issue #6's rule: it
 * passes the RFC 9180 vectors (test/hpke-vectors.test.ts) and the pyhpke
 * interop (test/hpke-interop.test.ts), and measured 11x `@hpke/core` on a
 * quiet machine (9.3-12.6x over 7 rounds; 3.5-5.3x while other jobs loaded
 * both cores, because `@hpke/core` also runs on libuv's thread pool).
 * bench/profiles.ts prints the ratio on every run.
 *
 * Only what the HTTP profile needs plus what the vectors exercise:
 * SetupBaseS / SetupBaseR, Seal / Open with the sequence counter, Export,
 * DeriveKeyPair.
 */
import type { KeyObject } from 'node:crypto';
import { DecryptError, TokenMalformedError } from '@wireseal/core/errors';
import { nodeCrypto } from '../keys/node-crypto.ts';

/** A Buffer view of bytes (no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Length of the encapsulated key (an X25519 public key), of public and private keys, and of the KEM shared secret. */
export const HPKE_NENC = 32;
/** AES-256-GCM: key 32 bytes, nonce 12, tag 16. */
const NK = 32;
const NN = 12;
const NT = 16;
const NH = 32;

/** The bytes of an ASCII/latin1 string. */
export const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const i2osp = (n: number, len: number): Buffer => {
  const out = Buffer.alloc(len);
  let v = n;
  for (let i = len - 1; i >= 0 && v > 0; i--) {
    out[i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  return out;
};

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0002;
const HPKE_V1 = ascii('HPKE-v1');
const SUITE_KEM = Buffer.concat([ascii('KEM'), i2osp(KEM_ID, 2)]);
const SUITE_HPKE = Buffer.concat([ascii('HPKE'), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(AEAD_ID, 2)]);
const ZERO_SALT = Buffer.alloc(NH);
const EMPTY = Buffer.alloc(0);
const MODE_BASE = Buffer.from([0x00]);

// DER wrappers for raw X25519 keys (RFC 8410): SubjectPublicKeyInfo and PKCS #8.
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

const L_EAE_PRK = ascii('eae_prk');
const L_SHARED_SECRET = ascii('shared_secret');
const L_PSK_ID_HASH = ascii('psk_id_hash');
const L_INFO_HASH = ascii('info_hash');
const L_SECRET = ascii('secret');
const L_KEY = ascii('key');
const L_BASE_NONCE = ascii('base_nonce');
const L_EXP = ascii('exp');
const L_SEC = ascii('sec');
const L_DKP_PRK = ascii('dkp_prk');
const L_SK = ascii('sk');

const BLOCK = 64;

/**
 * HMAC-SHA256 (RFC 2104) from two one-shot SHA-256 calls: `createHmac` costs
 * about ten times more per call on Node 24 (object and key set-up), and an
 * HPKE setup makes five to seven of them. Keys here are at most 32 bytes
 * (salts and PRKs), so they never need hashing first. The RFC 9180 vectors
 * check it.
 */
function hmac(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const pad = Buffer.alloc(BLOCK);
  pad.set(key);
  const ipad = Buffer.allocUnsafe(BLOCK);
  const opad = Buffer.allocUnsafe(BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    ipad[i] = pad[i]! ^ 0x36;
    opad[i] = pad[i]! ^ 0x5c;
  }
  const inner = sha256(Buffer.concat([ipad, ...data]));
  return sha256(Buffer.concat([opad, inner]));
}

function sha256(data: Buffer): Buffer {
  const c = nodeCrypto();
  // crypto.hash (Node 20.12+) is the one-shot form; createHash is the fallback.
  return typeof c.hash === 'function' ? (c.hash('sha256', data, 'buffer') as Buffer) : c.createHash('sha256').update(data).digest();
}

function labeledExtract(suite: Buffer, salt: Uint8Array, label: Buffer, ikm: Uint8Array): Buffer {
  if (salt.length > BLOCK) throw new RangeError('HKDF salt longer than the SHA-256 block');
  return hmac(salt.length === 0 ? ZERO_SALT : salt, HPKE_V1, suite, label, ikm);
}

function labeledExpand(suite: Buffer, prk: Uint8Array, label: Buffer, info: Uint8Array, length: number): Buffer {
  if (length > 255 * NH) throw new RangeError('HKDF-Expand length is over 255 * Nh');
  const labeledInfo = Buffer.concat([i2osp(length, 2), HPKE_V1, suite, label, info]);
  const out = Buffer.alloc(length);
  let t: Buffer = EMPTY;
  for (let i = 1, filled = 0; filled < length; i++) {
    t = hmac(prk, t, labeledInfo, Buffer.from([i]));
    t.copy(out, filled, 0, Math.min(NH, length - filled));
    filled += NH;
  }
  return out;
}

/** A raw 32-byte X25519 public key as a KeyObject. */
export function x25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== HPKE_NENC) throw new TokenMalformedError(`an X25519 public key is 32 bytes, got ${raw.length}`);
  return nodeCrypto().createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** A raw 32-byte X25519 private key as a KeyObject. */
export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  if (raw.length !== HPKE_NENC) throw new RangeError(`an X25519 private key is 32 bytes, got ${raw.length}`);
  return nodeCrypto().createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/** The raw 32 bytes of an X25519 public key (or of the public half of a private key). */
export function x25519Raw(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? nodeCrypto().createPublicKey(key) : key;
  const der = pub.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - HPKE_NENC);
}

function dh(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  let secret: Buffer;
  try {
    secret = nodeCrypto().diffieHellman({ privateKey, publicKey });
  } catch (err) {
    throw new DecryptError('HPKE key agreement failed', { cause: err });
  }
  // RFC 9180 §7.1.4: an all-zero X25519 output (a small-order public key) must be rejected.
  let acc = 0;
  for (const b of secret) acc |= b;
  if (acc === 0) throw new DecryptError('HPKE key agreement produced the all-zero value (small-order public key)');
  return secret;
}

function extractAndExpand(dhValue: Uint8Array, kemContext: Uint8Array): Buffer {
  const eaePrk = labeledExtract(SUITE_KEM, EMPTY, L_EAE_PRK, dhValue);
  return labeledExpand(SUITE_KEM, eaePrk, L_SHARED_SECRET, kemContext, NH);
}

/** RFC 9180 §7.1.3 DeriveKeyPair for X25519: the private key bytes (deterministic, for test vectors and seeded keys). */
export function deriveX25519SecretKey(ikm: Uint8Array): Buffer {
  const dkpPrk = labeledExtract(SUITE_KEM, EMPTY, L_DKP_PRK, ikm);
  return labeledExpand(SUITE_KEM, dkpPrk, L_SK, EMPTY, HPKE_NENC);
}

/** An HPKE encryption context (one direction, one key schedule). */
export class HpkeContext {
  readonly #key: Buffer;
  readonly #baseNonce: Buffer;
  readonly #secret: Buffer;
  readonly #scheduleContext: Buffer;
  #exporterSecret: Buffer | undefined;
  #seq = 0;

  /** @internal use {@link setupBaseS} / {@link setupBaseR} */
  constructor(secret: Buffer, scheduleContext: Buffer) {
    this.#secret = secret;
    this.#scheduleContext = scheduleContext;
    this.#key = labeledExpand(SUITE_HPKE, secret, L_KEY, scheduleContext, NK);
    this.#baseNonce = labeledExpand(SUITE_HPKE, secret, L_BASE_NONCE, scheduleContext, NN);
  }

  #nonce(): Buffer {
    if (this.#seq >= Number.MAX_SAFE_INTEGER) throw new RangeError('HPKE message limit reached');
    const nonce = Buffer.from(this.#baseNonce);
    let v = this.#seq;
    for (let i = NN - 1; i >= 0 && v > 0; i--) {
      nonce[i]! ^= v & 0xff;
      v = Math.floor(v / 256);
    }
    return nonce;
  }

  /** Encrypts one message: ciphertext followed by the 16-byte tag. */
  seal(aad: Uint8Array, plaintext: Uint8Array): Buffer {
    const cipher = nodeCrypto().createCipheriv('aes-256-gcm', this.#key, this.#nonce());
    cipher.setAAD(aad);
    const out = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    this.#seq++;
    return out;
  }

  /**
   * Decrypts one message.
   * @throws DecryptError (`ERR_DECRYPT`) when authentication fails
   */
  open(aad: Uint8Array, ciphertext: Uint8Array): Buffer {
    if (ciphertext.length < NT) throw new TokenMalformedError(`HPKE ciphertext is ${ciphertext.length} bytes; it needs at least the ${NT}-byte tag`);
    const ct = asBuffer(ciphertext);
    const decipher = nodeCrypto().createDecipheriv('aes-256-gcm', this.#key, this.#nonce());
    decipher.setAAD(aad);
    decipher.setAuthTag(ct.subarray(ct.length - NT));
    let out: Buffer;
    try {
      out = Buffer.concat([decipher.update(ct.subarray(0, ct.length - NT)), decipher.final()]);
    } catch {
      throw new DecryptError('HPKE decryption failed: wrong key, info or associated data, or a tampered body');
    }
    this.#seq++;
    return out;
  }

  /** RFC 9180 §5.3 secret export. */
  export(exporterContext: Uint8Array, length: number): Buffer {
    // Derived on first use: the HTTP profile never exports.
    this.#exporterSecret ??= labeledExpand(SUITE_HPKE, this.#secret, L_EXP, this.#scheduleContext, NH);
    return labeledExpand(SUITE_HPKE, this.#exporterSecret, L_SEC, exporterContext, length);
  }
}

let pskIdHash: Buffer | undefined;
/** key_schedule_context by info: a service uses a handful of info strings, so it is computed once per string. */
const scheduleContexts = new Map<string, Buffer>();
const MAX_CONTEXTS = 256;

function scheduleContext(info: Uint8Array): Buffer {
  const cacheKey = asBuffer(info).toString('latin1');
  const hit = scheduleContexts.get(cacheKey);
  if (hit) return hit;
  pskIdHash ??= labeledExtract(SUITE_HPKE, EMPTY, L_PSK_ID_HASH, EMPTY);
  const infoHash = labeledExtract(SUITE_HPKE, EMPTY, L_INFO_HASH, info);
  const context = Buffer.concat([MODE_BASE, pskIdHash, infoHash]);
  if (scheduleContexts.size >= MAX_CONTEXTS) scheduleContexts.delete(scheduleContexts.keys().next().value as string);
  scheduleContexts.set(cacheKey, context);
  return context;
}

function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): HpkeContext {
  const secret = labeledExtract(SUITE_HPKE, sharedSecret, L_SECRET, EMPTY);
  return new HpkeContext(secret, scheduleContext(info));
}

/** The sender's side of a base-mode setup. */
export interface SenderSetup {
  /** The encapsulated key (the ephemeral X25519 public key, 32 bytes). */
  enc: Buffer;
  context: HpkeContext;
}

/** An X25519 public key in both forms the suite needs: a KeyObject for the DH and the raw bytes for the KEM context. */
export interface X25519Public {
  readonly key: KeyObject;
  readonly raw: Uint8Array;
}

/** Both forms of a raw X25519 public key (parse once, use per message). */
export function x25519Public(raw: Uint8Array): X25519Public {
  return { key: x25519PublicKey(raw), raw: Buffer.from(raw) };
}

/**
 * SetupBaseS: encapsulates to the recipient's public key.
 * @param recipient - the recipient's X25519 public key
 * @param info - the application's `info`
 * @param ikmE - tests only: derive the ephemeral key from this seed instead of generating it
 */
export function setupBaseS(recipient: X25519Public, info: Uint8Array, ikmE?: Uint8Array): SenderSetup {
  let skE: KeyObject;
  let enc: Buffer;
  if (ikmE) {
    skE = x25519PrivateKey(deriveX25519SecretKey(ikmE));
    enc = x25519Raw(skE);
  } else {
    // The public half comes back DER-encoded from the same native call (cheaper than exporting it after).
    const pair = nodeCrypto().generateKeyPairSync('x25519', { publicKeyEncoding: { format: 'der', type: 'spki' } } as never) as unknown as {
      publicKey: Buffer;
      privateKey: KeyObject;
    };
    skE = pair.privateKey;
    enc = pair.publicKey.subarray(pair.publicKey.length - HPKE_NENC);
  }
  const shared = extractAndExpand(dh(skE, recipient.key), Buffer.concat([enc, recipient.raw]));
  return { enc, context: keySchedule(shared, info) };
}

/**
 * SetupBaseR: decapsulates with the recipient's private key.
 * @param enc - the encapsulated key from the message
 * @param recipient - the recipient's X25519 private key
 * @param recipientPublic - its raw public key (32 bytes; passed in so it is not re-derived per message)
 * @throws DecryptError (`ERR_DECRYPT`) for an `enc` that is not a usable X25519 public key
 */
export function setupBaseR(enc: Uint8Array, recipient: KeyObject, recipientPublic: Uint8Array, info: Uint8Array): HpkeContext {
  let pkE: KeyObject;
  try {
    pkE = x25519PublicKey(enc);
  } catch (err) {
    throw new DecryptError('HPKE encapsulated key is not an X25519 public key', { cause: err });
  }
  const shared = extractAndExpand(dh(recipient, pkE), Buffer.concat([enc, recipientPublic]));
  return keySchedule(shared, info);
}
