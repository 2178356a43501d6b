/**
 * secretsManagerKeyProvider: a KeyProvider over a JWK Set kept in AWS Secrets
 * Manager. Loads once in `ready()`, refreshes in the background (one request
 * in flight, never on the seal/open path), serves the last good set through
 * outages up to `maxStaleMs`, and adds AWSPREVIOUS keys as decrypt-only.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { KeyProvider, KeySet } from '@wireseal/core';
import { KeySourceError } from '@wireseal/core/errors';
import type { WiresealError } from '@wireseal/core/errors';
import { nextRefreshDelay } from './schedule.ts';
import type { LoadedVersion, SecretsManagerClientLike, VersionStage } from './secret.ts';
import { describeAwsError, fetchVersion, isNotFound, parseVersion } from './secret.ts';

/** Options for {@link secretsManagerKeyProvider}. */
export interface SecretsManagerKeyProviderOptions {
  /** The secret's name or ARN. */
  secretId: string;
  /**
   * An AWS SDK v3 `SecretsManagerClient` (region, credentials, endpoint,
   * retries follow the SDK's conventions). Not destroyed by `close()`.
   */
  client?: SecretsManagerClientLike;
  /** Config for the client the provider creates when `client` is absent (destroyed by `close()`). */
  clientConfig?: SecretsManagerClientConfig;
  /** Nominal time between background refreshes, in ms. Default 300000 (5 min). */
  refreshIntervalMs?: number;
  /** Spread of each refresh delay, as a fraction of it, in [0, 1). Default 0.1 (±10 %). */
  jitter?: number;
  /**
   * How long the last good key set stays usable without a successful refresh,
   * counted from the last successful refresh, in ms. After that `current()`
   * throws `ERR_KEY_SOURCE`. Default 3600000 (1 h). Must exceed
   * `refreshIntervalMs · (1 + jitter)`.
   */
  maxStaleMs?: number;
  /** Add the AWSPREVIOUS version's keys as decrypt-only. Default true. */
  includePrevious?: boolean;
  /** Abort one refresh (SDK retries included) after this many ms. Default 10000. */
  requestTimeoutMs?: number;
  /**
   * Called for every failed load or refresh (and for an unusable AWSPREVIOUS
   * version). `err` is a `KeySourceError`; neither argument ever holds key
   * bytes or the secret's content. A throwing hook is ignored.
   */
  onError?: (err: WiresealError, info: SecretsManagerErrorInfo) => void;
  /** Called after every successful load or refresh. A throwing hook is ignored. */
  onRefresh?: (info: SecretsManagerRefreshInfo) => void;
  /** Clock in ms since the epoch, for staleness. Default `Date.now`. */
  now?: () => number;
}

/** What {@link SecretsManagerKeyProviderOptions.onRefresh} receives: ids, never key bytes. */
export interface SecretsManagerRefreshInfo {
  /** The `secretId` option. */
  secretId: string;
  /** VersionId of AWSCURRENT. */
  versionId: string | undefined;
  /** VersionId of AWSPREVIOUS whose keys were added, if any. */
  previousVersionId: string | undefined;
  /** The primary (sealing) key's id. */
  primaryKid: string;
  /** Every kid in force (current and previous), in set order. */
  kids: string[];
  /** False when AWSCURRENT's version was unchanged and the cached set was kept. */
  changed: boolean;
}

/** What {@link SecretsManagerKeyProviderOptions.onError} receives: never key bytes. */
export interface SecretsManagerErrorInfo {
  /** The `secretId` option. */
  secretId: string;
  /** `startup`: `ready()` failed, no key set is in force. `refresh`: the last good set is kept. */
  phase: 'startup' | 'refresh';
  /** The version stage being read or parsed. */
  stage: VersionStage;
  /** VersionId of the offending version when it was read (bad content). */
  versionId?: string;
  /** Failed attempts in a row (an unusable AWSPREVIOUS alone does not count). */
  consecutiveFailures: number;
  /** Time of the last successful refresh (ms since the epoch), if any. */
  lastSuccessAt?: number;
  /** Primary kid of the key set still in force, if any. */
  servingPrimaryKid?: string;
  /** Ms until `current()` starts throwing; ≤ 0 when it already does; absent before the first load. */
  usableForMs?: number;
}

