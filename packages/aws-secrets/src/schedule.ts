/**
 * When to refresh next: the interval spread by jitter (so a fleet started
 * together does not call Secrets Manager in lock-step), and a shorter,
 * doubling delay after failures, so a provider recovers soon after an outage.
 */

/** First retry delay after a failed refresh, in ms; doubles per failure up to the refresh interval. */
export const RETRY_BASE_MS = 1000;

/**
 * A delay drawn uniformly from `[base·(1−jitter), base·(1+jitter)]`.
 * @param baseMs - the nominal delay
 * @param jitter - fraction in [0, 1)
 * @param random - a number in [0, 1), default `Math.random()`
 */
export function jittered(baseMs: number, jitter: number, random: number = Math.random()): number {
  return Math.max(0, Math.round(baseMs * (1 + jitter * (2 * random - 1))));
}

/**
 * The delay before the next refresh attempt.
 * @param intervalMs - the refresh interval
 * @param jitter - fraction in [0, 1)
 * @param consecutiveFailures - failed attempts since the last success (0: healthy)
 * @param random - a number in [0, 1), default `Math.random()`
 */
export function nextRefreshDelay(intervalMs: number, jitter: number, consecutiveFailures: number, random: number = Math.random()): number {
  const base = consecutiveFailures === 0
    ? intervalMs
    : Math.min(intervalMs, RETRY_BASE_MS * 2 ** Math.min(consecutiveFailures - 1, 30));
  return jittered(base, jitter, random);
}
