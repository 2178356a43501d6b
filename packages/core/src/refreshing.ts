/**
 * The refreshing provider: the one piece of machinery behind every wireseal
 * key provider (file, environment, JWKS, AWS Secrets Manager). A provider is a
 * `load` function over it; the primitive does the rest: one load in flight
 * however many callers, a background refresh with jitter (and an earlier,
 * doubling retry after failures, if asked), the last good value through
 * failed loads, a staleness limit, `ready()` and `close()`.
 *
 * It is not tied to key sets: `T` may be a `KeySet`, a public-key set, or a
 * value with metadata around one (a version id, a file fingerprint), which
 * the caller's provider unwraps in its own `current()`.
 */
import { KeySourceError, WiresealError } from './errors.ts';
import { healthFromStatus } from './health.ts';
import type { KeySourceHealth } from './health.ts';
import { safeCall } from './hooks.ts';

/** What {@link RefreshingProviderOptions.load} receives. */
export interface RefreshingLoadContext<T> {
  /**
   * The last good value (possibly stale), `undefined` on the first load.
   * Return it as is to say "unchanged": it stays in force and counts as a
   * successful refresh.
   */
  previous: T | undefined;
  /** Aborted by `close()`: pass it to network calls (an AWS SDK `abortSignal`, `fetch`). */
  signal: AbortSignal;
}

/** A snapshot of a {@link RefreshingProvider}'s state; no I/O. */
export interface RefreshingStatus<T> {
  /** The last good value, even if stale; `undefined` before the first load and after `close()`. */
  value: T | undefined;
  /** `close()` was called. */
  closed: boolean;
  /** `current()` would return a value now (loaded, not stale, not closed). */
  usable: boolean;
  /** When the last load succeeded (by the `now` clock), if one did. */
  lastSuccessAt: number | undefined;
  /** Failed loads since the last success. */
  consecutiveFailures: number;
  /** The last failed load's error since the last success, if any. */
  lastError: KeySourceError | undefined;
  /** Ms until `current()` starts throwing (≤ 0: it does); `Infinity` without `maxStaleMs`; `undefined` before the first load. */
  usableForMs: number | undefined;
}

/** Options for {@link refreshingProvider}. */
export interface RefreshingProviderOptions<T> {
  /** Names the source in messages ("key provider for `source` is closed"): a path, a secret id, never a secret. */
  source: string;
  /**
   * Loads the value. Throw a `KeySourceError` whose message is safe to
   * report (no key bytes, no secret content). Anything else thrown is wrapped
   * in one: another `WiresealError` becomes its `cause`; any other error is
   * dropped (its message could quote what was read) for "`source`: unexpected failure".
   */
  load: (context: RefreshingLoadContext<T>) => Promise<T>;
  /** Nominal time between background refreshes, in ms, counted from the end of the last attempt. Default 0: no background refresh (`Infinity` too). */
  intervalMs?: number;
  /** Spread of each delay, as a fraction of it, in [0, 1): a delay is drawn from `[d·(1−jitter), d·(1+jitter)]`. Default 0. */
  jitter?: number;
  /**
   * After a failed load, retry sooner: `retryBaseMs`, doubling with each
   * failure in a row, never more than `intervalMs` (jittered too). Default:
   * no early retry, the next attempt is after `intervalMs`.
   */
  retryBaseMs?: number;
  /** How long the last good value stays usable after the last successful load, in ms; then `current()` throws `ERR_KEY_SOURCE`. Default: no limit. */
  maxStaleMs?: number;
  /** Clock in ms, for staleness. Default `Date.now`. */
  now?: () => number;
  /** After every successful load, the value in force and the one before it (the same object when `load` returned `previous`). A throwing hook is ignored. */
  onLoad?: (value: T, previous: T | undefined) => void;
  /**
   * After every failed load (not after `close()`), with the state once the
   * failure is counted (`value`: the last good value still in force, if
   * any). The same error object rejects the `ready()` or `refresh()` that
   * ran the load. A throwing hook is ignored.
   */
  onError?: (err: KeySourceError, status: RefreshingStatus<T>) => void;
}

/**
 * A value loaded asynchronously, refreshed in the background, handed out
 * synchronously. A `RefreshingProvider<KeySet>` is a `KeyProvider`.
 */
