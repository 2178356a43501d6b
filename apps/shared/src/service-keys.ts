/**
 * Where this service's keys come from, chosen by environment variables the way
 * a deployment would set them:
 * - `WIRESEAL_SECRET_ID`: AWS Secrets Manager (region, endpoint and credentials
 *   from the AWS SDK's usual sources, e.g. `AWS_REGION`, `AWS_ENDPOINT_URL`);
 * - `WIRESEAL_KEYSET_FILE`: a JWK Set file, re-read when it changes;
 * - `WIRESEAL_KEYSET`: the JWK Set itself.
 * With Secrets Manager, `WIRESEAL_REFRESH_MS` and `WIRESEAL_MAX_STALE_MS` set the
 * refresh interval and how long the last good keys serve through an outage.
 * A secret may hold a plain JWK Set or a KMS-protected one (`kms-v1`: kids in
 * the clear, each key's bytes KMS-encrypted): beside the Secrets Manager client
 * a `KMSClient` is built (region and credentials from the same sources; its
 * endpoint `WIRESEAL_KMS_ENDPOINT`, else the SDK's `AWS_ENDPOINT_URL_KMS` or
 * `AWS_ENDPOINT_URL`), which only a protected secret calls (`kms:Decrypt`).
 *
 * A service that reads or writes a policy with audiences takes a keyring
 * instead, one entry per audience it holds ({@link keyringFromEnv}):
 * `WIRESEAL_KEYRING_<AUDIENCE>_FILE` (a JWK Set file) or `…_SECRET_ID` (a
 * Secrets Manager secret) and, optionally, `…_KIND` (`shared`, `public` or
 * `private`: what it must hold, so that a writer handed a private key by
 * mistake does not start).
 */
import fs from 'node:fs/promises';
import { KMSClient } from '@aws-sdk/client-kms';
import { KeySet, PrivateKeySet, PublicKeySet, combineHealth, envKeyProvider, fileKeyProvider, refreshingProvider } from '@wireseal/core';
import type { AudienceKeyProvider, AudienceKeySet, CombinedKeySourceHealth, KeyProvider, KeySourceHealth, Keyring, RefreshingProvider } from '@wireseal/core';
import { KeySourceError } from '@wireseal/core/errors';
import { secretsManagerKeyProvider, secretsManagerKeyring } from '@wireseal/aws-secrets';

/** Receives key-source events: kids and codes, never key bytes. */
export type KeyEventLog = (event: Record<string, unknown>) => void;

/**
 * Secrets Manager refresh settings: `WIRESEAL_REFRESH_MS` (default 300000) and
 * `WIRESEAL_MAX_STALE_MS` (how long the last good keys serve without a
 * successful refresh; default the larger of 1 h and three refresh intervals).
 */
function refreshSettings(env: NodeJS.ProcessEnv): { refreshIntervalMs: number; maxStaleMs: number } {
  const refreshIntervalMs = Number(env.WIRESEAL_REFRESH_MS ?? 300_000);
  const maxStaleMs = env.WIRESEAL_MAX_STALE_MS ? Number(env.WIRESEAL_MAX_STALE_MS) : Math.max(3_600_000, refreshIntervalMs * 3);
  return { refreshIntervalMs, maxStaleMs };
}

/**
 * The KMS client for KMS-protected secrets: `WIRESEAL_KMS_ENDPOINT` (else the
 * AWS SDK's own endpoint settings) and the SDK's usual region and credentials.
 * It makes no call until a protected secret is read.
 */
function kmsClientFromEnv(env: NodeJS.ProcessEnv): KMSClient {
  return new KMSClient({
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(env.WIRESEAL_KMS_ENDPOINT ? { endpoint: env.WIRESEAL_KMS_ENDPOINT } : {}),
  });
}

/** `{ kmsKeyId }` for a protected set in force, `{}` for a plain one: the keys-loaded event says which KMS key opened them. */
function kmsOf(status: { kmsKeyId: string | undefined } | undefined): { kmsKeyId?: string } {
  return status?.kmsKeyId ? { kmsKeyId: status.kmsKeyId } : {};
}

/** The key provider named by the environment (with `health()`, as every wireseal provider); throws when none is configured. */
export function keyProviderFromEnv(env: NodeJS.ProcessEnv = process.env, log: KeyEventLog = () => {}): KeyProvider & { health(): KeySourceHealth } {
  const secretId = env.WIRESEAL_SECRET_ID;
  if (secretId) {
    const kmsClient = kmsClientFromEnv(env);
    const provider = secretsManagerKeyProvider({
      secretId,
      kmsClient,
      ...refreshSettings(env),
      onError: (err, info) => log({ event: 'keys-error', source: 'secrets-manager', code: err.code, reason: info.reason, stage: info.stage, phase: info.phase, message: err.message }),
      onRefresh: (info) => { if (info.changed) log({ event: 'keys-loaded', source: 'secrets-manager', primaryKid: info.primaryKid, kids: info.kids, ...kmsOf(provider?.status()) }); },
    });
    const close = provider.close;
    provider.close = async () => {
      await close();
      kmsClient.destroy();
    };
    return provider;
  }
  const file = env.WIRESEAL_KEYSET_FILE;
  if (file) {
    return fileKeyProvider({
      path: file,
      onError: (err) => log({ event: 'keys-error', source: 'file', code: err.code, message: err.message }),
      onReload: (info) => log({ event: 'keys-loaded', source: 'file', primaryKid: info.primaryKid, kids: info.kids }),
    });
  }
  if (env.WIRESEAL_KEYSET) return envKeyProvider({ env });
  throw new Error('no keys configured: set WIRESEAL_KEYSET_FILE, WIRESEAL_SECRET_ID or WIRESEAL_KEYSET');
}

