/**
 * `wireseal secrets push`: store a JWK Set file in Secrets Manager as the new
 * AWSCURRENT version (creating the secret if needed), plain or, with
 * `--kms-key-id`, KMS-protected (`@wireseal/aws-secrets`' format). The
 * previous version becomes AWSPREVIOUS, whose keys readers keep as decrypt-only.
 * `wireseal secrets migrate`: convert a plain secret to the protected format
 * in place, as one new AWSCURRENT version.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ProtectedKeySet } from '@wireseal/aws-secrets';
import { KeySet } from '@wireseal/core';
import type { Jwks } from '@wireseal/core';
import type { CommandSpec, Values } from '../args.ts';
import { flag, required, str } from '../args.ts';
import { CliError, EXIT, ioError, usageError } from '../errors.ts';
import { write } from '../io.ts';
import { AWS_OPTIONS, awsClientConfig, createSecretsClient, describeAwsError } from '../keys/aws.ts';
import { KMS_OPTIONS, createKmsClient, kmsApi, putSecretText, readSecretVersion, shadowKeySet } from '../keys/protected.ts';
import { readKeySetFile } from '../keys/source.ts';

/** The clients a secrets command uses: Secrets Manager now, KMS on first use; `close()` destroys both. */
async function clients(values: Values): Promise<{ sm: SecretsManagerClient; kms(): Promise<KMSClient>; close(): void }> {
  const sm = await createSecretsClient(awsClientConfig(values)).catch((err: unknown) => {
    throw usageError((err as Error).message);
  });
  let kms: KMSClient | undefined;
  return {
    sm,
    kms: async () => (kms ??= await createKmsClient(values)),
    close: () => {
      sm.destroy();
      kms?.destroy();
    },
  };
}

/** The kids a stored version holds (plain or protected: no KMS call), or undefined when it holds no valid set. */
async function storedKeys(text: string): Promise<{ keys: KeySet; protectedSet?: ProtectedKeySet } | undefined> {
  const api = await kmsApi();
  try {
    if (!api.isProtectedKeySet(text)) return { keys: KeySet.fromJwks(text) };
    const protectedSet = api.parseProtectedKeySet(text);
    return { keys: shadowKeySet(protectedSet), protectedSet };
  } catch {
    return undefined; // an invalid current version is replaced; nothing to compare with
  }
}

/** The same JWK Set (key bytes, kids, roles and members), whatever the order of members. */
function sameJwks(a: Jwks, b: Jwks): boolean {
  const norm = (j: Jwks): string => JSON.stringify(j.keys.map((k) => Object.fromEntries(Object.entries(k).sort(([x], [y]) => (x < y ? -1 : 1)))));
  return norm(a) === norm(b);
}

