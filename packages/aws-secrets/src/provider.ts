/**
 * secretsManagerKeyProvider: a KeyProvider over a JWK Set kept in AWS Secrets
 * Manager. Loads once in `ready()`, refreshes in the background (one request
 * in flight, never on the seal/open path), serves the last good set through
 * outages up to `maxStaleMs`, and adds AWSPREVIOUS keys as decrypt-only.
 * A load function over core's `refreshingProvider`.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { MeterProvider } from '@opentelemetry/api';
import { KeySet, refreshingProvider } from '@wireseal/core';
import type { AudienceKeySet, KeyProvider, KeySourceHealth, RefreshingLoadContext, RefreshingStatus } from '@wireseal/core';
import { KeySourceError } from '@wireseal/core/errors';
import type { WiresealError } from '@wireseal/core/errors';
import { safeCall } from '@wireseal/core/internal';
import type { GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { KeySourceFailure, failureReasonOf } from './errors.ts';
import type { KeySourceFailureReason } from './errors.ts';
import { PROTECTED_FORMAT, decryptKey, formatMemberOf, parseProtectedKeySet, unprotectKeySet } from './kms.ts';
import type { KmsClientLike } from './kms.ts';
import { observeKeySource } from './metrics.ts';
import type { KeySourceObservation } from './metrics.ts';
import { RETRY_BASE_MS } from './schedule.ts';
import type { LoadedVersion, SecretFormat, SecretsManagerClientLike, VersionStage } from './secret.ts';
import { SECRET_FORMATS, describeAwsError, describeSet, fetchVersion, isNotFound, parseVersion, secretContent, whereOf } from './secret.ts';

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
  /**
   * An AWS SDK v3 `KMSClient`, needed when the secret holds a KMS-protected
   * key set (docs/format.md §2.1): one `Decrypt` per key when AWSCURRENT's
   * version changes, one `Decrypt` of one key (in turn) per refresh while it
   * is unchanged, none per message. Plain key sets never use it. Not
   * destroyed by `close()`.
   */
  kmsClient?: KmsClientLike;
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
  /**
   * Where the key-source gauges go (`wireseal.keys.refresh_age`,
   * `wireseal.keys.usable`, `wireseal.keys.loaded`; registered at the first
   * `ready()`, removed by `close()`). Default: the global OpenTelemetry meter
   * provider at that time, a no-op unless the application installs an SDK.
   */
  meterProvider?: MeterProvider;
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
  /** Which service failed: `secrets-manager` (reading the secret), `kms` (decrypting a protected set's keys) or `content` (not a valid key set). */
  reason?: KeySourceFailureReason;
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
  /** Which service the last failure came from (`secrets-manager`, `kms`, `content`), if any. */
  lastErrorReason: KeySourceFailureReason | undefined;
  /** The KMS key of the protected set in force (docs/format.md §2.1); `undefined` for a plain set. */
  kmsKeyId: string | undefined;
}

/** Core's health, plus which service the last failure came from. */
export interface SecretsManagerHealth extends KeySourceHealth {
  /** `secrets-manager`, `kms` or `content`: set while `lastErrorCode` is. */
  lastErrorReason?: KeySourceFailureReason;
}

/**
 * A provider of one secret's key set `K`: a shared `KeySet` (then it is a
 * core `KeyProvider`), or a `PublicKeySet` / `PrivateKeySet` (then it is a core
 * `AudienceKeyProvider`). Either goes straight into a keyring.
 */
export interface SecretsManagerProvider<K extends AudienceKeySet = KeySet> {
  /**
   * Loads the key set (once; later calls return the same promise). Rejects
   * with `ERR_KEY_SOURCE` and the reason if no good key set can be had; a
   * later call tries again. Starts the background refresh on success.
   */
  ready(): Promise<void>;
  /**
   * The key set in force: AWSCURRENT, plus AWSPREVIOUS keys (shared sets: as
   * decrypt-only; private sets: as further key pairs). Synchronous, no I/O.
   * @throws KeySourceError before `ready()` resolved, after `close()`, and
   *   when the last successful refresh is older than `maxStaleMs`
   */
  current(): K;
  /**
   * Refreshes now (joining a refresh already in flight). Rejects with the
   * `KeySourceError` that `onError` also receives; the last good set stays.
   */
  refresh(): Promise<void>;
  /** Health snapshot; no I/O. */
  status(): SecretsManagerProviderStatus;
  /**
   * The same as core's {@link KeySourceHealth}, as every wireseal provider
   * reports it (`state`: `starting`, `ready`, `failing`, `stale`, `closed`;
   * `ready`: `current()` answers now; the last success and failure); `source`
   * names the secret. For `/readyz` endpoints; no I/O, never key bytes.
   */
  health(): SecretsManagerHealth;
  /** Stops the refresh timer, aborts a request in flight, destroys a client the provider created. */
  close(): Promise<void>;
}