export interface RefreshingProvider<T> {
  /**
   * Loads the value (once; later calls return the same promise) and starts
   * the background refresh. Rejects with `ERR_KEY_SOURCE` if the load fails
   * (a later call tries again) or the provider is closed.
   */
  ready(): Promise<void>;
  /**
   * The value in force. Synchronous, no I/O.
   * @throws KeySourceError (`ERR_KEY_SOURCE`) before `ready()` resolved, after
   *   `close()`, and when the last successful load is older than `maxStaleMs`
   */
  current(): T;
  /**
   * Loads now, joining a load already in flight. Rejects with the
   * `KeySourceError` that `onError` also receives; the last good value stays.
   */
  refresh(): Promise<void>;
  /** State snapshot, for health checks and hooks; no I/O. */
  status(): RefreshingStatus<T>;
  /**
   * The same snapshot as a {@link KeySourceHealth}: `state`, `ready`,
   * `stale`, the last success and failure (code and safe message), never the
   * value. For `/readyz` endpoints and logs; no I/O.
   */
  health(): KeySourceHealth;
  /**
   * Stops the background refresh, aborts the load in flight (its `signal`)
   * and forgets the value; `current()` and `ready()` fail with `ERR_KEY_SOURCE`
   * from then on. Synchronous in effect; the promise settles once the load
   * in flight has.
   */
  close(): Promise<void>;
}

/** setTimeout's largest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A delay drawn uniformly from `[base·(1−jitter), base·(1+jitter)]`, rounded.
 * For the wireseal packages (exported from `@wireseal/core/internal`).
 * @param random - a number in [0, 1), default `Math.random()`
 */
export function jittered(baseMs: number, jitter: number, random: number = Math.random()): number {
  return Math.max(0, Math.round(baseMs * (1 + jitter * (2 * random - 1))));
}

/**
 * The delay before the next refresh attempt of a {@link refreshingProvider}:
 * `intervalMs` when healthy; after failures `retryBaseMs · 2^(failures−1)`
 * capped at `intervalMs` (or `intervalMs` without `retryBaseMs`); jittered.
 * For the wireseal packages (exported from `@wireseal/core/internal`).
 * @param random - a number in [0, 1), default `Math.random()`
 */
export function refreshDelay(
  schedule: { intervalMs: number; jitter?: number | undefined; retryBaseMs?: number | undefined },
  consecutiveFailures: number,
  random: number = Math.random(),
): number {
  const { intervalMs, jitter = 0, retryBaseMs } = schedule;
  const base = consecutiveFailures === 0 || retryBaseMs === undefined
    ? intervalMs
    : Math.min(intervalMs, retryBaseMs * 2 ** Math.min(consecutiveFailures - 1, 30));
  return jittered(base, jitter, random);
}

/** A load's failure as a KeySourceError whose message and cause are safe to report. */
function sourceError(source: string, err: unknown): KeySourceError {
  if (err instanceof KeySourceError) return err;
  if (err instanceof WiresealError) return new KeySourceError(`${source}: ${err.message}`, { cause: err });
  return new KeySourceError(`${source}: unexpected failure`);
}

/**
 * Creates a refreshing provider over `load`. The building block of
 * `fileKeyProvider`, `envKeyProvider`, `@wireseal/http`'s `jwksProvider` and
 * `@wireseal/aws-secrets`' `secretsManagerKeyProvider`; use it for a key
 * source of your own (a KMS-wrapped key set, an internal endpoint). The
 * timer is `unref()`'d: it never keeps a process alive.
 *
 * @throws KeySourceError for an invalid option (a negative interval or
 *   staleness limit, jitter outside [0, 1))
 * @example
 * ```ts
 * const provider = refreshingProvider<KeySet>({
 *   source: 'https://keys.internal/payments',
 *   load: async ({ signal }) => KeySet.fromJwks(await (await fetch(url, { signal })).text()),
 *   intervalMs: 60_000,
 *   jitter: 0.1,
 *   maxStaleMs: 600_000,
 * });
 * await provider.ready();
 * const token = seal(provider.current(), 'hello'); // a RefreshingProvider<KeySet> is a KeyProvider
 * ```
 */