/** A snapshot of the provider's health, for health checks and metrics. */
export interface SecretsManagerProviderStatus {
  /** A key set has been loaded. */
  loaded: boolean;
  /** `current()` would return a key set now (false: not loaded, stale or closed). */
  usable: boolean;
  /** `close()` was called. */
  closed: boolean;
  /** VersionId of the AWSCURRENT version in force. */
  versionId: string | undefined;
  /** VersionId of the AWSPREVIOUS version whose keys are in force as decrypt-only. */
  previousVersionId: string | undefined;
  /** The primary (sealing) key's id. */
  primaryKid: string | undefined;
  /** Time of the last successful refresh, ms since the epoch. */
  lastSuccessAt: number | undefined;
  /** Failed refreshes since the last success. */
  consecutiveFailures: number;
  /** The last refresh failure since the last success, if any. */
  lastError: WiresealError | undefined;
}

/** The provider: a {@link KeyProvider} with `refresh()` and `status()`. */
export interface SecretsManagerKeyProvider extends KeyProvider {
  /**
   * Loads the key set (once; later calls return the same promise). Rejects
   * with `ERR_KEY_SOURCE` and the reason if no good key set can be had; a
   * later call tries again. Starts the background refresh on success.
   */
  ready(): Promise<void>;
  /**
   * The key set in force: AWSCURRENT plus AWSPREVIOUS keys as decrypt-only.
   * Synchronous, no I/O.
   * @throws KeySourceError before `ready()` resolved, after `close()`, and
   *   when the last successful refresh is older than `maxStaleMs`
   */
  current(): KeySet;
  /**
   * Refreshes now (joining a refresh already in flight). Rejects with the
   * `KeySourceError` that `onError` also receives; the last good set stays.
   */
  refresh(): Promise<void>;
  /** Health snapshot; no I/O. */
  status(): SecretsManagerProviderStatus;
  /** Stops the refresh timer, aborts a request in flight, destroys a client the provider created. */
  close(): Promise<void>;
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new KeySourceError(`secretsManagerKeyProvider: ${name} must be a positive number of ms`);
  return value;
}

/** Calls a user hook; a throwing hook must not break refreshes (and a library cannot log). */
function safeCall<A extends unknown[]>(hook: ((...args: A) => void) | undefined, ...args: A): void {
  if (!hook) return;
  try {
    hook(...args);
  } catch {
    /* the hook's failure is the hook's business */
  }
}

/** A failure with the stage and version it happened at. */
class StageFailure {
  readonly error: KeySourceError;
  readonly stage: VersionStage;
  readonly versionId: string | undefined;
  constructor(error: KeySourceError, stage: VersionStage, versionId: string | undefined) {
    this.error = error;
    this.stage = stage;
    this.versionId = versionId;
  }
}

/**
 * Creates a key provider over a JWK Set stored in AWS Secrets Manager.
 *
 * - `ready()` reads AWSCURRENT (and AWSPREVIOUS) and fails fast with
 *   `ERR_KEY_SOURCE` when no valid key set can be had.
 * - A background timer (jittered, `unref()`'d) refreshes every
 *   `refreshIntervalMs`; one `GetSecretValue` per refresh while the version
 *   is unchanged, two when AWSCURRENT moved (AWSPREVIOUS is re-read). One
 *   refresh is in flight at a time however many callers.
 * - When Secrets Manager is unreachable or returns an invalid key set, the
 *   last good set stays in force (reported through `onError`) until
 *   `maxStaleMs` after the last successful refresh; then `current()` throws
 *   `ERR_KEY_SOURCE` until a refresh succeeds again (retried with backoff).
 *
 * @example
 * ```ts
 * const provider = secretsManagerKeyProvider({ secretId: 'prod/payments/wireseal' });
 * await provider.ready();
 * const token = seal(provider.current(), 'hello');
 * ```
 */
