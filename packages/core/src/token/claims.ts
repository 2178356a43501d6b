/**
 * The checks that follow authentication (docs/format.md §4 steps 9-11): the
 * header is trusted only once GCM has verified it.
 */
import { contextDigest } from '../context.ts';
import type { Engine } from '../engine.ts';
import { ContextMismatchError, FieldMismatchError, StaleError } from '../errors.ts';
import type { ProtectedHeader } from './header.ts';
import type { OpenOptions } from './options.ts';

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
  // A context is expected when the caller gives one, or gives its digest (a field token's context with the record's bindings).
  const expecting = expectedWsc !== undefined || options.context !== undefined;
  if (expecting || header.wsc !== undefined) {
    if (!expecting) throw new ContextMismatchError('token is bound to a context (wsc) but none was expected');
    if (header.wsc === undefined) throw new ContextMismatchError('token is not bound to a context but one was expected');
    if (header.wsc !== (expectedWsc ?? contextDigest(options.context!, engine))) {
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

