/**
 * Media types and request heads: the few header helpers the codec and the
 * profiles need (a folder of its own, so neither imports the other), written for Node's `IncomingHttpHeaders` shape (lower-case names, string or
 * string[] values) so every adapter can pass its headers as they are.
 */

/** Request or response headers as Node and Fastify expose them. */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** What the codec knows about a request before and after reading its body. */
export interface RequestHead {
  /** Upper-case method, e.g. `POST`. */
  readonly method: string;
  /** Path without the query string, e.g. `/payments`. */
  readonly path: string;
  /** Headers with lower-case names. */
  readonly headers: HeaderMap;
}

/** Media type of a JSON body in fields mode. */
export const JSON_TYPE = 'application/json';
/** Media type of the RFC 9457 problem documents the adapters answer with. */
export const PROBLEM_TYPE = 'application/problem+json';
/**
 * Request header a wireseal client sends (value `1`) to ask for sealed
 * responses on `optional` routes, also when its request had nothing to seal.
 */
export const WIRESEAL_HEADER = 'wireseal';

/** One header value as a string (arrays joined with `, `), or undefined. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return v.join(', ');
}

/** The essence of a media type: `type/subtype`, lower-case, without parameters. */
export function essence(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  const e = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return e === '' ? undefined : e;
}

/** True for `application/json` and `application/<anything>+json`. */
export function isJsonType(type: string | undefined): boolean {
  return type === JSON_TYPE || (type !== undefined && type.startsWith('application/') && type.endsWith('+json'));
}

/** True when the request announces a body (`content-length` > 0 or `transfer-encoding`). */
export function hasBody(headers: HeaderMap): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const len = contentLength(headers);
  return len !== undefined && len > 0;
}

/** The declared `content-length`, or undefined when absent or not a number. */
export function contentLength(headers: HeaderMap): number | undefined {
  const raw = headerValue(headers, 'content-length');
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * True when an `Accept` header lists `type` (exactly, not through `*\/*`)
 * with a non-zero quality.
 */
export function accepts(accept: string | undefined, type: string): boolean {
  if (accept === undefined) return false;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';');
    if (range.trim().toLowerCase() !== type) continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_RE = new RegExp(`^${TOKEN}/${TOKEN}(\\s*;[\\x20-\\x7e]*)?$`);

/**
 * Normalises a JWE `cty` into a full media type (RFC 7516 §4.1.12: a `cty`
 * without `/` means `application/<cty>`); undefined when it is not a valid
 * media type (which would be unsafe to hand on as a header value).
 */
export function mediaTypeFromCty(cty: string): string | undefined {
  const full = cty.includes('/') ? cty : `application/${cty}`;
  return full.length <= 256 && MEDIA_RE.test(full) ? full : undefined;
}

/** Printable ASCII, at most `max` characters: safe to echo in a problem detail. */
export function printable(text: string, max = 300): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}
