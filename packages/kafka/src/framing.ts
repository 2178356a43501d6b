/**
 * Kafka framing (docs/design.md, "Kafka framing"): header names, and the
 * whole-value split of a JWE into the record value (raw ciphertext bytes) and
 * the `wireseal-jwe` header (`header.ek.iv..tag`, ciphertext slot empty).
 * Records are framed from and to core's parts form, so the ciphertext never
 * goes through base64url; the compact helpers are kept for callers with a
 * compact token.
 */
import { compactToParts, partsToCompact } from '@wireseal/core';
import type { TokenParts } from '@wireseal/core';
import { TokenMalformedError } from '@wireseal/core/errors';
import type { RecordHeaders } from './codec.ts';

/** Header that marks a record as wireseal-encoded; its value is `1`. */
export const HEADER_MARKER = 'wireseal';
/** Whole-value mode: the other four JWE segments, `header.ek.iv..tag`. */
export const HEADER_JWE = 'wireseal-jwe';
/** Dead-letter records: the error code that sent the record there. */
export const HEADER_ERROR = 'wireseal-error';
/** Dead-letter records: the topic the record was read from. */
export const HEADER_SOURCE_TOPIC = 'wireseal-source-topic';
/** Dead-letter records: the partition the record was read from (decimal). */
export const HEADER_SOURCE_PARTITION = 'wireseal-source-partition';
/** Dead-letter records: the offset the record was read from (decimal). */
export const HEADER_SOURCE_OFFSET = 'wireseal-source-offset';

/** A sealed whole value, split for the record (docs/design.md, "Kafka framing"). */
export interface SplitToken {
  /** The ciphertext bytes: the record value. */
  value: Buffer;
  /** `header.ek.iv..tag`: the `wireseal-jwe` header. */
  frame: string;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const NO_CIPHERTEXT = new Uint8Array(0);

/** Frames a token in parts for a record: the ciphertext bytes as the value (not copied), the rest as the `wireseal-jwe` frame. */
export function frameParts(parts: TokenParts): SplitToken {
  return { value: asBuffer(parts.ciphertext), frame: partsToCompact({ ...parts, ciphertext: NO_CIPHERTEXT }) };
}

/**
 * A record's value and `wireseal-jwe` frame as a token in parts (the value
 * is the ciphertext, as it is: no base64url pass). Segments are decoded
 * strictly; nothing is authenticated until the parts are opened.
 * @throws TokenMalformedError when the frame is not `header.ek.iv..tag`
 */
export function unframeParts(frame: string, value: Uint8Array): TokenParts {
  checkFrame(frame);
  return { ...compactToParts(frame), ciphertext: value };
}

/** Splits a compact JWE into the raw ciphertext (the record value) and the `wireseal-jwe` frame. */
export function splitToken(token: string): SplitToken {
  return frameParts(compactToParts(token));
}

/** Longest `wireseal-jwe` header accepted (characters): header limit plus ek, iv, tag. */
const MAX_FRAME = 4096 + 4 + 54 + 16 + 22;

/**
 * Rebuilds the compact JWE from a record value and its `wireseal-jwe` frame
 * (base64url of the value goes into the empty ciphertext slot).
 * @throws TokenMalformedError when the frame is not `header.ek.iv..tag`
 */
export function joinToken(frame: string, value: Uint8Array): string {
  checkFrame(frame);
  return `${frame.slice(0, frame.lastIndexOf('.'))}${asBuffer(value).toString('base64url')}${frame.slice(frame.lastIndexOf('.'))}`;
}

/** The frame's shape: at most {@link MAX_FRAME} characters, `header.ek.iv..tag`. */
function checkFrame(frame: string): void {
  if (frame.length > MAX_FRAME) throw new TokenMalformedError(`"${HEADER_JWE}" header is over ${MAX_FRAME} characters`);
  const a = frame.indexOf('.');
  const b = a < 0 ? -1 : frame.indexOf('.', a + 1);
  const c = b < 0 ? -1 : frame.indexOf('.', b + 1);
  const d = c < 0 ? -1 : frame.indexOf('.', c + 1);
  if (d !== c + 1 || frame.indexOf('.', d + 1) >= 0) {
    throw new TokenMalformedError(`"${HEADER_JWE}" header is not "header.ek.iv..tag" (four segments, ciphertext slot empty)`);
  }
}

/** One record header's value as a string (Buffers read as latin1); `undefined` when absent; `null` when repeated or not text. */
export function headerText(headers: RecordHeaders | undefined, name: string): string | undefined | null {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  return null;
}

/** A copy of a record's headers without wireseal's framing headers (`wireseal`, `wireseal-jwe`): what the producer's caller set. */
export function stripFraming(headers: RecordHeaders | undefined): RecordHeaders {
  const out: RecordHeaders = {};
  if (!headers) return out;
  for (const k of Object.keys(headers)) {
    if (k === HEADER_MARKER || k === HEADER_JWE) continue;
    if (k === '__proto__') Object.defineProperty(out, k, { value: headers[k], enumerable: true, writable: true, configurable: true });
    else out[k] = headers[k];
  }
  return out;
}
