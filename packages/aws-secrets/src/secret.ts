/**
 * Reading one version of the secret and turning it into a key set (a shared
 * `KeySet`, or a public or private JWK Set for a public-key audience), with
 * errors that never carry the secret's content.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { KeySet, PrivateKeySet, PublicKeySet } from '@wireseal/core';
import type { AudienceKeySet } from '@wireseal/core';
import { KeySourceError, WiresealError } from '@wireseal/core/errors';
import { KeySourceFailure } from './errors.ts';

/** The staging labels the provider reads. */
export type VersionStage = 'AWSCURRENT' | 'AWSPREVIOUS';

/**
 * The part of an AWS SDK v3 `SecretsManagerClient` the provider uses. Any
 * `SecretsManagerClient` fits; so does a wrapper with the same `send`.
 */
export interface SecretsManagerClientLike {
  send(command: GetSecretValueCommand, options?: { abortSignal?: AbortSignal }): Promise<GetSecretValueCommandOutput>;
  destroy?(): void;
}

/** A version of the secret that parsed into a key set. */
export interface LoadedVersion<K extends AudienceKeySet = KeySet> {
  versionId: string | undefined;
  keys: K;
}

/**
 * What a secret holds, as a JWK Set:
 * - `shared`: a {@link KeySet} of AES keys (seals and opens);
 * - `public`: a {@link PublicKeySet} (a writer of a public-key audience: seals, never opens);
 * - `private`: a {@link PrivateKeySet} (the reader of a public-key audience).
 */
export type SecretKind = 'shared' | 'public' | 'private';

/** The set type each {@link SecretKind} loads into. */
export interface SecretKindSets {
  shared: KeySet;
  public: PublicKeySet;
  private: PrivateKeySet;
}

/** How a secret's content becomes a key set, and how AWSPREVIOUS's keys join it. */
export interface SecretFormat<K extends AudienceKeySet> {
  /** Validates the JWK Set (`SecretString`, `SecretBinary`'s UTF-8 bytes, or a protected set's decrypted JWK Set); throws `ERR_KEYSET_INVALID`. */
  parse(content: string | Uint8Array | { keys: readonly unknown[] }): K;
  /** The current set with the previous version's keys added; absent: AWSPREVIOUS is never read. */
  withPrevious?(current: K, previous: K): K;
}

/** A private set plus the previous version's key pairs whose kids it lacks (current keys first, so they seal). */
function withPreviousPairs(current: PrivateKeySet, previous: PrivateKeySet): PrivateKeySet {
  const extra = previous.toPrivateJwks().keys.filter((k) => !current.has(k.kid as string));
  return extra.length === 0 ? current : PrivateKeySet.fromJwks({ keys: [...current.toPrivateJwks().keys, ...extra] });
}

/**
 * The formats by kind. A public set takes nothing from AWSPREVIOUS: a writer
 * seals with its first usable key and has no use for old public keys.
 */
export const SECRET_FORMATS: { readonly [S in SecretKind]: SecretFormat<SecretKindSets[S]> } = {
  shared: { parse: (c) => KeySet.fromJwks(c), withPrevious: (cur, prev) => cur.withDecryptOnly(prev) },
  public: { parse: (c) => PublicKeySet.fromJwks(c) },
  private: { parse: (c) => PrivateKeySet.fromJwks(c), withPrevious: withPreviousPairs },
};

/** Kids (and the primary, for a shared set) of a set: for hooks and status, never key material. */
export function describeSet(set: AudienceKeySet): { primaryKid: string | undefined; kids: string[] } {
  return set instanceof KeySet ? { primaryKid: set.primaryKid, kids: set.list().map((k) => k.kid) } : { primaryKid: undefined, kids: set.kids };
}

/** Whether an SDK error means "no such secret or no version with that label". */
export function isNotFound(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'ResourceNotFoundException';
}

/**
 * A description of an SDK failure that is safe to report. AWS service errors
 * and Node system errors (ECONNREFUSED...) keep their message; anything else
 * (a response that failed to parse, for instance, whose message could quote
 * the body) is reduced to its name.
 */
export function describeAwsError(err: unknown): string {
  if (err === null || typeof err !== 'object') return String(typeof err);
  const e = err as { name?: unknown; message?: unknown; code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: number; requestId?: string } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const parts: string[] = [name];
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') parts.push(`HTTP ${status}`);
  if (typeof e.$metadata?.requestId === 'string') parts.push(`request ${e.$metadata.requestId}`);
  const isService = e.$fault === 'client' || e.$fault === 'server';
  const isSystem = typeof e.code === 'string' && /^E[A-Z0-9_]+$/.test(e.code);
  if ((isService || isSystem) && typeof e.message === 'string') parts.push(e.message.slice(0, 300));
  return parts.join(': ');
}

/**
 * Fetches one staged version. Rejects with the SDK's error as is: callers
 * turn it into a KeySourceError with {@link describeAwsError}.
 */
export async function fetchVersion(
  client: SecretsManagerClientLike,
  secretId: string,
  stage: VersionStage,
  signal: AbortSignal,
): Promise<GetSecretValueCommandOutput> {
  return client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }), { abortSignal: signal });
}

/**
 * Parses a GetSecretValue answer: the JWK Set as `SecretString`, or its UTF-8
 * bytes as `SecretBinary`.
 * @param label - names the secret in messages (`secret prod/pci`)
 * @throws KeySourceError whose cause is the KeySetInvalidError (kid or index, never bytes)
 */
export function parseVersion<K extends AudienceKeySet>(
  out: GetSecretValueCommandOutput,
  label: string,
  stage: VersionStage,
  format: SecretFormat<K>,
  content: string | Uint8Array | { keys: readonly unknown[] } | undefined = secretContent(out),
): LoadedVersion<K> {
  const where = whereOf(out, label, stage);
  let keys: K;
  try {
    if (content === undefined) throw new KeySourceFailure('content', `${where} holds neither SecretString nor SecretBinary`);
    keys = format.parse(content);
  } catch (err) {
    if (err instanceof KeySourceError) throw err;
    if (err instanceof WiresealError) throw new KeySourceFailure('content', `${where} does not hold a valid key set: ${err.message}`, { cause: err });
    throw new KeySourceFailure('content', `${where} does not hold a valid key set`);
  }
  return { versionId: out.VersionId, keys };
}

/** Names a version in messages: `secret prod/pci (AWSCURRENT, version 1a2b…)`. */
export function whereOf(out: GetSecretValueCommandOutput, label: string, stage: VersionStage): string {
  return `${label} (${stage}${out.VersionId ? `, version ${out.VersionId}` : ''})`;
}

/** A version's content: `SecretString`, else `SecretBinary`'s bytes, else `undefined`. */
export function secretContent(out: GetSecretValueCommandOutput): string | Uint8Array | undefined {
  if (typeof out.SecretString === 'string') return out.SecretString;
  return out.SecretBinary instanceof Uint8Array ? out.SecretBinary : undefined;
}
