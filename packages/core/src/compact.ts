/**
 * seal/open: JWE Compact Serialization (RFC 7516) with `enc: A256GCM` and
 * `alg: A256KW` (default: a fresh content key per token, wrapped under the
 * primary key) or `alg: dir`.
 */
import { decodeSegmentBytes, encode } from './base64url.ts';
import type { Context } from './context.ts';
import { contextDigest } from './context.ts';
import type { Engine, EngineName } from './engine.ts';
import { engineInternals, getEngine } from './engine.ts';
import {
  AlgUnsupportedError,
  ContextMismatchError,
  FieldMismatchError,
  KeyUnknownError,
  StaleError,
  TokenMalformedError,
} from './errors.ts';
import type { EncodedHeader, ProtectedHeader, SymmetricAlg } from './header.ts';
import { asciiBytes, encodeHeader } from './header.ts';
import type { KeyEntry, KeySet } from './keyset.ts';
import { NodeBuffer } from './runtime.ts';

/** Options for {@link seal}. */
export interface SealOptions {
  /** `A256KW` (default: fresh content key per token) or `dir` (the key encrypts; shorter tokens). */
  alg?: SymmetricAlg;
  /** Media type of the plaintext (whole payloads), written as `cty`. */
  cty?: string;
  /** `true` writes the current time; a number writes those seconds since the epoch. */
  iat?: number | boolean;
  /** The policy path this token belongs at, written as `wsf`. */
  field?: string;
  /** A context both sides know (topic, tenant), bound as `wsc`. */
  context?: Context;
  /** `node` (default on Node) or `noble`. */
  engine?: EngineName | Engine;
}

/** Options for {@link open}. */
export interface OpenOptions {
  /** The policy path the token was found at: must equal its `wsf` (and a token with `wsf` needs it). */
  field?: string;
  /** The expected context: must match its `wsc` (and a token with `wsc` needs it). */
  context?: Context;
  /** When set, `iat` is required and must be at most this old. */
  maxAgeSeconds?: number;
  /** How far in the future `iat` may be, with `maxAgeSeconds`. Default 30. */
  clockSkewSeconds?: number;
  /** Clock in milliseconds since the epoch (for tests). Default `Date.now`. */
  now?: () => number;
  /** Allowed `alg` values. Default `['A256KW', 'dir']`. */
  algorithms?: readonly SymmetricAlg[];
  /** Longest token accepted, in characters. Default 16 MiB. */
  maxTokenLength?: number;
  /** Longest protected header accepted, in base64url characters. Default 4096. */
  maxHeaderLength?: number;
  /** `node` (default on Node) or `noble`. */
  engine?: EngineName | Engine;
}

/** An opened token: the plaintext and its authenticated protected header. */
export interface OpenedToken {
  plaintext: Uint8Array;
  header: ProtectedHeader;
}

/** Default size limits for {@link open}. */
export const DEFAULT_LIMITS: Readonly<{ maxTokenLength: number; maxHeaderLength: number }> = Object.freeze({
  maxTokenLength: 16 * 1024 * 1024,
  maxHeaderLength: 4096,
});

const DEFAULT_ALGS: readonly SymmetricAlg[] = ['A256KW', 'dir'];
const utf8 = new TextEncoder();
/**
 * Strict UTF-8 that keeps a leading BOM (ignoreBOM: true), so a header or a
 * field plaintext that starts with one fails JSON parsing, as in Python's
 * reader, instead of the BOM being dropped silently; Node's Buffer#toString
 * keeps it too, so both engines decide alike.
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** UTF-8 bytes of a string: Node's Buffer.from is ~5x faster than TextEncoder on short strings. */
function utf8Bytes(text: string): Uint8Array {
  return NodeBuffer ? NodeBuffer.from(text, 'utf8') : utf8.encode(text);
}