const push: CommandSpec = {
  name: 'secrets push',
  summary: 'Create or update a Secrets Manager secret with a JWK Set file, as a new AWSCURRENT version.',
  usage: ['secrets push --secret-id ID --keyset FILE [--kms-key-id KEY] [--region REGION] [--endpoint URL] [--profile NAME] [--description TEXT] [--secret-kms-key-id ID] [--force]'],
  description: [
    'The file is validated first. Nothing is written when AWSCURRENT already holds the same key set.',
    'No-downtime guard: the new primary must already be in AWSCURRENT (add it decrypt-only, push, let readers',
    'refresh, then promote and push again); --force skips that check. Key bytes are never printed.',
    'With --kms-key-id the secret holds the KMS-protected format: each key\'s bytes encrypted by KMS under the',
    'context {"wireseal:secret": <name>, "wireseal:kid": <kid>}. Keys the secret already holds wrapped under the same',
    'KMS key with the same bytes keep their k_kms (checked with one Decrypt each); only the others are encrypted.',
    'Readers need a KMS client and kms:Decrypt. Pushing a plain set over a protected one is refused without --force.',
  ].join('\n'),
  options: {
    'secret-id': { type: 'string', metavar: 'ID', help: 'Secret name or ARN (required)' },
    keyset: { type: 'string', metavar: 'FILE', help: 'JWK Set file to push (required)' },
    ...AWS_OPTIONS,
    description: { type: 'string', metavar: 'TEXT', help: 'Description, when the secret is created' },
    ...KMS_OPTIONS,
    'secret-kms-key-id': { type: 'string', metavar: 'ID', help: 'KMS key Secrets Manager encrypts the secret with, when it is created' },
    force: { type: 'boolean', short: 'f', help: 'Push even if the new primary is not in the current version' },
    json: { type: 'boolean', help: 'Print {"secretId","versionId","action","primaryKid","format","encrypted"} on stdout' },
  },
  examples: ['wireseal secrets push --secret-id prod/wireseal --keyset keys.json --region eu-west-1', 'wireseal secrets push --secret-id prod/wireseal --keyset keys.json --kms-key-id alias/wireseal'],
  async run({ values, io }) {
    const secretId = required(values, 'secret-id', 'secrets push');
    const file = required(values, 'keyset', 'secrets push');
    const kmsKeyId = str(values, 'kms-key-id');
    const keys = await readKeySetFile(file);
    const sdk = await import('@aws-sdk/client-secrets-manager');
    const api = await kmsApi();
    const aws = await clients(values);
    let action: 'created' | 'updated' | 'unchanged' = 'unchanged';
    let versionId: string | undefined;
    let encrypted: string[] = [];
    try {
      const current = await readSecretVersion(aws.sm, secretId, 'AWSCURRENT');
      versionId = current?.versionId;
      const name = current?.name ?? secretId;
      const stored = current ? await storedKeys(current.text) : undefined;
      if (stored?.protectedSet && kmsKeyId === undefined && !flag(values, 'force')) {
        throw usageError(`refusing to push: secret ${secretId} holds a KMS-protected key set; pass --kms-key-id ${stored.protectedSet.kmsKeyId} to keep it protected (or --force to store the keys in clear)`);
      }
      let text: string;
      let unchanged: boolean;
      if (kmsKeyId === undefined) {
        text = JSON.stringify(keys.toJwks());
        unchanged = !stored?.protectedSet && current !== undefined && stored !== undefined && sameJwks(stored.keys.toJwks(), keys.toJwks());
      } else {
        const kmsClient = await aws.kms();
        // Blobs worth keeping: same KMS key, same kid, and (one Decrypt each) the same bytes as the file's key.
        let previous: ProtectedKeySet | undefined;
        const prev = stored?.protectedSet;
        if (prev && prev.kmsKeyId === kmsKeyId) {
          const clear = await api.unprotectKeySet(prev, { kmsClient, secretId: name });
          const mine = new Map(keys.toJwks().keys.map((k) => [k.kid, k.k]));
          const same = new Set(clear.keys.filter((k) => mine.get(k.kid) === k.k).map((k) => k.kid));
          for (const k of clear.keys) k.k = '';
          const kept = prev.keys.filter((k) => same.has(k.kid));
          if (kept.length) previous = { ...prev, keys: kept };
        }
        const out = await api.protectKeySet(keys.toJwks(), { kmsClient, kmsKeyId, secretId: name, ...(previous ? { previous } : {}) });
        const keptKids = new Set(previous?.keys.map((k) => k.kid));
        encrypted = out.keys.filter((k) => !keptKids.has(k.kid)).map((k) => k.kid);
        text = JSON.stringify(out);
        unchanged = current !== undefined && encrypted.length === 0 && JSON.stringify(JSON.parse(current.text)) === text;
      }
      if (!unchanged) {
        if (stored && !stored.keys.has(keys.primaryKid) && !flag(values, 'force')) {
          throw usageError(
            `refusing to push: the new primary "${keys.primaryKid}" is not in the current version of ${secretId}, so readers could not open what it seals until they refresh. ` +
              `Push the set with "${keys.primaryKid}" decrypt-only first, let readers refresh, then promote it and push again (or pass --force)`,
          );
        }
        if (current) {
          versionId = await putSecretText(aws.sm, secretId, text);
          action = 'updated';
        } else {
          const description = str(values, 'description');
          const secretKms = str(values, 'secret-kms-key-id');
          try {
            const out = await aws.sm.send(
              new sdk.CreateSecretCommand({
                Name: secretId,
                SecretString: text,
                ...(description !== undefined ? { Description: description } : {}),
                ...(secretKms !== undefined ? { KmsKeyId: secretKms } : {}),
              }),
            );
            versionId = out.VersionId;
            action = 'created';
          } catch (err) {
            // The secret exists without an AWSCURRENT value (created empty): give it one.
            if ((err as { name?: unknown }).name !== 'ResourceExistsException') throw ioError(`cannot create secret ${secretId}: ${describeAwsError(err)}`);
            versionId = await putSecretText(aws.sm, secretId, text);
            action = 'updated';
          }
        }
      } else {
        encrypted = [];
      }
    } catch (err) {
      if (err instanceof CliError || (err as { code?: unknown }).code === 'ERR_KEY_SOURCE' || (err as { code?: unknown }).code === 'ERR_KEYSET_INVALID') throw err;
      throw ioError(`secrets push failed: ${describeAwsError(err)}`);
    } finally {
      aws.close();
    }
    const format = kmsKeyId === undefined ? 'plain' : 'kms-v1';
    const kids = keys.list().map((k) => `${k.kid} (${k.role})`).join(', ');
    const how = kmsKeyId === undefined ? '' : ` (KMS-protected under ${kmsKeyId}; KMS Encrypt of ${encrypted.length} key${encrypted.length === 1 ? '' : 's'})`;
    const what =
      action === 'unchanged'
        ? `secret ${secretId} already holds this key set (version ${versionId}); nothing pushed`
        : `${action} secret ${secretId}: version ${versionId} is now AWSCURRENT${how}, primary "${keys.primaryKid}"; keys: ${kids}`;
    await write(io.stderr, `${what}\n`);
    if (flag(values, 'json')) await write(io.stdout, `${JSON.stringify({ secretId, versionId, action, primaryKid: keys.primaryKid, format, encrypted })}\n`);
    return EXIT.OK;
  },
};

