/**
 * `wireseal secrets push`: store a JWK Set file in Secrets Manager as the new
 * AWSCURRENT version (creating the secret if needed). The previous version
 * becomes AWSPREVIOUS, whose keys readers keep as decrypt-only.
 */
import { KeySet } from '@wireseal/core';
import type { CommandSpec } from '../args.ts';
import { flag, required, str } from '../args.ts';
import { CliError, EXIT, ioError, usageError } from '../errors.ts';
import { write } from '../io.ts';
import { AWS_OPTIONS, awsClientConfig, createSecretsClient, describeAwsError } from '../keys/aws.ts';
import { readKeySetFile } from '../keys/source.ts';

const isNotFound = (err: unknown): boolean => (err as { name?: unknown } | null)?.name === 'ResourceNotFoundException';

const push: CommandSpec = {
  name: 'secrets push',
  summary: 'Create or update a Secrets Manager secret with a JWK Set file, as a new AWSCURRENT version.',
  usage: ['secrets push --secret-id ID --keyset FILE [--region REGION] [--endpoint URL] [--profile NAME] [--description TEXT] [--kms-key-id ID] [--force]'],
  description: [
    'The file is validated first. Nothing is written when AWSCURRENT already holds the same key set.',
    'No-downtime guard: the new primary must already be in AWSCURRENT (add it decrypt-only, push, let readers',
    'refresh, then promote and push again); --force skips that check. Key bytes are never printed.',
  ].join('\n'),
  options: {
    'secret-id': { type: 'string', metavar: 'ID', help: 'Secret name or ARN (required)' },
    keyset: { type: 'string', metavar: 'FILE', help: 'JWK Set file to push (required)' },
    ...AWS_OPTIONS,
    description: { type: 'string', metavar: 'TEXT', help: 'Description, when the secret is created' },
    'kms-key-id': { type: 'string', metavar: 'ID', help: 'KMS key for the secret, when it is created' },
    force: { type: 'boolean', short: 'f', help: 'Push even if the new primary is not in the current version' },
    json: { type: 'boolean', help: 'Print {"secretId","versionId","action","primaryKid"} on stdout' },
  },
  examples: ['wireseal secrets push --secret-id prod/wireseal --keyset keys.json --region eu-west-1'],
  async run({ values, io }) {
    const secretId = required(values, 'secret-id', 'secrets push');
    const file = required(values, 'keyset', 'secrets push');
    const keys = await readKeySetFile(file);
    const text = JSON.stringify(keys.toJwks());
    const sdk = await import('@aws-sdk/client-secrets-manager');
    const client = await createSecretsClient(awsClientConfig(values)).catch((err: unknown) => {
      throw usageError((err as Error).message);
    });
    let action: 'created' | 'updated' | 'unchanged' = 'unchanged';
    let versionId: string | undefined;
    try {
      let current: KeySet | undefined;
      let currentText: string | undefined;
      let exists = true;
      try {
        const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }));
        currentText = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
        versionId = out.VersionId;
        try {
          current = currentText === undefined ? undefined : KeySet.fromJwks(currentText);
        } catch {
          current = undefined; // an invalid current version is replaced; nothing to compare with
        }
      } catch (err) {
        if (!isNotFound(err)) throw ioError(`cannot read secret ${secretId}: ${describeAwsError(err)}`);
        exists = false;
      }
      if (current && JSON.stringify(current.toJwks()) === text) {
        action = 'unchanged';
      } else {
        if (current && !current.has(keys.primaryKid) && !flag(values, 'force')) {
          throw usageError(
            `refusing to push: the new primary "${keys.primaryKid}" is not in the current version of ${secretId}, so readers could not open what it seals until they refresh. ` +
              `Push the set with "${keys.primaryKid}" decrypt-only first, let readers refresh, then promote it and push again (or pass --force)`,
          );
        }
        const put = async (): Promise<void> => {
          try {
            const out = await client.send(new sdk.PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
            versionId = out.VersionId;
            action = 'updated';
          } catch (err) {
            throw ioError(`cannot update secret ${secretId}: ${describeAwsError(err)}`);
          }
        };
        if (exists) {
          await put();
        } else {
          const description = str(values, 'description');
          const kmsKeyId = str(values, 'kms-key-id');
          try {
            const out = await client.send(
              new sdk.CreateSecretCommand({
                Name: secretId,
                SecretString: text,
                ...(description !== undefined ? { Description: description } : {}),
                ...(kmsKeyId !== undefined ? { KmsKeyId: kmsKeyId } : {}),
              }),
            );
            versionId = out.VersionId;
            action = 'created';
          } catch (err) {
            // The secret exists without an AWSCURRENT value (created empty): give it one.
            if ((err as { name?: unknown }).name === 'ResourceExistsException') await put();
            else throw ioError(`cannot create secret ${secretId}: ${describeAwsError(err)}`);
          }
        }
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw ioError(`secrets push failed: ${describeAwsError(err)}`);
    } finally {
      client.destroy();
    }
    const kids = keys.list().map((k) => `${k.kid} (${k.role})`).join(', ');
    const what =
      action === 'unchanged'
        ? `secret ${secretId} already holds this key set (version ${versionId}); nothing pushed`
        : `${action} secret ${secretId}: version ${versionId} is now AWSCURRENT, primary "${keys.primaryKid}"; keys: ${kids}`;
    await write(io.stderr, `${what}\n`);
    if (flag(values, 'json')) await write(io.stdout, `${JSON.stringify({ secretId, versionId, action, primaryKid: keys.primaryKid })}\n`);
    return EXIT.OK;
  },
};

/** The secrets sub-commands. */
export const secretsCommands: CommandSpec[] = [push];
