/**
 * When to refresh next: the interval spread by jitter (so a fleet started
 * together does not call Secrets Manager in lock-step), and a shorter,
 * doubling delay after failures, so a provider recovers soon after an outage.
 * Core's refreshingProvider computes it; this is the provider's policy.
 */
import { refreshDelay } from '@wireseal/core/internal';

export { jittered } from '@wireseal/core/internal';

/** First retry delay after a failed refresh, in ms; doubles per failure up to the refresh interval. */
export const RETRY_BASE_MS = 1000;

/**
 * The delay before the next refresh attempt.
 * @param intervalMs - the refresh interval
 * @param jitter - fraction in [0, 1)
 * @param consecutiveFailures - failed attempts since the last success (0: healthy)
 * @param random - a number in [0, 1), default `Math.random()`
 */
export function nextRefreshDelay(intervalMs: number, jitter: number, consecutiveFailures: number, random: number = Math.random()): number {
  return refreshDelay({ intervalMs, jitter, retryBaseMs: RETRY_BASE_MS }, consecutiveFailures, random);
}
