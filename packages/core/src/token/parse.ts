/**
 * Parsing: a token's protected header (validated, cached with its AAD bytes)
 * and its five segments, checked against the allow-list and the lengths
 * A256GCM and the key management need. Nothing here touches a key.
 */
import { decodeSegmentBytes } from '../base64url.ts';
import { AlgUnsupportedError, TokenMalformedError } from '../errors.ts';
import type { ProtectedHeader } from './header.ts';
import { asciiBytes } from './header.ts';
import type { OpenOptions } from './options.ts';
import { DEFAULT_ALGS, DEFAULT_LIMITS } from './options.ts';
import { strictUtf8 } from './text.ts';

/** @internal A protected header as it appeared in a token: its text, its parsed and validated members, and its bytes (the AAD). */
export interface KnownHeader {
  readonly headerB64: string;
  readonly header: ProtectedHeader;
  readonly aad: Uint8Array;
}

/** @internal A token split and checked, ready to decrypt. */
export interface ParsedToken extends KnownHeader {
  /** The encrypted-key segment as it appears in the token (empty for `dir`). */
  ekB64: string;
  ek: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

/** @internal */
export function notFiveSegments(): never {
  throw new TokenMalformedError('token is not JWE compact serialization: expected 5 dot-separated segments');
}

/** @internal Decodes `text[start, end)` (the whole string by default); segments are decoded in place, without slicing. */
export function decodeSegment(text: string, name: string, start = 0, end = text.length): Uint8Array {
  const bytes = decodeSegmentBytes(text, start, end);
  if (!bytes) throw new TokenMalformedError(`token ${name} segment is not valid unpadded base64url`);
  return bytes;
}

/**
 * Validated headers, with their AAD bytes, by their base64url text. Field
 * tokens repeat a handful of headers (one per policy path), so opening them
 * skips base64, UTF-8, JSON and AAD work (and whole payloads sealed in the same
 * second share one, `iat` included). Only headers whose members are all strings
 * or numbers are kept (a shallow copy is then a full copy), frozen, and copied
 * before they reach a caller.
 */
const headerCache = new Map<string, KnownHeader>();
const HEADER_CACHE_MAX = 1024;
const HEADER_CACHE_MAX_LENGTH = 1024;

function cacheHeader(known: KnownHeader): void {
  if (known.headerB64.length > HEADER_CACHE_MAX_LENGTH) return;
  for (const k in known.header) {
    const t = typeof known.header[k];
    if (t !== 'string' && t !== 'number') return;
  }
  if (headerCache.size >= HEADER_CACHE_MAX) headerCache.delete(headerCache.keys().next().value as string);
  Object.freeze(known.header);
  headerCache.set(known.headerB64, known);
}

/** @internal A header safe to hand to a caller: cached (frozen) headers are copied. */
export function ownHeader(h: ProtectedHeader): ProtectedHeader {
  return Object.isFrozen(h) ? { ...h } : h;
}

/** @internal Decodes, validates and caches a protected header segment. */
export function parseHeader(b64: string, maxHeaderLength: number): KnownHeader {
  if (b64.length === 0) throw new TokenMalformedError('token protected header is empty');
  if (b64.length > maxHeaderLength) throw new TokenMalformedError(`token protected header is over the limit of ${maxHeaderLength} characters`);
  const cached = headerCache.get(b64);
  if (cached !== undefined) return cached;
  const bytes = decodeSegment(b64, 'protected header');
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    throw new TokenMalformedError('token protected header is not UTF-8 JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TokenMalformedError('token protected header is not a JSON object');
  }
  const h = parsed as ProtectedHeader;
  for (const name of ['alg', 'enc', 'kid', 'cty', 'wsf', 'wsc'] as const) {
    if (h[name] !== undefined && typeof h[name] !== 'string') throw new TokenMalformedError(`token header member "${name}" must be a string`);
  }
  if (h.iat !== undefined && !(typeof h.iat === 'number' && Number.isSafeInteger(h.iat))) {
    throw new TokenMalformedError('token header member "iat" must be an integer');
  }
  const known: KnownHeader = { headerB64: b64, header: h, aad: asciiBytes(b64) };
  cacheHeader(known);
  return known;
}

/**
 * @internal Splits and validates a token without decrypting. `prev`, a token
 * parsed earlier with the same options, lets a header or encrypted key that
 * is character for character the same be reused instead of decoded again
 * (the fields of one document share a content key, and array elements their
 * header); `sameField`, an earlier token of the same field, lets its header
 * be reused (a field's tokens share one header from document to document).
 */
export function parseToken(token: string, options: OpenOptions, prev?: ParsedToken, sameField?: KnownHeader): ParsedToken {
  if (typeof token !== 'string') throw new TokenMalformedError('token must be a string');
  const maxLen = options.maxTokenLength ?? DEFAULT_LIMITS.maxTokenLength;
  if (token.length > maxLen) throw new TokenMalformedError(`token is over the limit of ${maxLen} characters`);
  // The five segments are located, not sliced: iv, ciphertext and tag are decoded in place.
  const a = token.indexOf('.');
  const b = a < 0 ? -1 : token.indexOf('.', a + 1);
  const c = b < 0 ? -1 : token.indexOf('.', b + 1);
  const d = c < 0 ? -1 : token.indexOf('.', c + 1);
  if (d < 0 || token.indexOf('.', d + 1) >= 0) notFiveSegments();
  // A header seen just before is recognised by comparing texts (slice + ===
  // is a memcmp), cheaper than hashing a fresh 100-character slice for the cache.
  const h = token.slice(0, a);
  const maxHeaderLength = options.maxHeaderLength ?? DEFAULT_LIMITS.maxHeaderLength;
  const seen = prev !== undefined && h === prev.headerB64 ? prev : sameField !== undefined && h === sameField.headerB64 ? sameField : undefined;
  const known = seen !== undefined && h.length <= maxHeaderLength ? seen : parseHeader(h, maxHeaderLength);
  const header = known.header;
  checkAlgorithms(header, options);
  const ekB64 = a + 1 === b ? '' : token.slice(a + 1, b);
  const sameEk = prev !== undefined && ekB64 === prev.ekB64;
  const parsed: ParsedToken = {
    header,
    headerB64: known.headerB64,
    aad: known.aad,
    ekB64: sameEk ? prev.ekB64 : ekB64,
    ek: sameEk ? prev.ek : decodeSegment(token, 'encrypted key', a + 1, b),
    iv: decodeSegment(token, 'iv', b + 1, c),
    ciphertext: decodeSegment(token, 'ciphertext', c + 1, d),
    tag: decodeSegment(token, 'tag', d + 1),
  };
  checkLengths(parsed);
  return parsed;
}


/** @internal `crit`, `zip`, the `alg` allow-list and `enc` (§4 steps 4-5 of docs/format.md). */
export function checkAlgorithms(header: ProtectedHeader, options: OpenOptions): void {
  if (header.crit !== undefined) throw new AlgUnsupportedError('token header has "crit": no critical extensions are supported');
  if (header.zip !== undefined) throw new AlgUnsupportedError('token header has "zip": compression is not supported');
  const algs = options.algorithms ?? DEFAULT_ALGS;
  if (typeof header.alg !== 'string' || !(algs as readonly string[]).includes(header.alg)) {
    throw new AlgUnsupportedError(`token alg ${JSON.stringify(header.alg ?? null)} is not allowed (allowed: ${algs.join(', ')})`);
  }
  if (header.enc !== 'A256GCM') throw new AlgUnsupportedError(`token enc ${JSON.stringify(header.enc ?? null)} is not allowed (allowed: A256GCM)`);
}

/** @internal Segment lengths: encrypted key 40 bytes (A256KW) or none (dir), IV 12, tag 16 (§4 step 7). */
export function checkLengths(p: { header: ProtectedHeader; ek: Uint8Array; iv: Uint8Array; tag: Uint8Array }): void {
  if (p.header.alg === 'RSA-OAEP-256') {
    // The modulus size (2048-8192 bits) decides; the key checks the exact length.
    if (p.ek.length < 256 || p.ek.length > 1024) throw new TokenMalformedError(`token encrypted key is ${p.ek.length} bytes; RSA-OAEP-256 needs 256-1024`);
  } else if (p.header.alg === 'dir' ? p.ek.length !== 0 : p.ek.length !== 40) {
    throw new TokenMalformedError(`token encrypted key is ${p.ek.length} bytes; ${p.header.alg} needs ${p.header.alg === 'dir' ? 0 : 40}`);
  }
  if (p.iv.length !== 12) throw new TokenMalformedError(`token iv is ${p.iv.length} bytes; A256GCM needs 12`);
  if (p.tag.length !== 16) throw new TokenMalformedError(`token tag is ${p.tag.length} bytes; A256GCM needs 16`);
}
