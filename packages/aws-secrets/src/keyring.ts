/**
 * secretsManagerKeyring: one secret per audience, one provider per secret,
 * handed to `encryptFields` / `decryptFields` (and the codecs) as a keyring
 * `{ pci: provider, pii: provider }`. Each audience is loaded, cached,
 * refreshed and goes stale on its own, so one audience's outage fails only
 * the documents that hold its fields; the keyring adds start-up over all of
 * them, a health snapshot, one shared SDK client and one `close()`.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { combineHealth } from '@wireseal/core';
import type { CombinedKeySourceHealth } from '@wireseal/core';
import { KeySourceError, WiresealError } from '@wireseal/core/errors';
import type { SecretsManagerErrorInfo, SecretsManagerRefreshInfo, SecretsManagerKeyProviderOptions, SecretsManagerProvider, SecretsManagerProviderStatus } from './provider.ts';
import { createSecretProvider } from './provider.ts';
import { SECRET_FORMATS } from './secret.ts';
import type { SecretKind, SecretKindSets, SecretsManagerClientLike } from './secret.ts';

/** The same audience names as a field policy's (docs/design.md, "Audiences and record binding"). */
const AUDIENCE_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Options an audience may set for itself, overriding the keyring's. */
export type SecretsManagerSharedOptions = Pick<
  SecretsManagerKeyProviderOptions,
  'client' | 'clientConfig' | 'kmsClient' | 'refreshIntervalMs' | 'jitter' | 'maxStaleMs' | 'includePrevious' | 'requestTimeoutMs' | 'meterProvider'
>;

/** One audience of a {@link secretsManagerKeyring}: its secret, what the secret holds, and overrides. */
export interface SecretsManagerAudienceOptions extends SecretsManagerSharedOptions {
  /** The secret's name or ARN. */
  secretId: string;
  /**
   * What the secret holds (a JWK Set either way). Default `shared`.
   * - `shared`: AES keys, a `KeySet` (seals and opens).
   * - `public`: public keys, a `PublicKeySet`: a writer of a public-key audience (seals, never opens).
   *   `AWSPREVIOUS` is not read: a writer seals with its first usable key.
   * - `private`: key pairs, a `PrivateKeySet`: the audience's reader. `AWSPREVIOUS`'s key
   *   pairs are added after the current ones (kids the current version lacks).
   */
  kind?: SecretKind;
}

/** The set kind an audience's options select: `shared` unless `kind` says otherwise. */
export type AudienceKindOf<O> = O extends { kind?: infer S }
  ? [S] extends [undefined]
    ? 'shared'
    : undefined extends S
      ? Exclude<S, undefined> | 'shared'
      : S
  : 'shared';

/** The key set type an audience's provider hands out: `KeySet`, `PublicKeySet` or `PrivateKeySet`. */
export type AudienceSetOf<O> = SecretKindSets[AudienceKindOf<O> & SecretKind];

/** The audience options a keyring takes, by audience name. */
export type SecretsManagerAudiences = Readonly<Record<string, SecretsManagerAudienceOptions>>;

/** What the keyring's `onError` receives: the provider's info plus the audience. Never key bytes. */
export interface SecretsManagerAudienceErrorInfo extends SecretsManagerErrorInfo {
  /** The audience whose secret failed. */
  audience: string;
  /** What the secret holds. */
  kind: SecretKind;
}

/** What the keyring's `onRefresh` receives: ids, never key bytes. */
export type SecretsManagerAudienceRefreshInfo = Omit<SecretsManagerRefreshInfo, 'primaryKid'> & {
  /** The primary (sealing) key's id: shared sets only (a public or private set has no primary). */
  primaryKid: string | undefined;
  /** The audience whose secret was loaded. */
  audience: string;
  /** What the secret holds. */
  kind: SecretKind;
};

/** Options for {@link secretsManagerKeyring}. */
export interface SecretsManagerKeyringOptions<A extends SecretsManagerAudiences = SecretsManagerAudiences> extends SecretsManagerSharedOptions {
  /**
   * Audience name (1–64 of `A-Z a-z 0-9 . _ -`, as in the field policy) → its
   * secret. Each audience's own options override the keyring's. An audience
   * without `client` or `clientConfig` uses the keyring's client (one client
   * for all of them).
   */
  audiences: A;
  /** Every failed load or refresh of any audience (see `secretsManagerKeyProvider`'s `onError`), with `audience`. */
  onError?: (err: WiresealError, info: SecretsManagerAudienceErrorInfo) => void;
  /** Every successful load or refresh of any audience, with `audience`. */
  onRefresh?: (info: SecretsManagerAudienceRefreshInfo) => void;
  /** Clock in ms since the epoch, for staleness. Default `Date.now`. */
  now?: () => number;
}

/** The keyring proper: audience name → its provider. Pass it where core takes `FieldKeys`. */
export type SecretsManagerKeyringProviders<A extends SecretsManagerAudiences = SecretsManagerAudiences> = {
  readonly [N in keyof A]: SecretsManagerProvider<AudienceSetOf<A[N]>>;
};