function toBytes(plaintext: Uint8Array | string): Uint8Array {
  if (typeof plaintext === 'string') return utf8Bytes(plaintext);
  if (plaintext instanceof Uint8Array) return plaintext;
  throw new TypeError('plaintext must be a Uint8Array or a string');
}

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
export function sealTextWith(
  engine: Engine,
  key: KeyEntry,
  alg: SymmetricAlg,
  cek: Uint8Array,
  ekB64: string,
  text: string,
  header: EncodedHeader,
): string {
  const fast = engineInternals(engine);
  if (!fast) return sealWith(engine, key, alg, cek, ekB64, engine.randomBytes(12), utf8Bytes(text), header);
  // join() builds one flat string; a template literal would leave a rope of
  // five pieces that every later read (indexOf, charCodeAt) walks through.
  return [header.b64, ekB64, fast.gcmSealText(alg === 'dir' ? key.bytes : cek, text, header.aad)].join('.');
}

/** @internal Refuses an `alg` that sealing cannot honour. */
export function checkSealAlg(alg: SymmetricAlg): void {
  if (alg !== 'A256KW' && alg !== 'dir') throw new AlgUnsupportedError(`alg "${String(alg)}" is not supported for sealing (A256KW or dir)`);
}

/** @internal A content key for `alg` with its encrypted-key segment: the key itself for `dir`, else fresh and wrapped. */
export function newContentKey(engine: Engine, key: KeyEntry, alg: SymmetricAlg): { cek: Uint8Array; ek: string } {
  if (alg === 'dir') return { cek: key.bytes, ek: '' };
  const cek = engine.randomBytes(32);
  return { cek, ek: encode(engine.keyWrap(key.bytes, cek)) };
}

/**
 * Seals bytes or a UTF-8 string into a JWE compact token under the key set's primary key.
 * @example
 * const token = seal(keys, '{"pan":"4111..."}', { cty: 'application/json', iat: true });
 */
export function seal(keys: KeySet, plaintext: Uint8Array | string, options: SealOptions = {}): string {
  const engine = getEngine(options.engine);
  const alg = options.alg ?? 'A256KW';
  checkSealAlg(alg);
  const key = keys.primaryEntry();
  const iat = options.iat === true ? Math.floor(Date.now() / 1000) : options.iat === false ? undefined : options.iat;
  if (iat !== undefined && !Number.isSafeInteger(iat)) throw new RangeError('seal: iat must be true, false or an integer number of seconds');
  const wsc = options.context !== undefined ? contextDigest(options.context, engine) : undefined;
  const header = encodeHeader(alg, key.kid, options.cty, iat, options.field, wsc);
  // Never make a token that a reader with default limits refuses: fail here, at the writer.
  if (header.b64.length > DEFAULT_LIMITS.maxHeaderLength) {
    throw new TokenMalformedError(
      `the protected header would be ${header.b64.length} characters, over the ${DEFAULT_LIMITS.maxHeaderLength} that readers accept by default; shorten field, cty or kid`,
    );
  }
  const { cek, ek } = newContentKey(engine, key, alg);
  return sealWith(engine, key, alg, cek, ek, engine.randomBytes(12), toBytes(plaintext), header);
}

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

function notFiveSegments(): never {
  throw new TokenMalformedError('token is not JWE compact serialization: expected 5 dot-separated segments');
}

/** Decodes `text[start, end)` (the whole string by default); segments are decoded in place, without slicing. */
function decodeSegment(text: string, name: string, start = 0, end = text.length): Uint8Array {
  const bytes = decodeSegmentBytes(text, start, end);
  if (!bytes) throw new TokenMalformedError(`token ${name} segment is not valid unpadded base64url`);
  return bytes;
}

/**
 * Decodes and checks the protected header of a compact JWE without
 * decrypting anything (what `wireseal inspect` shows). The header is not
 * authenticated until the token is opened.
 * @throws TokenMalformedError when the token or header is malformed
 */