export function secretsManagerKeyProvider(options: SecretsManagerKeyProviderOptions): SecretsManagerKeyProvider {
  const secretId = options.secretId;
  if (typeof secretId !== 'string' || secretId === '') throw new KeySourceError('secretsManagerKeyProvider: secretId is required');
  const refreshIntervalMs = positive('refreshIntervalMs', options.refreshIntervalMs ?? 300_000);
  const maxStaleMs = positive('maxStaleMs', options.maxStaleMs ?? 3_600_000);
  const requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs ?? 10_000);
  const jitter = options.jitter ?? 0.1;
  if (!(jitter >= 0 && jitter < 1)) throw new KeySourceError('secretsManagerKeyProvider: jitter must be in [0, 1)');
  if (maxStaleMs <= refreshIntervalMs * (1 + jitter)) {
    throw new KeySourceError('secretsManagerKeyProvider: maxStaleMs must exceed refreshIntervalMs · (1 + jitter), or the key set would go stale between refreshes');
  }
  const includePrevious = options.includePrevious ?? true;
  const now = options.now ?? Date.now;
  const ownClient = options.client === undefined;
  const client: SecretsManagerClientLike = options.client ?? new SecretsManagerClient(options.clientConfig ?? {});

  let keys: KeySet | undefined;
  let current: LoadedVersion | undefined;
  let previousVersionId: string | undefined;
  let lastSuccessAt: number | undefined;
  let lastError: KeySourceError | undefined;
  let consecutiveFailures = 0;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let readyPromise: Promise<void> | undefined;
  let inFlight: Promise<void> | undefined;
  let inFlightAbort: AbortController | undefined;

  function usableForMs(): number | undefined {
    return lastSuccessAt === undefined ? undefined : lastSuccessAt + maxStaleMs - now();
  }

  function reportFailure(f: StageFailure): void {
    const remaining = usableForMs();
    safeCall(options.onError, f.error, {
      secretId,
      phase: keys ? 'refresh' : 'startup',
      stage: f.stage,
      ...(f.versionId !== undefined ? { versionId: f.versionId } : {}),
      consecutiveFailures,
      ...(lastSuccessAt !== undefined ? { lastSuccessAt } : {}),
      ...(keys ? { servingPrimaryKid: keys.primaryKid } : {}),
      ...(remaining !== undefined ? { usableForMs: remaining } : {}),
    });
  }

  /**
   * Reads one stage; maps SDK failures to a StageFailure. A missing
   * AWSPREVIOUS (first version of a secret) is `undefined`, not a failure.
   */
  async function read(stage: 'AWSCURRENT', signal: AbortSignal): Promise<LoadedVersion | StageFailure>;
  async function read(stage: 'AWSPREVIOUS', signal: AbortSignal): Promise<LoadedVersion | StageFailure | undefined>;
  async function read(stage: VersionStage, signal: AbortSignal): Promise<LoadedVersion | StageFailure | undefined> {
    let out;
    try {
      out = await fetchVersion(client, secretId, stage, signal);
    } catch (err) {
      if (stage === 'AWSPREVIOUS' && isNotFound(err)) return undefined;
      const reason = closed ? 'provider closed' : signal.aborted ? `no answer within ${requestTimeoutMs} ms` : describeAwsError(err);
      return new StageFailure(new KeySourceError(`cannot read secret ${secretId} (${stage}): ${reason}`), stage, undefined);
    }
    try {
      return parseVersion(out, secretId, stage);
    } catch (err) {
      return new StageFailure(err as KeySourceError, stage, out.VersionId);
    }
  }

  /** One refresh under a deadline; throws the KeySourceError after reporting it. */
  async function refreshOnce(): Promise<void> {
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), requestTimeoutMs);
    deadline.unref?.();
    inFlightAbort = abort;
    try {
      await refreshWith(abort.signal);
    } finally {
      clearTimeout(deadline);
      inFlightAbort = undefined;
    }
  }

  async function refreshWith(signal: AbortSignal): Promise<void> {
    const cur = await read('AWSCURRENT', signal);
    if (cur instanceof StageFailure) return fail(cur);
    let next = cur.keys;
    let prevId: string | undefined;
    let changed = true;
    if (current && keys && cur.versionId !== undefined && cur.versionId === current.versionId) {
      // AWSCURRENT unchanged: keep the set in force (AWSPREVIOUS moves only with it).
      next = keys;
      prevId = previousVersionId;
      changed = false;
    } else if (includePrevious) {
      const prev = await read('AWSPREVIOUS', signal);
      if (prev instanceof StageFailure) {
        if (prev.versionId === undefined) return fail(prev); // could not read it: try again later
        // Readable but unusable (e.g. the bad version a fix replaced): serve AWSCURRENT alone.
        safeCall(options.onError, prev.error, {
          secretId, phase: keys ? 'refresh' : 'startup', stage: 'AWSPREVIOUS', versionId: prev.versionId, consecutiveFailures,
          ...(lastSuccessAt !== undefined ? { lastSuccessAt } : {}),
          ...(keys ? { servingPrimaryKid: keys.primaryKid } : {}),
        });
      } else if (prev !== undefined) {
        next = cur.keys.withDecryptOnly(prev.keys);
        prevId = prev.versionId;
      }
    }
    if (closed) throw new KeySourceError(`key provider for secret ${secretId} is closed`);
    keys = next;
    current = cur;
    previousVersionId = prevId;
    lastSuccessAt = now();
    lastError = undefined;
    consecutiveFailures = 0;
    safeCall(options.onRefresh, {
      secretId,
      versionId: cur.versionId,
      previousVersionId: prevId,
      primaryKid: next.primaryKid,
      kids: next.list().map((k) => k.kid),
      changed,
    });
  }

  function fail(f: StageFailure): never {
    consecutiveFailures++;
    lastError = f.error;
    if (!closed) reportFailure(f);
    throw f.error;
  }

  /** The shared refresh: one in flight however many callers. */
  function refreshShared(): Promise<void> {
    inFlight ??= refreshOnce().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function schedule(): void {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      refreshShared().then(schedule, schedule);
    }, nextRefreshDelay(refreshIntervalMs, jitter, consecutiveFailures));
    timer.unref?.();
  }

  function closedError(): KeySourceError {
    return new KeySourceError(`key provider for secret ${secretId} is closed`);
  }

  return {
    ready(): Promise<void> {
      if (closed) return Promise.reject(closedError());
      readyPromise ??= refreshShared().then(
        () => {
          if (closed) throw closedError();
          schedule();
        },
        (err: unknown) => {
          readyPromise = undefined; // a later ready() tries again
          throw err;
        },
      );
      return readyPromise;
    },

    current(): KeySet {
      if (closed) throw closedError();
      if (!keys || lastSuccessAt === undefined) {
        throw new KeySourceError(`key provider for secret ${secretId} is not ready: await provider.ready() first`);
      }
      const age = now() - lastSuccessAt;
      if (age > maxStaleMs) {
        throw new KeySourceError(
          `key set from secret ${secretId} is stale: last successful refresh ${age} ms ago, maxStaleMs is ${maxStaleMs}` +
            (lastError ? `; last error: ${lastError.message}` : ''),
          lastError ? { cause: lastError } : undefined,
        );
      }
      return keys;
    },

    refresh(): Promise<void> {
      if (closed) return Promise.reject(closedError());
      return refreshShared();
    },

    status(): SecretsManagerProviderStatus {
      const remaining = usableForMs();
      return {
        loaded: keys !== undefined,
        usable: !closed && keys !== undefined && remaining !== undefined && remaining >= 0,
        closed,
        versionId: current?.versionId,
        previousVersionId,
        primaryKid: keys?.primaryKid,
        lastSuccessAt,
        consecutiveFailures,
        lastError,
      };
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      inFlightAbort?.abort();
      await inFlight?.catch(() => undefined);
      keys = undefined;
      if (ownClient) client.destroy?.();
    },
  };
}