/** One audience's health: its provider's status, its secret and kind. */
export interface SecretsManagerAudienceStatus extends SecretsManagerProviderStatus {
  /** The audience's `secretId`. */
  secretId: string;
  /** What the secret holds. */
  kind: SecretKind;
}

/** The keyring's health, for health checks and metrics; no I/O. */
export interface SecretsManagerKeyringStatus<N extends string = string> {
  /** Every audience has loaded a key set (a later staleness does not unset it). */
  loaded: boolean;
  /** Every audience's key set is usable now (loaded, not stale, not closed). */
  usable: boolean;
  /** `close()` was called. */
  closed: boolean;
  /** The audiences whose `current()` throws now, in the order the options list them. */
  unusable: N[];
  /** Each audience's status. */
  audiences: { [A in N]: SecretsManagerAudienceStatus };
}

/** What {@link secretsManagerKeyring} returns. */
export interface SecretsManagerKeyring<A extends SecretsManagerAudiences = SecretsManagerAudiences> {
  /**
   * The keyring: `{ audience: provider }`, to pass to `encryptFields`,
   * `decryptFields` and the codecs. Each provider is asked for its keys only
   * when a call meets its audience: an audience whose `current()` throws
   * (`ERR_KEY_SOURCE`: stale past `maxStaleMs`, not loaded, closed) fails the
   * calls that seal or open its fields, and no other.
   */
  readonly keyring: SecretsManagerKeyringProviders<A>;
  /**
   * Loads every audience (each once; a later call retries only those that
   * failed) and starts their background refresh. Resolves when all are
   * loaded; rejects with `ERR_KEY_SOURCE` naming each audience that could
   * not be (`cause`: the first one's error). The audiences that did load are
   * ready and refreshing either way.
   */
  ready(): Promise<void>;
  /** Refreshes every audience now; rejects with `ERR_KEY_SOURCE` naming each that failed (their last good sets stay). */
  refresh(): Promise<void>;
  /**
   * The keyring restricted to the audiences usable now. For a reader that
   * would rather leave an unavailable audience's tokens sealed (reported in
   * `result.sealed`) than fail the whole document. A writer should keep
   * `keyring`: sealing without an audience it has values for fails anyway
   * (`ERR_AUDIENCE_MISSING` instead of `ERR_KEY_SOURCE`).
   */
  usableKeyring(): Partial<SecretsManagerKeyringProviders<A>>;
  /** Health snapshot of every audience; no I/O. */
  status(): SecretsManagerKeyringStatus<keyof A & string>;
  /**
   * Core's health of every audience, combined: `ready` when every audience's
   * `current()` answers, `stale` when one is past `maxStaleMs`, `state` the
   * worst audience's; `sources` holds each audience's health (by audience
   * name) and `unready` names those that are not ready. For `/readyz`
   * endpoints; no I/O, never key bytes.
   */
  health(): CombinedKeySourceHealth;
  /** Closes every audience's provider and destroys the client the keyring created, if any. */
  close(): Promise<void>;
}

/** A failure's message, safe to repeat (provider errors are KeySourceErrors already). */
function messageOf(err: unknown): string {
  return err instanceof WiresealError ? err.message : 'unexpected failure';
}

/**
 * Creates a keyring over one Secrets Manager secret per audience. Each
 * audience gets its own provider (as `secretsManagerKeyProvider`: cached,
 * refreshed in the background with jitter, the last good set through
 * failures until `maxStaleMs`), so an outage or a deleted secret fails only
 * that audience's operations, with `ERR_KEY_SOURCE`.
 *
 * @throws KeySourceError (`ERR_KEY_SOURCE`) for invalid options, naming the audience
 * @example
 * ```ts
 * const ring = secretsManagerKeyring({
 *   audiences: { pci: { secretId: 'prod/pci' }, pii: { secretId: 'prod/pii', includePrevious: false } },
 *   refreshIntervalMs: 60_000,
 * });
 * await ring.ready(); // ERR_KEY_SOURCE naming each audience that cannot be loaded
 * const sealed = encryptFields(ring.keyring, doc, FieldPolicy.parse({ audiences: { pci: ['card.number'], pii: ['customer.ssn'] } }));
 * ```
 */
