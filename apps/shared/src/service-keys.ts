/**
 * Where this service's keys come from, chosen by environment variables the way
 * a deployment would set them:
 * - `WIRESEAL_SECRET_ID`: AWS Secrets Manager (region, endpoint and credentials
 *   from the AWS SDK's usual sources, e.g. `AWS_REGION`, `AWS_ENDPOINT_URL`);
 * - `WIRESEAL_KEYSET_FILE`: a JWK Set file, re-read when it changes;
 * - `WIRESEAL_KEYSET`: the JWK Set itself.
 */
import { envKeyProvider, fileKeyProvider } from '@wireseal/core';
import type { KeyProvider } from '@wireseal/core';
import { secretsManagerKeyProvider } from '@wireseal/aws-secrets';

/** Receives key-source events: kids and codes, never key bytes. */
export type KeyEventLog = (event: Record<string, unknown>) => void;

/** The key provider named by the environment; throws when none is configured. */
export function keyProviderFromEnv(env: NodeJS.ProcessEnv = process.env, log: KeyEventLog = () => {}): KeyProvider {
  const secretId = env.WIRESEAL_SECRET_ID;
  if (secretId) {
    const refresh = Number(env.WIRESEAL_REFRESH_MS ?? 300_000);
    return secretsManagerKeyProvider({
      secretId,
      refreshIntervalMs: refresh,
      maxStaleMs: Math.max(3_600_000, refresh * 3),
      onError: (err, info) => log({ event: 'keys-error', source: 'secrets-manager', code: err.code, stage: info.stage, phase: info.phase, message: err.message }),
      onRefresh: (info) => { if (info.changed) log({ event: 'keys-loaded', source: 'secrets-manager', primaryKid: info.primaryKid, kids: info.kids }); },
    });
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
