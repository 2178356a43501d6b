/** The `iat` freshness window for whole payloads. */
import { StaleError } from '@wireseal/core/errors';

/**
 * Checks `iat` (seconds) against now (milliseconds): at most `maxAge` old and
 * at most `skew` in the future.
 * @throws StaleError (`ERR_STALE`) when `iat` is missing or outside the window
 */
export function checkFreshness(iat: number | undefined, nowMs: number, maxAge: number, skew: number): number {
  if (iat === undefined) throw new StaleError('payload has no iat but freshness is required');
  const now = Math.floor(nowMs / 1000);
  if (now - iat > maxAge) throw new StaleError(`payload iat is ${now - iat}s old; the limit is ${maxAge}s`);
  if (iat - now > skew) throw new StaleError(`payload iat is ${iat - now}s in the future; the allowed clock skew is ${skew}s`);
  return iat;
}
