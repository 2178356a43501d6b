/**
 * Content encryption (RFC 7516 §4.1.2 `enc`): AES-256-GCM of the plaintext
 * under the content key, with the protected header segment as AAD. The
 * engine does the AES; this module only decides which engine path fits.
 */
import { encode } from '../base64url.ts';
import type { Engine } from '../engine.ts';
import { engineInternals } from '../engine.ts';
import { TokenMalformedError } from '../errors.ts';
import type { KeyEntry } from '../keyset.ts';
import type { EncodedHeader, SymmetricAlg } from './header.ts';
import { contentKeyOf } from './key-management.ts';
import type { ParsedToken } from './parse.ts';
import { strictUtf8, utf8Bytes } from './text.ts';
import { FAST_MAX_BYTES, fastKeyFor, fastOpen } from './fast.ts';
import { NodeBuffer } from '../runtime.ts';

/** @internal Joins the five segments. */
export function assemble(header: EncodedHeader, ek: string, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): string {
  return `${header.b64}.${ek}.${encode(iv)}.${encode(ciphertext)}.${encode(tag)}`;
}

/**
 * @internal Seals with explicit content key and IV. Only for content keys
 * fresh per document (fields) and for fixed test vectors: never reuse an IV.
 */
export function sealWith(
  engine: Engine,
  key: KeyEntry,
  alg: SymmetricAlg,
  cek: Uint8Array,
  ekB64: string,
  iv: Uint8Array,
  plaintext: Uint8Array,
  header: EncodedHeader,
): string {
  const k = alg === 'dir' ? key.bytes : cek;
  const streaming = plaintext.length >= LARGE ? engineInternals(engine) : undefined;
  if (streaming) {
    const { ciphertext, tag } = streaming.gcmEncryptBase64url(k, iv, plaintext, header.aad);
    return `${header.b64}.${ekB64}.${encode(iv)}.${ciphertext}.${encode(tag)}`;
  }
  const { ciphertext, tag } = engine.gcmEncrypt(k, iv, plaintext, header.aad);
  return assemble(header, ekB64, iv, ciphertext, tag);
}

/** From this plaintext size on, an engine that can encrypts and encodes in chunks. */
const LARGE = 128 * 1024;

/**
 * @internal Like {@link sealWith} for text (field tokens hold JSON text),
 * under a fresh random IV: an engine that can goes UTF-8 in, base64url out.
 */
export function sealTextWith(engine: Engine, contentKey: Uint8Array, ekB64: string, text: string, header: EncodedHeader): string {
  // (Field values under keys prepared for the batched engine are sealed by fields/seal.ts, per document.)
  const fast = engineInternals(engine);
  if (!fast) {
    const iv = engine.randomBytes(12);
    const { ciphertext, tag } = engine.gcmEncrypt(contentKey, iv, utf8Bytes(text), header.aad);
    return assemble(header, ekB64, iv, ciphertext, tag);
  }
  // join() builds one flat string; a template literal would leave a rope of
  // five pieces that every later read (indexOf, charCodeAt) walks through.
  return [header.b64, ekB64, fast.gcmSealText(contentKey, text, header.aad)].join('.');
}

/** @internal Authenticates and decrypts a parsed token; `cek` is reused when the caller already unwrapped this ek. */
export function decryptParsed(engine: Engine, key: KeyEntry, p: ParsedToken, cek?: Uint8Array): { plaintext: Uint8Array; cek: Uint8Array } {
  const contentKey = contentKeyOf(engine, key, p, cek);
  const plaintext = engine.gcmDecrypt(contentKey, p.iv, p.ciphertext, p.tag, p.aad);
  return { plaintext, cek: contentKey };
}


/** @internal Authenticates and decrypts a parsed token to text under a content key the caller resolved. */
export function decryptTextWith(engine: Engine, contentKey: Uint8Array, p: ParsedToken): string {
  const aad = p.aad;
  let text: string | undefined;
  const gk = p.ciphertext.length <= FAST_MAX_BYTES ? fastKeyFor(engine, contentKey) : undefined;
  if (gk !== undefined) {
    const bytes = fastOpen(gk, p.headerB64, aad, p.iv, p.ciphertext, p.tag);
    text = NodeBuffer!.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
    if (!text.includes('\uFFFD')) return text;
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new TokenMalformedError('token plaintext is not UTF-8');
    }
  }
  const fast = engineInternals(engine);
  if (fast) {
    text = fast.gcmDecryptText(contentKey, p.iv, p.ciphertext, p.tag, aad);
    // U+FFFD may be a replaced invalid sequence: decode strictly to tell.
    if (text.includes('\uFFFD')) text = undefined;
  }
  if (text === undefined) {
    const bytes = engine.gcmDecrypt(contentKey, p.iv, p.ciphertext, p.tag, aad);
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      throw new TokenMalformedError('token plaintext is not UTF-8');
    }
  }
  return text;
}

