/** Test helpers: a real Secrets Manager API (moto) and an SDK client that counts GetSecretValue calls. */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsClientConfig, SecretsManagerHandle } from '@wireseal-tooling/local-secrets';
import { startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { Jwks } from '@wireseal/core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { WiresealError } from '@wireseal/core/errors';
import { caught as caughtError } from '@wireseal-tooling/vitest-config/errors';

/** A client that counts GetSecretValue HTTP attempts (at the SDK's deserialize step: once per attempt). */
export function countingClient(config: AwsClientConfig & { maxAttempts?: number }): { client: SecretsManagerClient; gets: () => number } {
  const client = new SecretsManagerClient(config);
  let gets = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetSecretValueCommand') gets++;
      return next(args);
    },
    { step: 'deserialize', name: 'countGetSecretValue' },
  );
  return { client, gets: () => gets };
}

/** A unique secret name per test. */
export const secretName = (): string => `wireseal/test/${randomUUID()}`;

/** Creates the secret with `content` (a key set, or any string for bad-content tests). */
export async function createSecret(client: SecretsManagerClient, name: string, content: Jwks | string | Uint8Array): Promise<string> {
  const body = content instanceof Uint8Array ? { SecretBinary: content } : { SecretString: typeof content === 'string' ? content : JSON.stringify(content) };
  const out = await client.send(new CreateSecretCommand({ Name: name, ...body }));
  return out.VersionId!;
}

/** Puts a new AWSCURRENT version (the old one becomes AWSPREVIOUS), as a rotation does. */
export async function putSecret(client: SecretsManagerClient, name: string, content: Jwks | string): Promise<string> {
  const out = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: typeof content === 'string' ? content : JSON.stringify(content) }));
  return out.VersionId!;
}

/** Asserts that no `k` of the given sets, nor any 16-character substring of one, occurs in what was reported. */
export function expectNoKeyBytes(reported: unknown[], ...sets: Array<{ keys: Array<{ k: string }> }>): void {
  const haystack = reported
    .map((r) => {
      let json = '';
      try {
        json = JSON.stringify(r) ?? '';
      } catch {
        /* cyclic: inspect covers it */
      }
      const stack = r instanceof Error ? String(r.stack) : '';
      return `${inspect(r, { depth: 20, showHidden: true })}\n${json}\n${stack}`;
    })
    .join('\n');
  for (const set of sets) {
    for (const { k } of set.keys) {
      for (let i = 0; i + 16 <= k.length; i++) expect(haystack).not.toContain(k.slice(i, i + 16));
    }
  }
}

/** A JWK Set whose only key is a primary of `bytes` bytes (16: AES-128, invalid for wireseal). */
export function jwksWithKeyOf(bytes: number, kid: string): Jwks {
  const k = Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 37 + 11) & 255)).toString('base64url');
  return { keys: [{ kty: 'oct', kid, k, key_ops: ['encrypt', 'decrypt'] }] };
}

/** Waits `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rejects (or throws) with a WiresealError: returns it for code assertions. */
export const caught = (fn: () => unknown): Promise<WiresealError> => caughtError<WiresealError>(fn);

/** The code a synchronous call throws with, or undefined. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

/**
 * A Secrets Manager emulator (moto) for a test file: started before its tests, stopped
 * after them; what a test hands to `track` (providers, keyrings) is closed after it.
 */
export function secretsManagerSuite<T extends { close(): unknown }>(): { readonly sm: SecretsManagerHandle; track(x: T): T } {
  let sm: SecretsManagerHandle | undefined;
  const open: T[] = [];
  beforeAll(async () => {
    sm = await startSecretsManager();
  });
  afterAll(async () => {
    await sm?.stop();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close()));
  });
  return {
    get sm(): SecretsManagerHandle {
      if (sm === undefined) throw new Error('the Secrets Manager emulator is not started yet (use it inside a test or hook)');
      return sm;
    },
    track(x: T): T {
      open.push(x);
      return x;
    },
  };
}