/** The provider: a {@link KeyProvider} with `refresh()` and `status()`. */
export interface SecretsManagerKeyProvider extends KeyProvider, SecretsManagerProvider<KeySet> {
  ready(): Promise<void>;
  current(): KeySet;
  health(): SecretsManagerHealth;
  close(): Promise<void>;
}

/** What the generic provider's `onRefresh` receives: a public or private set has no primary. */
export type SecretRefreshInfo = Omit<SecretsManagerRefreshInfo, 'primaryKid'> & { primaryKid: string | undefined };

/** @internal Options of {@link createSecretProvider}: the provider's options with a looser `onRefresh`. */
export type SecretProviderOptions = Omit<SecretsManagerKeyProviderOptions, 'onRefresh'> & { onRefresh?: (info: SecretRefreshInfo) => void };

/** @internal What varies between the single provider and a keyring's audiences. */
export interface SecretProviderSpec<K extends AudienceKeySet> {
  /** Prefixes option errors: `secretsManagerKeyProvider`, `secretsManagerKeyring: audience "pci"`. */
  who: string;
  /** Names the secret in messages: `secret prod/pci`, `secret prod/pci for audience "pci"`. */
  label: string;
  /** What the secret holds. */
  format: SecretFormat<K>;
  /** The keyring audience the secret serves, for the gauges' `audience` attribute. */
  audience?: string;
}

function positive(who: string, name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new KeySourceError(`${who}: ${name} must be a positive number of ms`);
  return value;
}

/** The set in force and the versions it was built from. */
interface Loaded<K extends AudienceKeySet> {
  keys: K;
  versionId: string | undefined;
  previousVersionId: string | undefined;
  /** AWSCURRENT's protected keys (kids and blobs, never bytes), for the per-refresh KMS re-check. */
  kms?: ProtectedInfo | undefined;
}

/** What the KMS re-check needs of a protected AWSCURRENT: no key bytes. */
interface ProtectedInfo {
  kmsKeyId: string;
  secretName: string;
  keys: Array<{ kid: string; k_kms: string }>;
}