export function refreshingProvider<T extends NonNullable<unknown>>(options: RefreshingProviderOptions<T>): RefreshingProvider<T> {
  const { source, load, maxStaleMs, retryBaseMs } = options;
  const intervalMs = options.intervalMs ?? 0;
  const jitter = options.jitter ?? 0;
  const invalid = (what: string) => new KeySourceError(`refreshingProvider ${source}: ${what}`);
  if (!(intervalMs >= 0)) throw invalid('intervalMs must be >= 0');
  if (!(jitter >= 0 && jitter < 1)) throw invalid('jitter must be in [0, 1)');
  if (retryBaseMs !== undefined && !(retryBaseMs > 0)) throw invalid('retryBaseMs must be > 0');
  if (maxStaleMs !== undefined && !(maxStaleMs >= 0)) throw invalid('maxStaleMs must be >= 0');
  const now = options.now ?? Date.now;
  const closing = new AbortController();

  let value: T | undefined;
  let lastSuccessAt: number | undefined;
  let lastError: KeySourceError | undefined;
  let consecutiveFailures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let readyPromise: Promise<void> | undefined;
  let inFlight: Promise<void> | undefined;

  const isClosed = (): boolean => closing.signal.aborted;
  const closedError = (): KeySourceError => new KeySourceError(`key provider for ${source} is closed`);

  function usableForMs(): number | undefined {
    if (lastSuccessAt === undefined) return undefined;
    return maxStaleMs === undefined ? Infinity : lastSuccessAt + maxStaleMs - now();
  }

  function status(): RefreshingStatus<T> {
    const remaining = usableForMs();
    return {
      value,
      closed: isClosed(),
      usable: !isClosed() && value !== undefined && remaining !== undefined && remaining >= 0,
      lastSuccessAt,
      consecutiveFailures,
      lastError,
      usableForMs: remaining,
    };
  }

  async function attempt(): Promise<void> {
    const previous = value;
    let next: T;
    try {
      next = await load({ previous, signal: closing.signal });
    } catch (err) {
      const e = sourceError(source, err);
      consecutiveFailures++;
      lastError = e;
      if (!isClosed()) safeCall(options.onError, e, status());
      throw e;
    }
    if (isClosed()) throw closedError();
    value = next;
    lastSuccessAt = now();
    lastError = undefined;
    consecutiveFailures = 0;
    safeCall(options.onLoad, next, previous);
  }

  function refresh(): Promise<void> {
    if (isClosed()) return Promise.reject(closedError());
    inFlight ??= attempt().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function schedule(): void {
    if (isClosed() || intervalMs === 0 || intervalMs === Infinity) return;
    if (timer) clearTimeout(timer);
    const delay = refreshDelay({ intervalMs, jitter, retryBaseMs }, consecutiveFailures);
    timer = setTimeout(() => {
      timer = undefined;
      refresh().then(schedule, schedule);
    }, Math.min(delay, MAX_TIMER_MS));
    timer.unref?.();
  }

  return {
    ready(): Promise<void> {
      if (isClosed()) return Promise.reject(closedError());
      readyPromise ??= refresh().then(
        () => {
          if (isClosed()) throw closedError();
          schedule();
        },
        (err: unknown) => {
          readyPromise = undefined; // a later ready() tries again
          throw err;
        },
      );
      return readyPromise;
    },

    current(): T {
      if (isClosed()) throw closedError();
      if (value === undefined || lastSuccessAt === undefined) {
        throw new KeySourceError(`key provider for ${source} is not ready: await provider.ready() first`);
      }
      if (maxStaleMs !== undefined) {
        const age = now() - lastSuccessAt;
        if (age > maxStaleMs) {
          throw new KeySourceError(
            `key set from ${source} is stale: last successful refresh ${age} ms ago, maxStaleMs is ${maxStaleMs}` +
              (lastError ? `; last error: ${lastError.message}` : ''),
            lastError ? { cause: lastError } : undefined,
          );
        }
      }
      return value;
    },

    refresh,
    status,
    health: () => healthFromStatus(source, status()),

    async close(): Promise<void> {
      if (!isClosed()) {
        closing.abort();
        if (timer) clearTimeout(timer);
        timer = undefined;
        value = undefined;
      }
      await inFlight?.catch(() => undefined);
    },
  };
}
