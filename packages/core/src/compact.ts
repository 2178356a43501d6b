/**
 * seal/open: JWE Compact Serialization (RFC 7516) with `enc: A256GCM` and
 * `alg: A256KW` (default: a fresh content key per token, wrapped under the
 * primary key) or `alg: dir`. A thin face over the token layer in `token/`:
 * header building and parsing, key management, content encryption, claims.
 */
import { getEngine } from './engine.ts';
import { TokenMalformedError } from './errors.ts';
import type { KeySet } from './keyset.ts';
import { checkClaims } from './token/claims.ts';
import { decryptParsed, sealWith } from './token/content.ts';
import type { ProtectedHeader } from './token/header.ts';
import { keyFor, newContentKeyBytes } from './token/key-management.ts';
import { contentKeyFor, countToken, reuseBounds } from './token/reuse.ts';
import type { OpenedToken, OpenOptions, SealOptions } from './token/options.ts';
import { DEFAULT_LIMITS } from './token/options.ts';
import { sealingHeader } from './token/sealing.ts';
import { ownHeader, parseHeader, parseToken } from './token/parse.ts';
import { toBytes } from './token/text.ts';

export { DEFAULT_LIMITS } from './token/options.ts';
export type { OpenedToken, OpenOptions, SealOptions } from './token/options.ts';

/**
 * Seals bytes or a UTF-8 string into a JWE compact token under the key set's primary key.
 * @example
 * const token = seal(keys, '{"pan":"4111..."}', { cty: 'application/json', iat: true });
 */
export function seal(keys: KeySet, plaintext: Uint8Array | string, options: SealOptions = {}): string {
  const engine = getEngine(options.engine);
  const { key, alg, header } = sealingHeader(keys, options, engine);
  const bytes = toBytes(plaintext);
  try {
    if (alg === 'dir') return sealWith(engine, key, alg, key.bytes, '', engine.randomBytes(12), bytes, header);
    const held = contentKeyFor(engine, key, reuseBounds(options.reuseContentKey), () => newContentKeyBytes(engine, key, alg));
    countToken(held, bytes.length);
    return sealWith(engine, key, alg, held.cek, held.ek, engine.randomBytes(12), bytes, header);
  } finally {
    // Bytes made here from the caller's text may sit in Node's shared Buffer pool: zero them.
    if (typeof plaintext === 'string') bytes.fill(0);
  }
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