const migrate: CommandSpec = {
  name: 'secrets migrate',
  summary: 'Convert a plain key set secret to the KMS-protected format in place, or re-wrap it under another KMS key (one new AWSCURRENT version).',
  usage: ['secrets migrate --secret-id ID --kms-key-id KEY [--region REGION] [--endpoint URL] [--kms-endpoint URL] [--profile NAME] [--json]'],
  description: [
    'Reads AWSCURRENT, encrypts each key with KMS (one Encrypt per key, context {"wireseal:secret", "wireseal:kid"}),',
    'decrypts the result once to prove it opens, then puts it as the new AWSCURRENT: the plain version becomes AWSPREVIOUS.',
    'Kids and roles are unchanged, so readers that read both formats (@wireseal/aws-secrets with a kmsClient, and this CLI)',
    'keep opening everything across the switch. Roll such readers out, with kms:Decrypt on the key, before migrating.',
    'AWSPREVIOUS still holds the keys in clear until the next put (any later rotation step, or --drop-plain).',
    'A secret already protected under KEY is left as it is; one protected under another KMS key is re-wrapped under KEY',
    '(one Decrypt and one Encrypt per key; readers need kms:Decrypt on both keys while AWSPREVIOUS holds the old one).',
  ].join('\n'),
  options: {
    'secret-id': { type: 'string', metavar: 'ID', help: 'Secret name (required)' },
    ...AWS_OPTIONS,
    ...KMS_OPTIONS,
    'drop-plain': { type: 'boolean', help: 'Put the protected set a second time, so AWSPREVIOUS no longer holds the keys in clear (only once every reader reads the protected format)' },
    json: { type: 'boolean', help: 'Print {"secretId","versionId","previousVersionId","action","kmsKeyId","kids"} on stdout' },
  },
  examples: ['wireseal secrets migrate --secret-id prod/wireseal --kms-key-id alias/wireseal'],
  async run({ values, io }) {
    const secretId = required(values, 'secret-id', 'secrets migrate');
    const kmsKeyId = required(values, 'kms-key-id', 'secrets migrate');
    const api = await kmsApi();
    const aws = await clients(values);
    let action: 'migrated' | 'rewrapped' | 'unchanged';
    let versionId: string | undefined;
    let previousVersionId: string | undefined;
    let kids: string[];
    try {
      const current = await readSecretVersion(aws.sm, secretId, 'AWSCURRENT');
      if (!current) throw usageError(`secret ${secretId} does not exist or has no AWSCURRENT value; create it with: wireseal secrets push --secret-id ${secretId} --keyset FILE --kms-key-id ${kmsKeyId}`);
      const stored = api.isProtectedKeySet(current.text) ? api.parseProtectedKeySet(current.text) : undefined;
      if (stored && stored.kmsKeyId === kmsKeyId) {
        kids = stored.keys.map((k) => k.kid);
        versionId = current.versionId;
        action = 'unchanged';
      } else {
        const kmsClient = await aws.kms();
        // A set protected under another KMS key is re-wrapped: one Decrypt (old key) and one Encrypt (new key) per key.
        const keys = KeySet.fromJwks(stored ? await api.unprotectKeySet(stored, { kmsClient, secretId: current.name }) : current.text);
        kids = keys.list().map((k) => k.kid);
        const out = await api.protectKeySet(keys.toJwks(), { kmsClient, kmsKeyId, secretId: current.name });
        // Prove the new version opens (and under this secret's name) before it becomes AWSCURRENT.
        const back = await api.unprotectKeySet(out, { kmsClient, secretId: current.name });
        if (!sameJwks(KeySet.fromJwks(back).toJwks(), keys.toJwks())) throw ioError(`secrets migrate: the protected set of ${secretId} did not decrypt to the same keys; nothing was put`);
        const text = JSON.stringify(out);
        previousVersionId = current.versionId;
        versionId = await putSecretText(aws.sm, secretId, text);
        if (flag(values, 'drop-plain')) {
          previousVersionId = versionId;
          versionId = await putSecretText(aws.sm, secretId, text);
        }
        action = stored ? 'rewrapped' : 'migrated';
      }
    } catch (err) {
      if (err instanceof CliError || (err as { code?: unknown }).code === 'ERR_KEY_SOURCE' || (err as { code?: unknown }).code === 'ERR_KEYSET_INVALID') throw err;
      throw ioError(`secrets migrate failed: ${describeAwsError(err)}`);
    } finally {
      aws.close();
    }
    await write(
      io.stderr,
      action === 'unchanged'
        ? `secret ${secretId} is already KMS-protected under ${kmsKeyId} (version ${versionId}); nothing put\n`
        : `${action} secret ${secretId}: version ${versionId} (KMS-protected under ${kmsKeyId}, keys: ${kids.join(', ')}) is now AWSCURRENT; ` +
            `version ${previousVersionId} is AWSPREVIOUS${
              flag(values, 'drop-plain') ? ' (under the new KMS key too)' : action === 'rewrapped' ? ' (under the old KMS key) until the next put' : ' and still holds the keys in clear until the next put'
            }\n`,
    );
    if (flag(values, 'json')) await write(io.stdout, `${JSON.stringify({ secretId, versionId, previousVersionId, action, kmsKeyId, kids })}\n`);
    return EXIT.OK;
  },
};

/** The secrets sub-commands. */
export const secretsCommands: CommandSpec[] = [push, migrate];
