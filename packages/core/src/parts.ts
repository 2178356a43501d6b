/**
 * A token in parts: the protected header segment as text, the other four
 * segments as bytes. The same JWE as the compact form (docs/format.md §3),
 * for framings that carry the ciphertext as raw bytes (Kafka's whole-value
 * records), so that no base64url pass over the payload is needed either way.
 */
import { decodeSegmentBytes, encode } from './base64url.ts';
import { getEngine } from './engine.ts';
import { ArgumentInvalidError, TokenMalformedError } from './errors.ts';
import type { KeySet } from './keyset.ts';
import { checkClaims } from './token/claims.ts';
import { decryptParsed } from './token/content.ts';
import { dirContent, keyFor, newContentKeyBytes } from './token/key-management.ts';
import { contentKeyFor, countToken, reuseBounds } from './token/reuse.ts';
import type { OpenedToken, OpenOptions, SealOptions } from './token/options.ts';
import { DEFAULT_LIMITS } from './token/options.ts';
import type { ParsedToken } from './token/parse.ts';
import { checkAlgorithms, checkLengths, decodeSegment, notFiveSegments, ownHeader, parseHeader } from './token/parse.ts';
import { sealingHeader } from './token/sealing.ts';
import { toBytes } from './token/text.ts';

/** A JWE in parts. `protectedHeader` is the first segment exactly as sent: it is the AAD. */
export interface TokenParts {
  /** The protected header segment (base64url text), exactly as sent. */
  readonly protectedHeader: string;
  /** The encrypted key (40 bytes for `A256KW`, empty for `dir`). */
  readonly encryptedKey: Uint8Array;
  /** The 12-byte IV. */
  readonly iv: Uint8Array;
  /** The ciphertext, as long as the plaintext. */
  readonly ciphertext: Uint8Array;
  /** The 16-byte authentication tag. */
  readonly tag: Uint8Array;
}

const b64Length = (bytes: number): number => Math.ceil((bytes * 4) / 3);

/**
 * Seals like {@link seal}, returning the token in parts instead of as one string.
 * @example
 * const parts = sealParts(keys, payload, { context: { topic: 'documents' } });
 * @throws AlgUnsupportedError `ERR_ALG_UNSUPPORTED` for an `alg` that cannot seal
 */
export function sealParts(keys: KeySet, plaintext: Uint8Array | string, options: SealOptions = {}): TokenParts {
  const engine = getEngine(options.engine);
  const { key, alg, header } = sealingHeader(keys, options, engine);
  const bytes = toBytes(plaintext);
  try {
    const held = alg === 'dir' ? dirContent(key) : contentKeyFor(engine, key, reuseBounds(options.reuseContentKey), () => newContentKeyBytes(engine, key, alg));
    countToken(held, bytes.length);
    const iv = engine.randomBytes(12);
    const { ciphertext, tag } = engine.gcmEncrypt(held.cek, iv, bytes, header.aad);
    // A copy of the encrypted key: the held key's bytes serve later tokens, and a caller may zero what it got.
    return { protectedHeader: header.b64, encryptedKey: new Uint8Array(held.ekBytes), iv, ciphertext, tag }; // (Buffer#slice would be a view)
  } finally {
    // Bytes made here from the caller's text may sit in Node's shared Buffer pool: zero them.
    if (typeof plaintext === 'string') bytes.fill(0);
  }
}

/**
 * Opens a token given in parts, with every check of {@link open}: size limits,
 * the allow-list, segment lengths, authentication, then `wsf`, `wsc` and `iat`.
 * @throws WiresealError with a stable code; never returns unauthenticated plaintext
 */
export function openParts(keys: KeySet, parts: TokenParts, options: OpenOptions = {}): OpenedToken {
  if (parts === null || typeof parts !== 'object') throw new ArgumentInvalidError('openParts: parts must be a TokenParts object');
  const { protectedHeader, encryptedKey, iv, ciphertext, tag } = parts;
  if (typeof protectedHeader !== 'string') throw new TokenMalformedError('token protected header must be a string');
  for (const [name, v] of [['encrypted key', encryptedKey], ['iv', iv], ['ciphertext', ciphertext], ['tag', tag]] as const) {
    if (!(v instanceof Uint8Array)) throw new TokenMalformedError(`token ${name} must be bytes`);
  }
  const maxLen = options.maxTokenLength ?? DEFAULT_LIMITS.maxTokenLength;
  const length = protectedHeader.length + 4 + b64Length(encryptedKey.length) + b64Length(iv.length) + b64Length(ciphertext.length) + b64Length(tag.length);
  if (length > maxLen) throw new TokenMalformedError(`token is over the limit of ${maxLen} characters`);
  const engine = getEngine(options.engine);
  const known = parseHeader(protectedHeader, options.maxHeaderLength ?? DEFAULT_LIMITS.maxHeaderLength);
  checkAlgorithms(known.header, options);
  const parsed: ParsedToken = { ...known, ekB64: '', ek: encryptedKey, iv, ciphertext, tag };
  checkLengths(parsed);
  const key = keyFor(keys, known.header);
  const { plaintext } = decryptParsed(engine, key, parsed);
  checkClaims(known.header, options, engine);
  return { plaintext, header: ownHeader(known.header) };
}

/** The compact serialization of a token in parts. */
export function partsToCompact(parts: TokenParts): string {
  return [parts.protectedHeader, encode(parts.encryptedKey), encode(parts.iv), encode(parts.ciphertext), encode(parts.tag)].join('.');
}

/**
 * Splits a compact token into parts, decoding its segments (strict
 * base64url). Nothing is authenticated: open the parts with {@link openParts}.
 * @throws TokenMalformedError `ERR_TOKEN_MALFORMED` when it is not five base64url segments
 */
export function compactToParts(token: string): TokenParts {
  if (typeof token !== 'string') throw new TokenMalformedError('token must be a string');
  const seg = token.split('.');
  if (seg.length !== 5) notFiveSegments();
  if (seg[0]!.length === 0 || !decodeSegmentBytes(seg[0]!, 0, seg[0]!.length)) throw new TokenMalformedError('token protected header segment is not valid unpadded base64url');
  return {
    protectedHeader: seg[0]!,
    encryptedKey: decodeSegment(seg[1]!, 'encrypted key'),
    iv: decodeSegment(seg[2]!, 'iv'),
    ciphertext: decodeSegment(seg[3]!, 'ciphertext'),
    tag: decodeSegment(seg[4]!, 'tag'),
  };
}