/** Where a failure happened: the stage, and the version when it was read (bad content). */
interface StageInfo {
  stage: VersionStage;
  versionId: string | undefined;
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
 * The scheduling, single flight, staleness and `close()` are core's
 * `refreshingProvider`; this module is the load (the two stages) and the hooks.
 *
 * @example
 * ```ts
 * const provider = secretsManagerKeyProvider({ secretId: 'prod/payments/wireseal' });
 * await provider.ready();
 * const token = seal(provider.current(), 'hello');
 * ```
 */
export function secretsManagerKeyProvider(options: SecretsManagerKeyProviderOptions): SecretsManagerKeyProvider {
  const spec = { who: 'secretsManagerKeyProvider', label: `secret ${options.secretId}`, format: SECRET_FORMATS.shared };
  // A shared set always has a primary: the looser refresh info narrows back.
  return createSecretProvider(options as SecretProviderOptions, spec) as SecretsManagerKeyProvider;
}

/**
 * @internal The provider over any kind of key set: {@link secretsManagerKeyProvider}
 * (shared sets) and each audience of `secretsManagerKeyring`.
 */
export function createSecretProvider<K extends AudienceKeySet>(options: SecretProviderOptions, spec: SecretProviderSpec<K>): SecretsManagerProvider<K> {
  const { who, label, format } = spec;
  const secretId = options.secretId;
  if (typeof secretId !== 'string' || secretId === '') throw new KeySourceError(`${who}: secretId is required`);
  const refreshIntervalMs = positive(who, 'refreshIntervalMs', options.refreshIntervalMs ?? 300_000);
  const maxStaleMs = positive(who, 'maxStaleMs', options.maxStaleMs ?? 3_600_000);
  const requestTimeoutMs = positive(who, 'requestTimeoutMs', options.requestTimeoutMs ?? 10_000);
  const jitter = options.jitter ?? 0.1;
  if (!(jitter >= 0 && jitter < 1)) throw new KeySourceError(`${who}: jitter must be in [0, 1)`);
  if (maxStaleMs <= refreshIntervalMs * (1 + jitter)) {
    throw new KeySourceError(`${who}: maxStaleMs must exceed refreshIntervalMs · (1 + jitter), or the key set would go stale between refreshes`);
  }
  const includePrevious = (options.includePrevious ?? true) && format.withPrevious !== undefined;
  const ownClient = options.client === undefined;
  const client: SecretsManagerClientLike = options.client ?? new SecretsManagerClient(options.clientConfig ?? {});
  const kmsClient = options.kmsClient;
  /** Which protected key the next unchanged-version refresh re-decrypts (round robin). */
  let recheckAt = 0;
  /** The stage (and version) of each failure, for onError. */
  const failedAt = new WeakMap<KeySourceError, StageInfo>();

  function stageError(error: KeySourceError, stage: VersionStage, versionId?: string): KeySourceError {
    failedAt.set(error, { stage, versionId });
    return error;
  }

  /** The hook's view of the provider's state: the set in force, failures, time left. */
  function errorInfo(err: KeySourceError, status: RefreshingStatus<Loaded<K>>, at: StageInfo, withUsableFor: boolean): SecretsManagerErrorInfo {
    const { value, lastSuccessAt, usableForMs } = status;
    const reason = failureReasonOf(err);
    return {
      ...(reason !== undefined ? { reason } : {}),
      secretId,
      phase: value ? 'refresh' : 'startup',
      stage: at.stage,
      ...(at.versionId !== undefined ? { versionId: at.versionId } : {}),
      consecutiveFailures: status.consecutiveFailures,
      ...(lastSuccessAt !== undefined ? { lastSuccessAt } : {}),
      ...(value?.keys instanceof KeySet ? { servingPrimaryKid: value.keys.primaryKid } : {}),
      ...(withUsableFor && usableForMs !== undefined ? { usableForMs } : {}),
    };
  }

  /**
   * Reads one stage. A missing AWSPREVIOUS (first version of a secret) is
   * `undefined`, not a failure. `closing` is aborted by close(), `signal` also by the deadline.
   */
  async function fetchStage(stage: VersionStage, signal: AbortSignal, closing: AbortSignal): Promise<GetSecretValueCommandOutput | undefined> {
    try {
      return await fetchVersion(client, secretId, stage, signal);
    } catch (err) {
      if (stage === 'AWSPREVIOUS' && isNotFound(err)) return undefined;
      const reason = closing.aborted ? 'provider closed' : signal.aborted ? `no answer within ${requestTimeoutMs} ms` : describeAwsError(err);
      throw stageError(new KeySourceFailure('secrets-manager', `cannot read ${label} (${stage}): ${reason}`), stage);
    }
  }

  /**
   * Turns one version into a key set: a plain JWK Set as is; a protected one
   * (docs/format.md §2.1) through one KMS Decrypt per key not in `memo`. A KMS
   * failure carries no version id, so a failed AWSPREVIOUS is retried, not skipped.
   */
  async function decode(out: GetSecretValueCommandOutput, stage: VersionStage, signal: AbortSignal, closing: AbortSignal, memo: Map<string, Promise<string>>): Promise<LoadedVersion<K> & { kms?: ProtectedInfo }> {
    const content = secretContent(out);
    try {
      if (content === undefined || formatMemberOf(content) === undefined) return parseVersion(out, label, stage, format); // a plain JWK Set (§2)
    } catch (err) {
      throw stageError(err as KeySourceError, stage, out.VersionId);
    }
    const where = whereOf(out, label, stage);
    let info: ProtectedInfo;
    try {
      const set = parseProtectedKeySet(content);
      info = { kmsKeyId: set.kmsKeyId, secretName: out.Name ?? secretId, keys: set.keys.map(({ kid, k_kms }) => ({ kid, k_kms })) };
    } catch (err) {
      throw stageError(new KeySourceFailure('content', `${where} does not hold a valid key set: ${(err as Error).message}`, { cause: err }), stage, out.VersionId);
    }
    if (kmsClient === undefined) {
      throw stageError(
        new KeySourceFailure('kms', `${where} holds a KMS-protected key set (${PROTECTED_FORMAT}), and a KMS client is needed to decrypt it: pass kmsClient (a KMSClient allowed kms:Decrypt on its key)`),
        stage,
        out.VersionId,
      );
    }
    let jwks;
    try {
      jwks = await unprotectKeySet(content, { kmsClient, secretId: info.secretName, signal, memo });
    } catch (err) {
      const why = closing.aborted ? 'provider closed' : signal.aborted ? `no answer within ${requestTimeoutMs} ms` : (err as Error).message;
      throw stageError(new KeySourceFailure('kms', `cannot decrypt the keys of ${where}: ${why}`), stage);
    }
    try {
      return { ...parseVersion(out, label, stage, format, jwks), kms: info };
    } catch (err) {
      throw stageError(err as KeySourceError, stage, out.VersionId);
    }
  }

  /**
   * AWSCURRENT unchanged: one Decrypt of one protected key (each in turn), so a
   * revoked grant, a denied kms:Decrypt or a disabled key shows within one refresh.
   */
  async function recheck(loaded: Loaded<K>, signal: AbortSignal, closing: AbortSignal): Promise<void> {
    const info = loaded.kms;
    if (info === undefined || kmsClient === undefined) return;
    const key = info.keys[recheckAt++ % info.keys.length]!;
    try {
      await decryptKey(kmsClient, info.kmsKeyId, info.secretName, key, signal);
    } catch (err) {
      const why = closing.aborted ? 'provider closed' : signal.aborted ? `no answer within ${requestTimeoutMs} ms` : (err as Error).message;
      const where = `${label} (AWSCURRENT${loaded.versionId ? `, version ${loaded.versionId}` : ''})`;
      throw stageError(new KeySourceFailure('kms', `cannot decrypt the keys of ${where}: ${why}`), 'AWSCURRENT');
    }
  }

  /** One refresh under a deadline: AWSCURRENT, and AWSPREVIOUS when AWSCURRENT moved. */
  async function load({ previous, signal: closing }: RefreshingLoadContext<Loaded<K>>): Promise<Loaded<K>> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), requestTimeoutMs);
    timer.unref?.();
    const signal = AbortSignal.any([closing, deadline.signal]);
    try {
      const curOut = (await fetchStage('AWSCURRENT', signal, closing))!;
      // AWSCURRENT unchanged: keep the set in force (AWSPREVIOUS moves only with it).
      if (previous && curOut.VersionId !== undefined && curOut.VersionId === previous.versionId) {
        await recheck(previous, signal, closing);
        return previous;
      }
      const memo = new Map<string, Promise<string>>(); // a key in both stages is decrypted once
      const cur = await decode(curOut, 'AWSCURRENT', signal, closing, memo);
      const next: Loaded<K> = { keys: cur.keys, versionId: cur.versionId, previousVersionId: undefined, kms: cur.kms };
      if (!includePrevious) return next;
      let prev: LoadedVersion<K> | undefined;
      try {
        const prevOut = await fetchStage('AWSPREVIOUS', signal, closing);
        prev = prevOut && (await decode(prevOut, 'AWSPREVIOUS', signal, closing, memo));
      } catch (err) {
        const at = failedAt.get(err as KeySourceError);
        if (at?.versionId === undefined) throw err; // could not read or decrypt it: try again later
        // Readable but unusable (e.g. the bad version a fix replaced): serve AWSCURRENT alone.
        safeCall(options.onError, err as KeySourceError, errorInfo(err as KeySourceError, provider.status(), at, false));
      }
      if (prev) {
        next.keys = format.withPrevious!(cur.keys, prev.keys);
        next.previousVersionId = prev.versionId;
      }
      return next;
    } finally {
      clearTimeout(timer);
    }
  }

  const provider = refreshingProvider<Loaded<K>>({
    source: label,
    load,
    intervalMs: refreshIntervalMs,
    jitter,
    retryBaseMs: RETRY_BASE_MS,
    maxStaleMs,
    now: options.now,
    onLoad: (next, previous) =>
      options.onRefresh?.({
        secretId,
        versionId: next.versionId,
        previousVersionId: next.previousVersionId,
        ...describeSet(next.keys),
        changed: next !== previous,
      }),
    onError: (err, status) => options.onError?.(err, errorInfo(err, status, failedAt.get(err) ?? { stage: 'AWSCURRENT', versionId: undefined }, true)),
  });

  let observation: KeySourceObservation | undefined;
  const self: SecretsManagerProvider<K> = {
    ready(): Promise<void> {
      if (observation === undefined && !provider.status().closed) {
        observation = observeKeySource(self, {
          source: secretId,
          ...(spec.audience !== undefined ? { audience: spec.audience } : {}),
          ...(options.meterProvider !== undefined ? { meterProvider: options.meterProvider } : {}),
          ...(options.now !== undefined ? { now: options.now } : {}),
        });
      }
      return provider.ready();
    },
    current: () => provider.current().keys,
    refresh: provider.refresh,
    status(): SecretsManagerProviderStatus {
      const { value, usable, closed, lastSuccessAt, consecutiveFailures, lastError } = provider.status();
      return {
        loaded: value !== undefined,
        usable,
        closed,
        versionId: value?.versionId,
        previousVersionId: value?.previousVersionId,
        primaryKid: value ? describeSet(value.keys).primaryKid : undefined,
        lastSuccessAt,
        consecutiveFailures,
        lastError,
        lastErrorReason: failureReasonOf(lastError),
        kmsKeyId: value?.kms?.kmsKeyId,
      };
    },
    health(): SecretsManagerHealth {
      const health: SecretsManagerHealth = provider.health();
      const reason = failureReasonOf(provider.status().lastError);
      return reason !== undefined && health.lastErrorCode !== undefined ? { ...health, lastErrorReason: reason } : health;
    },
    async close(): Promise<void> {
      if (provider.status().closed) return;
      observation?.close();
      await provider.close();
      if (ownClient) client.destroy?.();
    },
  };
  return self;
}
