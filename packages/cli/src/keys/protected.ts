/**
 * KMS-protected key sets in Secrets Manager, for the CLI: the secret holds
 * `{"wireseal":"kms-v1","kmsKeyId","keys":[{kty,kid,key_ops,k_kms,...}]}`
 * (`@wireseal/aws-secrets`' format), each raw key a KMS ciphertext under the
 * encryption context `{"wireseal:secret": <secret>, "wireseal:kid": <kid>}`.
 *
 * Rotation edits that change only roles (promote, retire, remove) need no
 * KMS call: they run on a *shadow* key set whose `k` members are placeholders
 * derived from the kid, and only kids/roles/marks are copied back onto the
 * protected entries, whose `k_kms` blobs stay byte-identical. A key that is
 * new in the edited set is the only one wrapped (one KMS Encrypt).
 */
import { createHash } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KeySet } from '@wireseal/core';
import type { Jwks, OctJwk } from '@wireseal/core';
import type { ProtectedJwk, ProtectedKeySet } from '@wireseal/aws-secrets';
import type { OptionSpec, Values } from '../args.ts';
import { str } from '../args.ts';
import { ioError, usageError } from '../errors.ts';
import { awsClientConfig, describeAwsError } from './aws.ts';

/** `--kms-key-id`, `--kms-endpoint`. */
export const KMS_OPTIONS: Record<string, OptionSpec> = {
  'kms-key-id': { type: 'string', metavar: 'ID', help: 'KMS key (id, ARN or alias) that wraps each key: the secret holds the KMS-protected format' },
  'kms-endpoint': { type: 'string', metavar: 'URL', help: 'KMS endpoint URL (default: --endpoint, else AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL or the AWS one)' },
};

/** A placeholder key derived from the kid: never written, never used to seal. */
function placeholder(kid: string): string {
  return createHash('sha256').update(`wireseal-shadow:${kid}`).digest('base64url');
}

/**
 * The shadow of a protected set: the same kids, key_ops and other members,
 * with placeholder `k`s, validated like any key set (kids unique, one primary).
 */
export function shadowKeySet(json: ProtectedKeySet): KeySet {
  const keys = json.keys.map((entry) => {
    const { k_kms: _, ...rest } = entry;
    return { ...rest, k: placeholder(String(entry.kid)) } as OctJwk;
  });
  return KeySet.fromJwks({ keys });
}

/**
 * The protected form of `edited` (a shadow set after an edit): kids already in
 * `original` keep their `k_kms` byte for byte and take the edited roles and
 * members; new kids (holding real `k`) are wrapped by `wrap`, one call each.
 */
export async function unshadow(
  edited: Jwks,
  original: ProtectedKeySet,
  wrap: (jwk: OctJwk) => Promise<ProtectedJwk>,
): Promise<{ json: ProtectedKeySet; wrapped: string[] }> {
  const byKid = new Map(original.keys.map((e) => [e.kid, e]));
  const wrapped: string[] = [];
  const keys: ProtectedJwk[] = [];
  for (const jwk of edited.keys) {
    const old = byKid.get(jwk.kid);
    if (old) {
      const { k: _, ...rest } = jwk;
      keys.push({ ...rest, k_kms: old.k_kms } as ProtectedJwk);
    } else {
      keys.push(await wrap(jwk));
      wrapped.push(jwk.kid);
    }
  }
  return { json: { ...original, keys }, wrapped };
}

/** The `@wireseal/aws-secrets` KMS functions, loaded on first use. */
export async function kmsApi(): Promise<typeof import('@wireseal/aws-secrets')> {
  return import('@wireseal/aws-secrets');
}

/** A KMSClient with the same region, profile and endpoint options as the Secrets Manager client (`--kms-endpoint` overrides). */
export async function createKmsClient(values: Values): Promise<KMSClient> {
  const sdk = await import('@aws-sdk/client-kms');
  const config = awsClientConfig(values);
  const endpoint = str(values, 'kms-endpoint');
  const client = new sdk.KMSClient({ ...config, ...(endpoint ? { endpoint } : {}) });
  try {
    await client.config.region();
  } catch {
    client.destroy();
    throw usageError('no AWS region: pass --region, set AWS_REGION, or use a profile that has one');
  }
  return client;
}

/** Wraps one key (made the primary of a one-key set for the call) and returns its protected entry with the key's own key_ops. */
export async function wrapOne(jwk: OctJwk, options: { kmsClient: KMSClient; kmsKeyId: string; secretId: string }): Promise<ProtectedJwk> {
  const { protectKeySet } = await kmsApi();
  const out = await protectKeySet({ keys: [{ ...jwk, key_ops: ['encrypt', 'decrypt'] }] }, options);
  const entry = out.keys[0]!;
  const copy: ProtectedJwk = { ...entry };
  if (jwk.key_ops === undefined) delete copy.key_ops;
  else copy.key_ops = [...jwk.key_ops];
  return copy;
}

/** A version of a secret: its text and version id, or undefined when the secret (or that stage) does not exist. */
export async function readSecretVersion(client: SecretsManagerClient, secretId: string, stage: 'AWSCURRENT' | 'AWSPREVIOUS'): Promise<{ text: string; versionId: string | undefined; name: string } | undefined> {
  const sdk = await import('@aws-sdk/client-secrets-manager');
  try {
    const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
    const text = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
    return text === undefined ? undefined : { text, versionId: out.VersionId, name: out.Name ?? secretId };
  } catch (err) {
    if ((err as { name?: unknown } | null)?.name === 'ResourceNotFoundException') return undefined;
    throw ioError(`cannot read secret ${secretId} (${stage}): ${describeAwsError(err)}`);
  }
}

/** Puts `text` as the new AWSCURRENT version; returns its version id. */
export async function putSecretText(client: SecretsManagerClient, secretId: string, text: string): Promise<string | undefined> {
  const sdk = await import('@aws-sdk/client-secrets-manager');
  try {
    return (await client.send(new sdk.PutSecretValueCommand({ SecretId: secretId, SecretString: text }))).VersionId;
  } catch (err) {
    throw ioError(`cannot update secret ${secretId}: ${describeAwsError(err)}`);
  }
}
