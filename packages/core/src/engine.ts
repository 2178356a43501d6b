/**
 * Engines: the few primitives a token needs (AES-256-GCM, AES Key Wrap,
 * SHA-256, random bytes), behind one synchronous interface. `node` uses
 * node:crypto (OpenSSL, AES-NI); `noble` uses @noble/ciphers (audited, pure
 * JS) and runs anywhere. Both give byte-identical output for the same inputs.
 */
import { gcm, aeskw } from '@noble/ciphers/aes.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ArgumentInvalidError, DecryptError, RuntimeUnsupportedError } from './errors.ts';
import type * as NodeCrypto from 'node:crypto';
import { nodeCrypto } from './runtime.ts';

/** Names of the built-in engines. */
export type EngineName = 'node' | 'noble';

/** The primitives a token needs. All synchronous. */
export interface Engine {
  /** `node` or `noble`. */
  readonly name: EngineName;
  /** AES-256-GCM encrypt; returns ciphertext and the 16-byte tag. */
  gcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { ciphertext: Uint8Array; tag: Uint8Array };
  /** AES-256-GCM decrypt; throws {@link DecryptError} when authentication fails. */
  gcmDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): Uint8Array;
  /** AES Key Wrap (RFC 3394) with the default IV. */
  keyWrap(kek: Uint8Array, keyData: Uint8Array): Uint8Array;
  /** AES Key Unwrap (RFC 3394); throws {@link DecryptError} on an integrity failure. */
  keyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array;
  /** SHA-256. */
  sha256(data: Uint8Array): Uint8Array;
  /** Cryptographically secure random bytes. */
  randomBytes(length: number): Uint8Array;
}

const KW_IV = new Uint8Array([0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6]);