/** What an audience's JWK Set holds: AES keys (`shared`: seal and open), public keys (`public`: seal only) or key pairs (`private`: open, and seal). */
export type AudienceKind = 'shared' | 'public' | 'private';

const KINDS: readonly AudienceKind[] = ['shared', 'public', 'private'];

/** The kind of a loaded audience key set. */
export function kindOf(set: AudienceKeySet): AudienceKind {
  return set instanceof KeySet ? 'shared' : set instanceof PublicKeySet ? 'public' : 'private';
}

/** The key ids of a set (never key bytes). */
function kidsOf(set: AudienceKeySet): string[] {
  return set instanceof KeySet ? set.list().map((k) => k.kid) : set.kids;
}

/** The environment variable prefix of an audience: `pci` → `WIRESEAL_KEYRING_PCI`. */
export function keyringEnvPrefix(audience: string): string {
  return `WIRESEAL_KEYRING_${audience.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Parses a JWK Set by what it holds: `oct` keys → KeySet, key pairs → PrivateKeySet, public keys → PublicKeySet. */
export function parseAudienceKeys(text: string, expected?: AudienceKind): AudienceKeySet {
  let doc: { keys?: unknown };
  try {
    doc = JSON.parse(text) as { keys?: unknown };
  } catch {
    throw new KeySourceError('not JSON');
  }
  const keys = Array.isArray(doc?.keys) ? (doc.keys as Array<Record<string, unknown>>) : [];
  const kind: AudienceKind = keys.length > 0 && keys.every((k) => k?.kty === 'oct') ? 'shared' : keys.some((k) => k && 'd' in k) ? 'private' : 'public';
  if (expected && kind !== expected) throw new KeySourceError(`it holds ${kind} keys, but ${expected} keys are configured`);
  return kind === 'shared' ? KeySet.fromJwks(text) : kind === 'private' ? PrivateKeySet.fromJwks(text) : PublicKeySet.fromJwks(text);
}

/** The keys of the audiences a service holds, loaded from the environment. */
export interface EnvKeyring {
  /** Audience → provider, for `encryptFields`/`decryptFields` and the codecs. Empty: the service holds no audience. */
  readonly keyring: Keyring;
  /** Loads every audience; rejects with `ERR_KEY_SOURCE` naming the audience whose keys cannot be had. */
  ready(): Promise<void>;
  /** Audience → what it holds (kind and kids: never key bytes). After `ready()`. */
  describe(): Record<string, { kind: AudienceKind; kids: string[] }>;
  /** Every audience's key-source health, combined (no audience: ready); no I/O, never key bytes. */
  health(): CombinedKeySourceHealth;
  close(): Promise<void>;
}

/** One audience's JWK Set file, re-read when its metadata changes. */
function audienceFileProvider(audience: string, file: string, expected: AudienceKind | undefined, log: KeyEventLog): RefreshingProvider<{ set: AudienceKeySet; print: string }> {
  const where = `audience ${audience}: key file ${file}`;
  const fingerprint = async (): Promise<string> => {
    const st = await fs.stat(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  };
  /** The file's last state that failed to load: not read (nor reported) again until it changes. */
  let failed: { print: string; error: KeySourceError } | undefined;
  const read = async (): Promise<{ set: AudienceKeySet; print: string }> => {
    let text: string;
    let print: string;
    try {
      print = await fingerprint();
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      throw new KeySourceError(`${where} cannot be read (${String((err as { code?: unknown }).code ?? 'EIO')})`);
    }
    try {
      return { set: parseAudienceKeys(text, expected), print };
    } catch (err) {
      const error = new KeySourceError(`${where} is not a valid key set: ${(err as { code?: string }).code === 'ERR_KEY_SOURCE' ? (err as Error).message : ((err as { code?: string }).code ?? 'invalid')}`);
      failed = { print, error };
      throw error;
    }
  };
  return refreshingProvider({
    source: file,
    intervalMs: 1000,
    load: async ({ previous }) => {
      if (previous) {
        const print = await fingerprint().catch(() => 'missing');
        if (print === previous.print) return previous;
        if (print === failed?.print) throw failed.error;
      }
      return read();
    },
    onLoad: (next, previous) => {
      if (next !== previous) log({ event: 'keys-loaded', source: 'file', audience, kind: kindOf(next.set), kids: kidsOf(next.set) });
    },
    onError: (err, { value, consecutiveFailures }) => {
      if (value && consecutiveFailures === 1) log({ event: 'keys-error', source: 'file', audience, code: err.code, message: err.message });
    },
  });
}

/** One audience's source: something that loads, hands out its current set, and closes. */
interface AudienceSource {
  ready(): Promise<void>;
  current(): AudienceKeySet;
  health(): KeySourceHealth;
  close(): Promise<void> | void;
}

/**
 * The keyring of the audiences this service holds, named by the environment,
 * per audience it holds (none: an empty keyring, a reader of no audience):
 * - `WIRESEAL_KEYRING_<AUDIENCE>_FILE`: a JWK Set file, re-read when it changes; or
 * - `WIRESEAL_KEYRING_<AUDIENCE>_SECRET_ID`: a Secrets Manager secret holding
 *   the JWK Set (`secretsManagerKeyring`, one secret per audience);
 * - `WIRESEAL_KEYRING_<AUDIENCE>_KIND`: `shared` (AES keys), `public` (seal
 *   only) or `private` (key pairs). A file must hold that kind (otherwise the
 *   kind is read from the file); a secret is read as that kind (default `shared`).
 * A `WIRESEAL_KEYRING_…` variable for an audience not in `audiences` is
 * refused (a typo would leave fields sealed unnoticed).
 */
export function keyringFromEnv(env: NodeJS.ProcessEnv, audiences: readonly string[], log: KeyEventLog = () => {}): EnvKeyring {
  const prefixes = new Map(audiences.map((a) => [keyringEnvPrefix(a), a]));
  for (const name of Object.keys(env)) {
    if (!name.startsWith('WIRESEAL_KEYRING_') || !env[name]) continue;
    const m = /^(WIRESEAL_KEYRING_.+)_(FILE|SECRET_ID|KIND)$/.exec(name);
    if (!m || !prefixes.has(m[1]!)) throw new Error(`${name}: not a keyring setting of this service (its audiences: ${audiences.join(', ')}; variables WIRESEAL_KEYRING_<AUDIENCE>_FILE, _SECRET_ID, _KIND)`);
  }
  const sources = new Map<string, AudienceSource>();
  const secrets: Record<string, { secretId: string; kind: AudienceKind }> = {};
  for (const [prefix, audience] of prefixes) {
    const file = env[`${prefix}_FILE`] || undefined;
    const secretId = env[`${prefix}_SECRET_ID`] || undefined;
    const kind = (env[`${prefix}_KIND`] || undefined) as AudienceKind | undefined;
    if (kind !== undefined && !KINDS.includes(kind)) throw new Error(`${prefix}_KIND must be one of ${KINDS.join(', ')}`);
    if (file && secretId) throw new Error(`${prefix}_FILE and ${prefix}_SECRET_ID are both set: choose one`);
    if (file) {
      const p = audienceFileProvider(audience, file, kind, log);
      sources.set(audience, { ready: p.ready, current: () => p.current().set, health: p.health, close: p.close });
    } else if (secretId) {
      secrets[audience] = { secretId, kind: kind ?? 'shared' };
    } else if (kind) {
      throw new Error(`${prefix}_KIND is set but neither ${prefix}_FILE nor ${prefix}_SECRET_ID`);
    }
  }
  if (Object.keys(secrets).length > 0) {
    const kmsClient = kmsClientFromEnv(env);
    const ring = secretsManagerKeyring({
      audiences: secrets,
      kmsClient,
      ...refreshSettings(env),
      onError: (err, info) => log({ event: 'keys-error', source: 'secrets-manager', audience: info.audience, code: err.code, reason: info.reason, stage: info.stage, phase: info.phase, message: err.message }),
      onRefresh: (info) => { if (info.changed) log({ event: 'keys-loaded', source: 'secrets-manager', audience: info.audience, kind: info.kind, kids: info.kids, ...kmsOf(ring?.keyring[info.audience]?.status()) }); },
    });
    const closeRing = ring.close;
    const close = async (): Promise<void> => {
      await closeRing();
      kmsClient.destroy();
    };
    // One ready() and close() for all of them, through the first audience's entry.
    let first = true;
    for (const [audience, provider] of Object.entries(ring.keyring)) {
      sources.set(audience, { ready: first ? ring.ready : () => Promise.resolve(), current: () => provider.current(), health: provider.health, close: first ? close : () => undefined });
      first = false;
    }
  }
  const keyring: Record<string, AudienceKeyProvider & { health(): KeySourceHealth }> = {};
  for (const [audience, source] of sources) keyring[audience] = { current: () => source.current(), health: () => source.health() };
  return {
    keyring: Object.freeze(keyring),
    async ready() {
      await Promise.all([...sources.values()].map((p) => p.ready()));
    },
    describe() {
      return Object.fromEntries([...sources].map(([a, p]) => {
        const set = p.current();
        return [a, { kind: kindOf(set), kids: kidsOf(set) }];
      }));
    },
    health() {
      return combineHealth(Object.fromEntries([...sources].map(([a, p]) => [a, p.health()])));
    },
    async close() {
      await Promise.all([...sources.values()].map((p) => p.close()));
    },
  };
}
