/**
 * Where a command gets its key set: `--keyset FILE`, `--keyset-env VAR`,
 * `--secret-id ID` (Secrets Manager: AWSCURRENT, plus AWSPREVIOUS keys as
 * decrypt-only), or the `WIRESEAL_KEYSET` environment variable when none is given.
 */
import { KeySet } from '@wireseal/core';
import { KeySourceError, WiresealError } from '@wireseal/core/errors';
import type { OptionSpec, Values } from '../args.ts';
import { str } from '../args.ts';
import { usageError } from '../errors.ts';
import { readText } from '../files.ts';
import type { Io } from '../io.ts';
import { write } from '../io.ts';
import { AWS_OPTIONS, awsClientConfig, createSecretsClient } from './aws.ts';
import { KMS_OPTIONS, createKmsClient } from './protected.ts';

/** The key-source options shared by seal, open, fields, reencrypt and keyset list. */
export const KEY_SOURCE_OPTIONS: Record<string, OptionSpec> = {
  keyset: { type: 'string', metavar: 'FILE', help: 'JWK Set file' },
  'keyset-env': { type: 'string', metavar: 'VAR', help: 'Environment variable holding the JWK Set (JSON, or base64url of it)' },
  'secret-id': { type: 'string', metavar: 'ID', help: 'Secrets Manager secret (name or ARN) holding the JWK Set (plain or KMS-protected)' },
  ...AWS_OPTIONS,
  'kms-endpoint': KMS_OPTIONS['kms-endpoint']!,
};

/** The environment variable used when no key source option is given. */
export const DEFAULT_KEYSET_ENV = 'WIRESEAL_KEYSET';

/** Reads and validates a JWK Set file. */
export async function readKeySetFile(file: string): Promise<KeySet> {
  return KeySet.fromJwks(await readText(file, 'key set file', 1024 * 1024));
}

/** Parses a key set held in an environment variable: JSON text, or base64url/base64 of it. */
export function keySetFromEnv(env: Record<string, string | undefined>, name: string): KeySet {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') throw new KeySourceError(`environment variable ${name} is not set`);
  const text = raw.trim();
  try {
    if (text.startsWith('{')) return KeySet.fromJwks(text);
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new KeySourceError(`environment variable ${name} is neither JWK Set JSON nor base64url of it`);
    return KeySet.fromJwks(Buffer.from(text, 'base64url'));
  } catch (err) {
    if (err instanceof KeySourceError) throw err;
    if (err instanceof WiresealError) throw new KeySourceError(`environment variable ${name} does not hold a valid key set: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Reads the key set from Secrets Manager through `@wireseal/aws-secrets`
 * (AWSCURRENT + AWSPREVIOUS decrypt-only), plain or KMS-protected (a KMS
 * client is created for the provider; a plain set never calls it).
 */
export async function keySetFromSecret(secretId: string, values: Values, io: Io): Promise<KeySet> {
  const { secretsManagerKeyProvider } = await import('@wireseal/aws-secrets');
  let client;
  let kmsClient;
  try {
    client = await createSecretsClient(awsClientConfig(values));
    kmsClient = await createKmsClient(values);
  } catch (err) {
    client?.destroy();
    throw new KeySourceError(`cannot read secret ${secretId}: ${(err as Error).message}`);
  }
  const warnings: string[] = [];
  const provider = secretsManagerKeyProvider({
    secretId,
    client,
    kmsClient,
    onError: (err, info) => {
      // An unusable AWSPREVIOUS does not stop us; say so. (Messages never hold key bytes.)
      if (info.stage === 'AWSPREVIOUS') warnings.push(`warning ${err.code}: ${err.message}`);
    },
  });
  try {
    await provider.ready();
    return provider.current();
  } finally {
    await provider.close();
    client.destroy();
    kmsClient.destroy();
    for (const w of warnings) await write(io.stderr, `${w}\n`);
  }
}

/** Refuses `--region`, `--endpoint` and `--profile`: they apply only with `--secret-id`. */
export function refuseAwsOptions(values: Values): void {
  for (const name of ['region', 'endpoint', 'profile', 'kms-endpoint']) {
    if (str(values, name) !== undefined) throw usageError(`--${name} applies only with --secret-id`);
  }
}

/**
 * The key set the options name. Exactly one of `--keyset`, `--keyset-env`,
 * `--secret-id`; with none, `WIRESEAL_KEYSET` if it is set.
 */
export async function loadKeys(values: Values, io: Io, command: string): Promise<KeySet> {
  const file = str(values, 'keyset');
  const envName = str(values, 'keyset-env');
  const secretId = str(values, 'secret-id');
  const given = [file, envName, secretId].filter((v) => v !== undefined).length;
  if (given > 1) throw usageError(`give only one of --keyset, --keyset-env and --secret-id`);
  if (secretId === undefined) refuseAwsOptions(values);
  if (file !== undefined) return readKeySetFile(file);
  if (envName !== undefined) return keySetFromEnv(io.env, envName);
  if (secretId !== undefined) return keySetFromSecret(secretId, values, io);
  if (io.env[DEFAULT_KEYSET_ENV] !== undefined) return keySetFromEnv(io.env, DEFAULT_KEYSET_ENV);
  throw usageError(`${command} needs a key set: --keyset FILE, --keyset-env VAR, --secret-id ID, or ${DEFAULT_KEYSET_ENV} in the environment`);
}