export function decodeProtectedHeader(token: string, maxHeaderLength: number = DEFAULT_LIMITS.maxHeaderLength): ProtectedHeader {
  if (typeof token !== 'string') throw new TokenMalformedError('token must be a string');
  const end = token.indexOf('.');
  const first = end < 0 ? token : token.slice(0, end);
  return ownHeader(parseHeader(first, maxHeaderLength).header);
}

/**
 * Validated headers, with their AAD bytes, by their base64url text. Field
 * tokens repeat a handful of headers (one per policy path), so opening them
 * skips base64, UTF-8, JSON and AAD work. Only headers whose members are all
 * strings are kept (a shallow copy is then a full copy), frozen, and copied
 * before they reach a caller.
 */
const headerCache = new Map<string, KnownHeader>();
const HEADER_CACHE_MAX = 1024;
const HEADER_CACHE_MAX_LENGTH = 1024;

function cacheHeader(known: KnownHeader): void {
  if (known.headerB64.length > HEADER_CACHE_MAX_LENGTH) return;
  for (const k in known.header) if (typeof known.header[k] !== 'string') return;
  if (headerCache.size >= HEADER_CACHE_MAX) headerCache.delete(headerCache.keys().next().value as string);
  Object.freeze(known.header);
  headerCache.set(known.headerB64, known);
}

/** A header safe to hand to a caller: cached (frozen) headers are copied. */
function ownHeader(h: ProtectedHeader): ProtectedHeader {
  return Object.isFrozen(h) ? { ...h } : h;
}

function parseHeader(b64: string, maxHeaderLength: number): KnownHeader {
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
  if (header.crit !== undefined) throw new AlgUnsupportedError('token header has "crit": no critical extensions are supported');
  if (header.zip !== undefined) throw new AlgUnsupportedError('token header has "zip": compression is not supported');
  const algs = options.algorithms ?? DEFAULT_ALGS;
  if (typeof header.alg !== 'string' || !(algs as readonly string[]).includes(header.alg)) {
    throw new AlgUnsupportedError(`token alg ${JSON.stringify(header.alg ?? null)} is not allowed (allowed: ${algs.join(', ')})`);
  }
  if (header.enc !== 'A256GCM') throw new AlgUnsupportedError(`token enc ${JSON.stringify(header.enc ?? null)} is not allowed (allowed: A256GCM)`);
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
  if (header.alg === 'dir' ? parsed.ek.length !== 0 : parsed.ek.length !== 40) {
    throw new TokenMalformedError(`token encrypted key is ${parsed.ek.length} bytes; ${header.alg} needs ${header.alg === 'dir' ? 0 : 40}`);
  }
  if (parsed.iv.length !== 12) throw new TokenMalformedError(`token iv is ${parsed.iv.length} bytes; A256GCM needs 12`);
  if (parsed.tag.length !== 16) throw new TokenMalformedError(`token tag is ${parsed.tag.length} bytes; A256GCM needs 16`);
  return parsed;
}

/** @internal Finds the key that opens a parsed token. */
export function keyFor(keys: KeySet, header: ProtectedHeader): KeyEntry {
  if (typeof header.kid !== 'string') throw new KeyUnknownError('token header has no kid');
  const key = keys.entry(header.kid);
  if (!key) throw new KeyUnknownError(`token kid ${JSON.stringify(header.kid.slice(0, 64))} is not in the key set`);
  if (!key.canDecrypt) throw new KeyUnknownError(`key ${JSON.stringify(key.kid)} is not allowed to decrypt (key_ops)`);
  return key;
}

/** The key that decrypts a parsed token's content: the key itself (`dir`), the caller's already unwrapped one, or an unwrap. */
function contentKeyOf(engine: Engine, key: KeyEntry, p: ParsedToken, cek: Uint8Array | undefined): Uint8Array {
  return p.header.alg === 'dir' ? key.bytes : cek ?? engine.keyUnwrap(key.bytes, p.ek);
}

