/**
 * Strict base64url (RFC 4648 §5, no padding), as JWS/JWE require: any other
 * character, a length that cannot be base64, or non-zero trailing bits is
 * rejected, so every token has exactly one encoding.
 */
import { NodeBuffer } from './runtime.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

type NodeBufferInstance = Uint8Array & { toString(encoding: string): string };
const BufferClass = NodeBuffer as unknown as (abstract new () => NodeBufferInstance) | undefined;

/** Encodes bytes as unpadded base64url. */
export function encode(bytes: Uint8Array): string {
  // node:crypto hands out Buffers: encode them without another view object.
  if (BufferClass && bytes instanceof BufferClass) return bytes.toString('base64url');
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

/** Encodes a string's UTF-8 bytes as unpadded base64url. */
export function encodeString(text: string): string {
  if (NodeBuffer) return (NodeBuffer.from(text, 'utf8') as Uint8Array & { toString(e: string): string }).toString('base64url');
  return encode(new TextEncoder().encode(text));
}

/**
 * Decodes strict unpadded base64url; returns undefined when `text` is not
 * canonical base64url (the caller turns that into a typed error).
 */
export function decode(text: string): Uint8Array | undefined {
  const len = text.length;
  if (len % 4 === 1) return undefined;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c > 127 || LOOKUP[c] === -1) return undefined;
  }
  // Non-zero trailing bits would make two strings decode to the same bytes.
  const tail = len % 4;
  if (tail === 2 && (LOOKUP[text.charCodeAt(len - 1)]! & 15) !== 0) return undefined;
  if (tail === 3 && (LOOKUP[text.charCodeAt(len - 1)]! & 3) !== 0) return undefined;
  if (NodeBuffer) return NodeBuffer.from(text, 'base64url');
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    const n = (LOOKUP[text.charCodeAt(i)]! << 18) | (LOOKUP[text.charCodeAt(i + 1)]! << 12) |
      (LOOKUP[text.charCodeAt(i + 2)]! << 6) | LOOKUP[text.charCodeAt(i + 3)]!;
    out[o++] = n >> 16; out[o++] = (n >> 8) & 255; out[o++] = n & 255;
  }
  if (tail === 2) {
    out[o++] = ((LOOKUP[text.charCodeAt(i)]! << 2) | (LOOKUP[text.charCodeAt(i + 1)]! >> 4)) & 255;
  } else if (tail === 3) {
    const n = (LOOKUP[text.charCodeAt(i)]! << 12) | (LOOKUP[text.charCodeAt(i + 1)]! << 6) | LOOKUP[text.charCodeAt(i + 2)]!;
    out[o++] = (n >> 10) & 255; out[o++] = (n >> 2) & 255;
  }
  return out;
}

const BASE64URL_RE = /^[A-Za-z0-9_-]*$/;
/** Below this length a JS loop beats Buffer's native decoder (which needs a separate validation pass). */
const SMALL = 96;

/**
 * Token segments are decoded into views of a private 8 KiB slab: off V8's
 * heap like Node's Buffer pool, so node:crypto reads them without first
 * moving them (a small Uint8Array lives on V8's heap and costs about 0.5 µs
 * to move), but holding nothing except public token bytes, where Node's
 * shared pool may hold any recent Buffer data.
 */
const SLAB = 8192;
let slab = new ArrayBuffer(SLAB);
let used = 0;
function segment(n: number): Uint8Array {
  if (n > SLAB / 4) return new Uint8Array(n);
  if (used + n > SLAB) {
    slab = new ArrayBuffer(SLAB);
    used = 0;
  }
  const out = new Uint8Array(slab, used, n);
  used = (used + n + 7) & ~7;
  return out;
}

type WritableBuffer = Uint8Array & { write(text: string, offset: number, length: number, encoding: string): number };

/**
 * @internal {@link decode} for token segments: same strictness, same bytes.
 * Short segments (IV, tag, encrypted key, small ciphertexts) are validated
 * and decoded in one JS pass; long ones are checked with a regular
 * expression, then decoded by Node's native decoder.
 */
export function decodeSegmentBytes(text: string, start = 0, end = text.length): Uint8Array | undefined {
  const len = end - start;
  const tail = len % 4;
  if (tail === 1) return undefined;
  if (len > SMALL && NodeBuffer) {
    const part = start === 0 && end === text.length ? text : text.slice(start, end);
    if (!BASE64URL_RE.test(part)) return undefined;
    if (tail === 2 && (LOOKUP[part.charCodeAt(len - 1)]! & 15) !== 0) return undefined;
    if (tail === 3 && (LOOKUP[part.charCodeAt(len - 1)]! & 3) !== 0) return undefined;
    // Not Buffer.from(part, 'base64url'): below 4 KiB it takes memory from Node's shared pool.
    const n = Math.floor((len * 3) / 4);
    const out = n > SLAB / 4 ? NodeBuffer.allocUnsafeSlow(n) : segment(n);
    (NodeBuffer.from(out.buffer, out.byteOffset, n) as unknown as WritableBuffer).write(part, 0, n, 'base64url');
    return out;
  }
  const out = segment(Math.floor((len * 3) / 4));
  // `codes` collects every char code (any above 127 is invalid); `bad` goes
  // negative when a char is outside the alphabet (LOOKUP holds -1 there).
  let codes = 0;
  let bad = 0;
  let o = 0;
  let i = start;
  for (const stop = end - tail; i < stop; i += 4) {
    const c0 = text.charCodeAt(i), c1 = text.charCodeAt(i + 1), c2 = text.charCodeAt(i + 2), c3 = text.charCodeAt(i + 3);
    codes |= c0 | c1 | c2 | c3;
    const a = LOOKUP[c0 & 127]!, b = LOOKUP[c1 & 127]!, c = LOOKUP[c2 & 127]!, d = LOOKUP[c3 & 127]!;
    bad |= a | b | c | d;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (tail === 2) {
    const c0 = text.charCodeAt(i), c1 = text.charCodeAt(i + 1);
    codes |= c0 | c1;
    const a = LOOKUP[c0 & 127]!, b = LOOKUP[c1 & 127]!;
    bad |= a | b | (b & 15 ? -1 : 0); // non-zero trailing bits
    out[o++] = ((a << 2) | (b >> 4)) & 255;
  } else if (tail === 3) {
    const c0 = text.charCodeAt(i), c1 = text.charCodeAt(i + 1), c2 = text.charCodeAt(i + 2);
    codes |= c0 | c1 | c2;
    const a = LOOKUP[c0 & 127]!, b = LOOKUP[c1 & 127]!, c = LOOKUP[c2 & 127]!;
    bad |= a | b | c | (c & 3 ? -1 : 0); // non-zero trailing bits
    const n = (a << 12) | (b << 6) | c;
    out[o++] = (n >> 10) & 255;
    out[o++] = (n >> 2) & 255;
  }
  return codes > 127 || bad < 0 ? undefined : out;
}
