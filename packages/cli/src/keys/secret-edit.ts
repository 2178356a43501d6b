/**
 * `keyset add|promote|retire|remove --secret-id ID`: edit a Secrets Manager
 * secret in place (one PutSecretValue, a new AWSCURRENT version), plain or
 * KMS-protected. A protected secret is edited through its shadow key set
 * (protected.ts), so promote, retire and remove make no KMS call and keep
 * every `k_kms` byte-identical; add wraps the new key only (one Encrypt).
 * `keyset list --secret-id` on a protected secret reads kids and roles without KMS.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ProtectedKeySet } from '@wireseal/aws-secrets';
import { KeySet } from '@wireseal/core';
import type { Jwks } from '@wireseal/core';
import { KeySourceError } from '@wireseal/core/errors';
import type { Values } from '../args.ts';
import { str } from '../args.ts';
import { usageError } from '../errors.ts';
import { awsClientConfig, createSecretsClient } from './aws.ts';
import { createKmsClient, kmsApi, putSecretText, readSecretVersion, shadowKeySet, unshadow, wrapOne } from './protected.ts';

/** Where a `keyset` edit goes, and how it is saved. */
export interface EditTarget {
  /** How messages name it: the file, or `secret ID`. */
  where: string;
  /** The options that name it again, for the next step's hint. */
  hint: string;
  load(): Promise<KeySet>;
  /** Validates and stores the edited set; `note` is appended to the status line. */
  save(jwks: Jwks): Promise<{ keys: KeySet; note: string }>;
  close(): void;
}

async function secretsClient(values: Values, secretId: string): Promise<SecretsManagerClient> {
  try {
    return await createSecretsClient(awsClientConfig(values));
  } catch (err) {
    throw usageError(`cannot reach secret ${secretId}: ${(err as Error).message}`);
  }
}

/** The secret as a key set a `keyset` step can edit, saved back with PutSecretValue. */
export async function secretEditTarget(secretId: string, values: Values, command: string): Promise<EditTarget> {
  const client = await secretsClient(values, secretId);
  let kms: KMSClient | undefined;
  const close = (): void => {
    client.destroy();
    kms?.destroy();
  };
  try {
    const current = await readSecretVersion(client, secretId, 'AWSCURRENT');
    if (!current) throw new KeySourceError(`secret ${secretId} does not exist or has no AWSCURRENT value; create it with: wireseal secrets push --secret-id ${secretId} --keyset FILE`);
    const api = await kmsApi();
    const where = `secret ${secretId}`;
    const hint = `--secret-id ${secretId}`;
    const kmsKeyId = str(values, 'kms-key-id');
    if (!api.isProtectedKeySet(current.text)) {
      if (kmsKeyId !== undefined) {
        throw usageError(`secret ${secretId} holds a plain key set; convert it first: wireseal secrets migrate --secret-id ${secretId} --kms-key-id ${kmsKeyId}`);
      }
      return {
        where,
        hint,
        load: async () => KeySet.fromJwks(current.text),
        async save(jwks) {
          const keys = KeySet.fromJwks(jwks);
          const versionId = await putSecretText(client, secretId, JSON.stringify(keys.toJwks()));
          return { keys, note: ` (version ${versionId} is now AWSCURRENT)` };
        },
        close,
      };
    }
    const stored: ProtectedKeySet = api.parseProtectedKeySet(current.text);
    if (kmsKeyId !== undefined && kmsKeyId !== stored.kmsKeyId) {
      throw usageError(`${command}: secret ${secretId} is protected with KMS key ${stored.kmsKeyId}, not ${kmsKeyId}; new keys are wrapped with the secret's own kmsKeyId`);
    }
    return {
      where,
      hint,
      load: async () => shadowKeySet(stored),
      async save(jwks) {
        KeySet.fromJwks(jwks); // the edited shadow (and any new key) validates
        const { json, wrapped } = await unshadow(jwks, stored, async (jwk) => {
          kms ??= await createKmsClient(values);
          return wrapOne(jwk, { kmsClient: kms, kmsKeyId: stored.kmsKeyId, secretId: current.name });
        });
        api.parseProtectedKeySet(json);
        const versionId = await putSecretText(client, secretId, JSON.stringify(json));
        const how = wrapped.length ? `; KMS Encrypt of ${wrapped.map((k) => `"${k}"`).join(', ')} only` : '; no KMS call';
        return { keys: shadowKeySet(json), note: ` (KMS-protected, version ${versionId} is now AWSCURRENT${how})` };
      },
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}

/**
 * `keyset list --secret-id` for a protected AWSCURRENT: its kids and roles,
 * plus the kids only AWSPREVIOUS has as decrypt-only (as readers merge them),
 * read without KMS. Undefined when there is no --secret-id or AWSCURRENT is
 * plain (listed through the provider as before).
 */
export async function secretKeyRows<R>(values: Values, describe: (keys: KeySet) => R[]): Promise<R[] | undefined> {
  const secretId = str(values, 'secret-id');
  if (secretId === undefined || str(values, 'keyset') !== undefined || str(values, 'keyset-env') !== undefined) return undefined;
  const client = await secretsClient(values, secretId);
  try {
    const current = await readSecretVersion(client, secretId, 'AWSCURRENT');
    const api = await kmsApi();
    if (!current || !api.isProtectedKeySet(current.text)) return undefined;
    let keys = shadowKeySet(api.parseProtectedKeySet(current.text));
    const previous = await readSecretVersion(client, secretId, 'AWSPREVIOUS');
    if (previous && previous.versionId !== current.versionId) {
      try {
        keys = keys.withDecryptOnly(api.isProtectedKeySet(previous.text) ? shadowKeySet(api.parseProtectedKeySet(previous.text)) : KeySet.fromJwks(previous.text));
      } catch {
        /* an invalid AWSPREVIOUS is skipped, as readers skip it */
      }
    }
    return describe(keys);
  } finally {
    client.destroy();
  }
}