/** @internal Authenticates and decrypts a parsed token; `cek` is reused when the caller already unwrapped this ek. */
export function decryptParsed(engine: Engine, key: KeyEntry, p: ParsedToken, cek?: Uint8Array): { plaintext: Uint8Array; cek: Uint8Array } {
  const contentKey = contentKeyOf(engine, key, p, cek);
  const plaintext = engine.gcmDecrypt(contentKey, p.iv, p.ciphertext, p.tag, p.aad);
  return { plaintext, cek: contentKey };
}


/**
 * @internal Like {@link decryptParsed}, but returns the plaintext as text
 * (field tokens hold JSON text). Invalid UTF-8 throws `ERR_TOKEN_MALFORMED`.
 */
export function decryptParsedText(engine: Engine, key: KeyEntry, p: ParsedToken, cek?: Uint8Array): { text: string; cek: Uint8Array } {
  const contentKey = contentKeyOf(engine, key, p, cek);
  const fast = engineInternals(engine);
  const aad = p.aad;
  let text: string | undefined;
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
  return { text, cek: contentKey };
}

/** @internal The checks that follow authentication: wsf, wsc, iat. */
export function checkClaims(header: ProtectedHeader, options: OpenOptions, engine: Engine, expectedWsc?: string): void {
  if (options.field !== undefined || header.wsf !== undefined) {
    if (header.wsf !== options.field) {
      throw new FieldMismatchError(
        options.field === undefined
          ? `token is bound to field "${header.wsf}" but was opened as a whole value`
          : header.wsf === undefined
            ? `token found at field "${options.field}" is not bound to a field`
            : `token is bound to field "${header.wsf}" but was found at "${options.field}"`,
      );
    }
  }
  if (options.context !== undefined || header.wsc !== undefined) {
    if (options.context === undefined) throw new ContextMismatchError('token is bound to a context (wsc) but none was expected');
    if (header.wsc === undefined) throw new ContextMismatchError('token is not bound to a context but one was expected');
    if (header.wsc !== (expectedWsc ?? contextDigest(options.context, engine))) {
      throw new ContextMismatchError('token was sealed for another context (wsc does not match)');
    }
  }
  if (options.maxAgeSeconds !== undefined) {
    const now = Math.floor((options.now ?? Date.now)() / 1000);
    const skew = options.clockSkewSeconds ?? 30;
    // A NaN here (e.g. Number(process.env.UNSET)) would accept any token: refuse instead.
    if (!(options.maxAgeSeconds >= 0) || !(skew >= 0) || !Number.isFinite(now)) {
      throw new StaleError('freshness check misconfigured: maxAgeSeconds, clockSkewSeconds and now() must be finite, non-negative numbers');
    }
    if (header.iat === undefined) throw new StaleError('token has no iat but freshness is required');
    if (now - header.iat > options.maxAgeSeconds) throw new StaleError(`token iat is ${now - header.iat}s old; the limit is ${options.maxAgeSeconds}s`);
    if (header.iat - now > skew) throw new StaleError(`token iat is ${header.iat - now}s in the future; the allowed clock skew is ${skew}s`);
  }
}

/**
 * Opens a token and returns the plaintext with its authenticated header.
 * @throws WiresealError with a stable code; never returns unauthenticated plaintext
 */
export function openToken(keys: KeySet, token: string, options: OpenOptions = {}): OpenedToken {
  const engine = getEngine(options.engine);
  const parsed = parseToken(token, options);
  const key = keyFor(keys, parsed.header);
  const { plaintext } = decryptParsed(engine, key, parsed);
  checkClaims(parsed.header, options, engine);
  return { plaintext, header: ownHeader(parsed.header) };
}

/**
 * Opens a token sealed by {@link seal} (or any conforming JOSE library).
 * @throws WiresealError with a stable code; never returns unauthenticated plaintext
 */
export function open(keys: KeySet, token: string, options: OpenOptions = {}): Uint8Array {
  return openToken(keys, token, options).plaintext;
}