function createNodeEngine(): Engine | undefined {
  const c = nodeCrypto;
  if (!c) return undefined;
  // Random bytes come from a pool refilled 4 KiB at a time: one syscall-backed
  // call serves ~90 tokens instead of one call each.
  const POOL = 4096;
  // Refilled in place: nothing outside this closure ever holds a view of it.
  const pool = c.randomBytes(POOL);
  let offset = 0;
  const refill = (): void => {
    c.randomFillSync(pool);
    offset = 0;
  };
  const kwIv = Buffer.from(KW_IV);
  // node:crypto is 3-5x faster given a KeyObject than raw key bytes (Node 24
  // checks "is it a KeyObject? a CryptoKey?" with two caught exceptions for
  // raw bytes). Keys used again and again keep theirs: key-encryption keys in
  // a WeakMap, content keys (a document's, reused for each of its fields) and
  // `dir` keys in a small ring, so a fresh content key per token costs no
  // WeakMap insertion. Both are found by the array's identity and checked
  // against a copy of its bytes, so a caller that rewrites a key array in
  // place never gets the old key.
  type Held = { readonly array: Uint8Array; readonly copy: Uint8Array; readonly key: NodeCrypto.KeyObject };
  const same = (h: Held, bytes: Uint8Array): boolean => {
    let diff = 0;
    for (let i = 0; i < 32; i++) diff |= h.copy[i]! ^ bytes[i]!;
    return diff === 0;
  };
  const hold = (bytes: Uint8Array): Held => ({ array: bytes, copy: new Uint8Array(bytes), key: c.createSecretKey(bytes) });
  const keks = new WeakMap<Uint8Array, Held>();
  const kekObject = (bytes: Uint8Array): NodeCrypto.KeyObject | Uint8Array => {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) return bytes; // node:crypto handles (or rejects) it as before
    const hit = keks.get(bytes);
    if (hit && same(hit, bytes)) return hit.key;
    const held = hold(bytes);
    keks.set(bytes, held);
    return held.key;
  };
  const RING = 8;
  const ring: Array<Held | undefined> = new Array<Held | undefined>(RING).fill(undefined);
  let next = 0;
  const keyObject = (bytes: Uint8Array): NodeCrypto.KeyObject | Uint8Array => {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) return bytes;
    for (let i = 0; i < RING; i++) {
      const h = ring[i];
      if (h !== undefined && h.array === bytes && same(h, bytes)) return h.key;
    }
    // Content keys held for reuse (writer) or cached unwrapped (reader) were retained.
    const kept = keks.get(bytes);
    if (kept !== undefined && same(kept, bytes)) return kept.key;
    const held = hold(bytes);
    ring[next] = held;
    next = (next + 1) % RING;
    return held.key;
  };
  const engine: Engine = {
    name: 'node',
    gcmEncrypt(key, iv, plaintext, aad) {
      const cipher = c.createCipheriv('aes-256-gcm', keyObject(key), iv);
      cipher.setAAD(aad);
      const ciphertext = joined(cipher.update(plaintext), cipher.final());
      return { ciphertext, tag: cipher.getAuthTag() };
    },
    gcmDecrypt(key, iv, ciphertext, tag, aad) {
      try {
        const decipher = c.createDecipheriv('aes-256-gcm', keyObject(key), iv, { authTagLength: 16 });
        decipher.setAAD(aad);
        decipher.setAuthTag(tag);
        return joined(decipher.update(ciphertext), decipher.final());
      } catch {
        throw new DecryptError('token authentication failed: wrong key or tampered token');
      }
    },
    keyWrap(kek, keyData) {
      const cipher = c.createCipheriv('id-aes256-wrap', kekObject(kek), kwIv);
      return joined(cipher.update(keyData), cipher.final());
    },
    keyUnwrap(kek, wrapped) {
      try {
        const decipher = c.createDecipheriv('id-aes256-wrap', kekObject(kek), kwIv);
        return joined(decipher.update(wrapped), decipher.final());
      } catch {
        throw new DecryptError('content key unwrap failed: wrong key or tampered token');
      }
    },
    sha256(data) {
      return c.createHash('sha256').update(data).digest();
    },
    randomBytes(length) {
      checkLength(length);
      if (length > POOL / 4) return c.randomBytes(length);
      if (offset + length > POOL) refill();
      // A copy with its own buffer: a view would expose the pool (bytes that
      // later tokens will use as keys and IVs) through `.buffer`.
      const out = Uint8Array.prototype.slice.call(pool, offset, offset + length);
      offset += length;
      return out;
    },
  };
  internals.set(engine, {
    retainKey(bytes) {
      if (bytes.length === 32 && !keks.has(bytes)) keks.set(bytes, hold(bytes));
    },
    gcmSealText(key, text, aad) {
      // The IV is a view of the pool, never handed out: createCipheriv copies
      // it, and its text is encoded straight from the pool.
      if (offset + 12 > POOL) refill();
      const at = offset;
      offset += 12;
      const cipher = c.createCipheriv('aes-256-gcm', keyObject(key), pool.subarray(at, at + 12));
      cipher.setAAD(aad);
      const ciphertext = joined(cipher.update(text, 'utf8'), cipher.final());
      return `${pool.toString('base64url', at, at + 12)}.${ciphertext.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
    },
    gcmDecryptText(key, iv, ciphertext, tag, aad) {
      try {
        const decipher = c.createDecipheriv('aes-256-gcm', keyObject(key), iv, { authTagLength: 16 });
        decipher.setAAD(aad);
        decipher.setAuthTag(tag);
        // Bytes, then one toString: update(..., 'utf8') would go through a StringDecoder (~0.8 µs more per field).
        return joined(decipher.update(ciphertext), decipher.final()).toString('utf8');
      } catch {
        throw new DecryptError('token authentication failed: wrong key or tampered token');
      }
    },
    gcmEncryptBase64url(key, iv, plaintext, aad) {
      // Encrypt and encode chunk by chunk: each ciphertext chunk is still in
      // cache when it is encoded, and no plaintext-sized buffer is allocated.
      // Chunks are a multiple of 3 bytes, so their base64url texts join into
      // exactly the base64url of the whole ciphertext.
      const cipher = c.createCipheriv('aes-256-gcm', keyObject(key), iv);
      cipher.setAAD(aad);
      let text = '';
      for (let i = 0; i < plaintext.length; i += CHUNK) {
        text += cipher.update(plaintext.subarray(i, i + CHUNK)).toString('base64url');
      }
      text += cipher.final().toString('base64url');
      return { ciphertext: text, tag: cipher.getAuthTag() };
    },
  });
  return engine;
}

/** `first` followed by `last`; OpenSSL's GCM and key wrap finish with nothing left, so usually no copy. */
function joined(first: Buffer, last: Buffer): Buffer {
  return last.length === 0 ? first : Buffer.concat([first, last]);
}

/** Chunk size for large payloads: 48 KiB, a multiple of 3 (base64 groups). */
const CHUNK = 3 * 16384;

/** @internal Entry points of an engine that are not part of {@link Engine}. */
export interface EngineInternals {
  /** Keeps a key object for a 32-byte key that will be used for many operations (until the array is collected). */
  retainKey(bytes: Uint8Array): void;
  /**
   * AES-256-GCM over a string's UTF-8 bytes under a fresh random IV; returns
   * the last three segments of a compact JWE, `iv.ciphertext.tag`, in base64url.
   */
  gcmSealText(key: Uint8Array, text: string, aad: Uint8Array): string;
  /**
   * AES-256-GCM decrypt to a string. Invalid UTF-8 comes back with U+FFFD in
   * it; callers that must reject it check for U+FFFD and decode strictly.
   * @throws DecryptError when authentication fails
   */
  gcmDecryptText(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): string;
  /** AES-256-GCM encrypt with the ciphertext returned as base64url: the same text as encoding `gcmEncrypt(...).ciphertext`. */
  gcmEncryptBase64url(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { ciphertext: string; tag: Uint8Array };
}

const internals = new WeakMap<Engine, EngineInternals>();

/** @internal The extra entry points of a built-in engine, if it has any. */
export function engineInternals(engine: Engine): EngineInternals | undefined {
  return internals.get(engine);
}

function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`randomBytes: length must be a non-negative integer (got ${String(length)})`);
}

function getRandom(length: number): Uint8Array {
  checkLength(length);
  const out = new Uint8Array(length);
  const cryptoObj = (globalThis as { crypto?: { getRandomValues(a: Uint8Array): Uint8Array } }).crypto;
  if (!cryptoObj) throw new RuntimeUnsupportedError('no secure random source: globalThis.crypto.getRandomValues is missing');
  for (let i = 0; i < length; i += 65536) cryptoObj.getRandomValues(out.subarray(i, Math.min(length, i + 65536)));
  return out;
}

/** The pure-JS engine over @noble/ciphers; works in every runtime. */
export const nobleEngine: Engine = {
  name: 'noble',
  gcmEncrypt(key, iv, plaintext, aad) {
    const sealed = gcm(key, iv, aad).encrypt(plaintext);
    return { ciphertext: sealed.subarray(0, sealed.length - 16), tag: sealed.subarray(sealed.length - 16) };
  },
  gcmDecrypt(key, iv, ciphertext, tag, aad) {
    const joined = new Uint8Array(ciphertext.length + 16);
    joined.set(ciphertext, 0);
    joined.set(tag, ciphertext.length);
    try {
      return gcm(key, iv, aad).decrypt(joined);
    } catch {
      throw new DecryptError('token authentication failed: wrong key or tampered token');
    }
  },
  keyWrap(kek, keyData) {
    return aeskw(kek).encrypt(keyData);
  },
  keyUnwrap(kek, wrapped) {
    try {
      return aeskw(kek).decrypt(wrapped);
    } catch {
      throw new DecryptError('content key unwrap failed: wrong key or tampered token');
    }
  },
  sha256(data) {
    return sha256(data);
  },
  randomBytes: getRandom,
};

/** The node:crypto engine, or undefined outside Node-compatible runtimes. */
export const nodeEngine: Engine | undefined = createNodeEngine();

/** The default engine: node:crypto where available, else noble. */
export const defaultEngine: Engine = nodeEngine ?? nobleEngine;

/**
 * Picks an engine by name; `undefined` gives the default.
 * @throws RuntimeUnsupportedError `ERR_RUNTIME_UNSUPPORTED` when `node` is asked for where node:crypto is absent
 * @throws ArgumentInvalidError `ERR_ARGUMENT_INVALID` for a name that is not an engine
 */
export function getEngine(name?: EngineName | Engine): Engine {
  if (name === undefined) return defaultEngine;
  if (typeof name === 'object') return name;
  if (name === 'noble') return nobleEngine;
  if (name === 'node') {
    if (nodeEngine) return nodeEngine;
    throw new RuntimeUnsupportedError(`engine 'node' is not available in this runtime (node:crypto is missing; use 'noble')`);
  }
  throw new ArgumentInvalidError(`engine ${JSON.stringify(String(name))} is not an engine ('node' or 'noble')`);
}
