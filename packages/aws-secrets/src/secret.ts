/**
 * Reading one version of the secret and turning it into a KeySet, with
 * errors that never carry the secret's content.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { KeySet } from '@wireseal/core';
import { KeySourceError, WiresealError } from '@wireseal/core/errors';

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
export interface LoadedVersion {
  versionId: string | undefined;
  keys: KeySet;
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
 * @throws KeySourceError whose cause is the KeySetInvalidError (kid or index, never bytes)
 */
export function parseVersion(out: GetSecretValueCommandOutput, secretId: string, stage: VersionStage): LoadedVersion {
  const where = `secret ${secretId} (${stage}${out.VersionId ? `, version ${out.VersionId}` : ''})`;
  let keys: KeySet;
  try {
    if (typeof out.SecretString === 'string') keys = KeySet.fromJwks(out.SecretString);
    else if (out.SecretBinary instanceof Uint8Array) keys = KeySet.fromJwks(out.SecretBinary);
    else throw new KeySourceError(`${where} holds neither SecretString nor SecretBinary`);
  } catch (err) {
    if (err instanceof KeySourceError) throw err;
    if (err instanceof WiresealError) throw new KeySourceError(`${where} does not hold a valid key set: ${err.message}`, { cause: err });
    throw new KeySourceError(`${where} does not hold a valid key set`);
  }
  return { versionId: out.VersionId, keys };
}