export function secretsManagerKeyring<const A extends SecretsManagerAudiences>(options: SecretsManagerKeyringOptions<A>): SecretsManagerKeyring<A> {
  const who = 'secretsManagerKeyring';
  const audiences = (options as Partial<SecretsManagerKeyringOptions<A>> | undefined)?.audiences as unknown;
  if (audiences === null || typeof audiences !== 'object' || Array.isArray(audiences)) {
    throw new KeySourceError(`${who}: audiences must be an object: audience name → { secretId }`);
  }
  const names = Object.keys(audiences);
  if (names.length === 0) throw new KeySourceError(`${who}: audiences names no audience`);
  for (const name of names) {
    if (!AUDIENCE_RE.test(name)) throw new KeySourceError(`${who}: audience name ${JSON.stringify(name.slice(0, 80))} is not 1-64 of A-Z a-z 0-9 . _ -`);
    const entry = (audiences as Record<string, unknown>)[name];
    if (entry === null || typeof entry !== 'object') throw new KeySourceError(`${who}: audience "${name}" must be an object with a secretId`);
    const kind = (entry as SecretsManagerAudienceOptions).kind;
    if (kind !== undefined && !Object.hasOwn(SECRET_FORMATS, kind)) {
      throw new KeySourceError(`${who}: audience "${name}": kind must be "shared", "public" or "private"`);
    }
  }

  let sharedClient: SecretsManagerClientLike | undefined = options.client;
  let ownSharedClient: SecretsManagerClientLike | undefined;
  const clientFor = (a: SecretsManagerAudienceOptions): SecretsManagerClientLike | undefined => {
    if (a.client !== undefined) return a.client;
    if (a.clientConfig !== undefined) return undefined; // the audience's provider creates (and destroys) its own
    if (sharedClient === undefined) sharedClient = ownSharedClient = new SecretsManagerClient(options.clientConfig ?? {});
    return sharedClient;
  };

  const built: Array<[string, SecretsManagerProvider<AudienceSetOf<SecretsManagerAudienceOptions>>, SecretsManagerAudienceOptions, SecretKind]> = [];
  try {
    for (const name of names) {
      const a = (audiences as Record<string, SecretsManagerAudienceOptions>)[name]!;
      const kind: SecretKind = a.kind ?? 'shared';
      const client = clientFor(a);
      const provider = createSecretProvider<SecretKindSets[SecretKind]>(
        {
          secretId: a.secretId,
          ...(client !== undefined ? { client } : { clientConfig: a.clientConfig }),
          ...((a.kmsClient ?? options.kmsClient) !== undefined ? { kmsClient: a.kmsClient ?? options.kmsClient } : {}),
          refreshIntervalMs: a.refreshIntervalMs ?? options.refreshIntervalMs,
          jitter: a.jitter ?? options.jitter,
          maxStaleMs: a.maxStaleMs ?? options.maxStaleMs,
          includePrevious: a.includePrevious ?? options.includePrevious,
          requestTimeoutMs: a.requestTimeoutMs ?? options.requestTimeoutMs,
          meterProvider: a.meterProvider ?? options.meterProvider,
          now: options.now,
          onError: (err, info) => options.onError?.(err, { ...info, audience: name, kind }),
          onRefresh: (info) => options.onRefresh?.({ ...info, audience: name, kind }),
        },
        { who: `${who}: audience "${name}"`, label: `secret ${a.secretId} for audience "${name}"`, format: SECRET_FORMATS[kind], audience: name },
      );
      built.push([name, provider, a, kind]);
    }
  } catch (err) {
    for (const [, provider] of built) void provider.close();
    ownSharedClient?.destroy?.();
    throw err;
  }

  const keyring = Object.freeze(Object.fromEntries(built.map(([name, provider]) => [name, provider]))) as SecretsManagerKeyringProviders<A>;
  let closed = false;

  /** Runs `step` on every audience; rejects naming each that failed. */
  async function everyAudience(step: 'ready' | 'refresh', failure: string): Promise<void> {
    const results = await Promise.allSettled(built.map(([, provider]) => provider[step]()));
    const failed = built.flatMap(([name], i) => {
      const r = results[i]!;
      return r.status === 'rejected' ? [{ name, err: r.reason as unknown }] : [];
    });
    if (failed.length === 0) return;
    const detail = failed.map(({ name, err }) => `audience "${name}": ${messageOf(err)}`).join('; ');
    throw new KeySourceError(`${who}: ${failed.length} of ${built.length} audiences ${failure}: ${detail}`, { cause: failed[0]!.err });
  }

  return {
    keyring,
    ready: () => everyAudience('ready', 'not ready'),
    refresh: () => everyAudience('refresh', 'failed to refresh'),
    usableKeyring() {
      return Object.freeze(Object.fromEntries(built.filter(([, p]) => p.status().usable).map(([name, p]) => [name, p]))) as Partial<SecretsManagerKeyringProviders<A>>;
    },
    status() {
      const per = built.map(([name, provider, a, kind]) => [name, { ...provider.status(), secretId: a.secretId, kind }] as const);
      return {
        loaded: per.every(([, s]) => s.loaded),
        usable: per.every(([, s]) => s.usable),
        closed,
        unusable: per.filter(([, s]) => !s.usable).map(([name]) => name as keyof A & string),
        audiences: Object.fromEntries(per) as SecretsManagerKeyringStatus<keyof A & string>['audiences'],
      };
    },
    health: () => combineHealth(Object.fromEntries(built.map(([name, provider]) => [name, provider.health()]))),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all(built.map(([, provider]) => provider.close()));
      ownSharedClient?.destroy?.();
    },
  };
}
