/**
 * RFC 9457 problem details for failed requests. The `detail` is the error's
 * message, reduced to printable ASCII and truncated, except for codes whose
 * message could tell an unauthenticated caller about the server's keys, key
 * source or replay store: those get a fixed text.
 */
import { WiresealError } from '@wireseal/core/errors';
import type { WiresealErrorCode } from '@wireseal/core/errors';
import { PROBLEM_TYPE, printable } from '../media/media.ts';

/** An RFC 9457 problem document as wireseal writes it. */
export interface ProblemDetails {
  /** `urn:wireseal:error:<code>` unless configured otherwise. */
  type: string;
  /** Short, fixed text per code. */
  title: string;
  /** The HTTP status. */
  status: number;
  /** The stable wireseal code; match on this. */
  code: WiresealErrorCode | 'ERR_INTERNAL';
  /** Operator-facing text; never key bytes or plaintext. */
  detail: string;
}

/** A ready-to-send problem response. */
export interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  /** The problem document. */
  problem: ProblemDetails;
  /** The problem document as JSON text. */
  body: string;
}

/** Whether a failure happened while reading the request or sealing the response. */
export type FailurePhase = 'request' | 'response';

const STATUS: Readonly<Record<WiresealErrorCode, number>> = {
  ERR_TOKEN_MALFORMED: 400,
  ERR_DECRYPT: 400,
  ERR_KEY_UNKNOWN: 400,
  ERR_ALG_UNSUPPORTED: 400,
  ERR_STALE: 400,
  ERR_REPLAY: 400,
  ERR_REPLAY_STORE: 503,
  ERR_FIELD_MISMATCH: 400,
  ERR_CONTEXT_MISMATCH: 400,
  ERR_PLAINTEXT_FIELD: 422,
  ERR_FIELD_MISSING: 422,
  ERR_AUDIENCE_MISSING: 500,
  ERR_POLICY_INVALID: 422,
  ERR_LIMIT_EXCEEDED: 413,
  ERR_KEY_SOURCE: 503,
  ERR_KEYSET_INVALID: 500,
  ERR_ARGUMENT_INVALID: 500,
  ERR_RUNTIME_UNSUPPORTED: 500,
};

const TITLE: Readonly<Record<WiresealErrorCode | 'ERR_INTERNAL', string>> = {
  ERR_TOKEN_MALFORMED: 'Malformed encrypted body',
  ERR_DECRYPT: 'Decryption failed',
  ERR_KEY_UNKNOWN: 'Unknown key',
  ERR_ALG_UNSUPPORTED: 'Unsupported algorithm or media type',
  ERR_STALE: 'Stale message',
  ERR_REPLAY: 'Replayed message',
  ERR_REPLAY_STORE: 'Replay check unavailable',
  ERR_FIELD_MISMATCH: 'Token found at the wrong field',
  ERR_CONTEXT_MISMATCH: 'Token sealed for another context',
  ERR_PLAINTEXT_FIELD: 'Plaintext where a token is required',
  ERR_FIELD_MISSING: 'Required field missing',
  ERR_AUDIENCE_MISSING: 'Key configuration error',
  ERR_POLICY_INVALID: 'Document does not fit the field policy',
  ERR_LIMIT_EXCEEDED: 'Limit exceeded',
  ERR_KEY_SOURCE: 'Keys unavailable',
  ERR_KEYSET_INVALID: 'Key configuration error',
  ERR_ARGUMENT_INVALID: 'Internal error',
  ERR_RUNTIME_UNSUPPORTED: 'Internal error',
  ERR_INTERNAL: 'Internal error',
};

/** Fixed details for codes whose message may describe the server's keys. */
const FIXED_DETAIL: Partial<Record<WiresealErrorCode | 'ERR_INTERNAL', string>> = {
  ERR_KEY_UNKNOWN: "the token's key id is not one this service can decrypt with",
  ERR_KEY_SOURCE: 'encryption keys are temporarily unavailable; retry later',
  ERR_REPLAY_STORE: 'the replay check is temporarily unavailable; retry later with a freshly sealed request',
  ERR_KEYSET_INVALID: 'the service key configuration is invalid',
  ERR_ARGUMENT_INVALID: 'internal error',
  ERR_RUNTIME_UNSUPPORTED: 'internal error',
  ERR_INTERNAL: 'internal error',
};

/** Default `type` URI of a problem: `urn:wireseal:error:<code>`. */
export function defaultProblemType(code: string): string {
  return `urn:wireseal:error:${code}`;
}

/**
 * The HTTP status a failure is answered with: the error's own `httpStatus`
 * (415 for {@link UnsupportedMediaTypeError}) or the code's status. A failure
 * while sealing a response is a server error (500; 503 for `ERR_KEY_SOURCE`).
 */
export function statusFor(err: unknown, phase: FailurePhase = 'request'): number {
  if (!(err instanceof WiresealError)) return 500;
  if (phase === 'response') return err.code === 'ERR_KEY_SOURCE' ? 503 : 500;
  const own = (err as { httpStatus?: unknown }).httpStatus;
  if (typeof own === 'number') return own;
  return STATUS[err.code] ?? 500;
}

/**
 * Builds the problem response for a failure. Anything that is not a
 * {@link WiresealError} becomes a bare 500 with code `ERR_INTERNAL` and no
 * detail from the error.
 */
export function problemFor(
  err: unknown,
  phase: FailurePhase = 'request',
  typeFor: (code: string) => string = defaultProblemType,
): ProblemResponse {
  const status = statusFor(err, phase);
  const code: ProblemDetails['code'] = err instanceof WiresealError ? err.code : 'ERR_INTERNAL';
  const detail = FIXED_DETAIL[code] ?? printable((err as Error).message);
  const title = status === 415 ? 'Unsupported media type' : TITLE[code];
  const problem: ProblemDetails = { type: typeFor(code), title, status, code, detail };
  const headers: Record<string, string> = {
    'content-type': PROBLEM_TYPE,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
  if (status === 503) headers['retry-after'] = '5';
  return { status, headers, problem, body: JSON.stringify(problem) };
}
