/**
 * Protected headers: built with a fixed member order and cached as their
 * base64url text and AAD bytes, so sealing many fields with the same shape
 * does no JSON or base64 work per token.
 */
import { encodeString } from '../base64url.ts';

/** The algorithms wireseal seals and opens with a shared key. */
export type SymmetricAlg = 'A256KW' | 'dir';

/** A protected header as wireseal writes it. */
export interface ProtectedHeader {
  alg: string;
  enc: string;
  kid?: string;
  cty?: string;
  iat?: number;
  wsf?: string;
  wsc?: string;
  [member: string]: unknown;
}

/** @internal A header ready to use: its first segment and the AAD bytes. */
export interface EncodedHeader {
  readonly b64: string;
  readonly aad: Uint8Array;
}

const MAX_CACHE = 4096;
const cache = new Map<string, EncodedHeader>();

/** @internal The bytes of an ASCII string (a base64url header is its own AAD, RFC 7516). */
export function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** @internal Builds (or fetches from cache) the encoded protected header. */
export function encodeHeader(alg: SymmetricAlg, kid: string, cty?: string, iat?: number, wsf?: string, wsc?: string): EncodedHeader {
  const cacheable = iat === undefined;
  // JSON of the members: unambiguous for any string values (no separator collisions).
  const key = cacheable ? JSON.stringify([alg, kid, cty ?? null, wsf ?? null, wsc ?? null]) : '';
  if (cacheable) {
    const hit = cache.get(key);
    if (hit) return hit;
  }
  const h: ProtectedHeader = { alg, enc: 'A256GCM', kid };
  if (cty !== undefined) h.cty = cty;
  if (iat !== undefined) h.iat = iat;
  if (wsf !== undefined) h.wsf = wsf;
  if (wsc !== undefined) h.wsc = wsc;
  const b64 = encodeString(JSON.stringify(h));
  const encoded = { b64, aad: asciiBytes(b64) };
  if (cacheable) {
    if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value as string);
    cache.set(key, encoded);
  }
  return encoded;
}

/**
 * @internal The header of a public-key field token: `alg`, `enc`, `kid`,
 * `epk` (ECDH-ES), `wsf` and `wsc`, in that order. Not cached globally: the
 * `epk` is fresh per document.
 */
export function encodePublicHeader(alg: string, kid: string, epk: Readonly<Record<string, string>> | undefined, wsf: string, wsc: string | undefined): EncodedHeader {
  const h: Record<string, unknown> = { alg, enc: 'A256GCM', kid };
  if (epk !== undefined) h.epk = epk;
  h.wsf = wsf;
  if (wsc !== undefined) h.wsc = wsc;
  const b64 = encodeString(JSON.stringify(h));
  return { b64, aad: asciiBytes(b64) };
}
