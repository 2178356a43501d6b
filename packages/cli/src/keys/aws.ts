/**
 * AWS Secrets Manager for the CLI: client configuration that follows the AWS
 * SDK conventions (`--region`/`AWS_REGION`, `--endpoint`/`AWS_ENDPOINT_URL`,
 * `--profile`/`AWS_PROFILE`, credentials from the default chain), and error
 * descriptions that never quote a secret. The SDK is loaded on first use.
 */
import type { SecretsManagerClient, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { OptionSpec, Values } from '../args.ts';
import { str } from '../args.ts';

/** `--region`, `--endpoint`, `--profile`. */
export const AWS_OPTIONS: Record<string, OptionSpec> = {
  region: { type: 'string', metavar: 'REGION', help: 'AWS region (default: AWS_REGION / the profile)' },
  endpoint: { type: 'string', metavar: 'URL', help: 'Secrets Manager endpoint URL (default: AWS_ENDPOINT_URL or the AWS one)' },
  profile: { type: 'string', metavar: 'NAME', help: 'AWS shared-config profile (default: AWS_PROFILE)' },
};

/** The SDK client config the AWS options ask for; unset options stay with the SDK's defaults. */
export function awsClientConfig(values: Values): SecretsManagerClientConfig {
  const config: SecretsManagerClientConfig = {};
  const region = str(values, 'region');
  const endpoint = str(values, 'endpoint');
  const profile = str(values, 'profile');
  if (region) config.region = region;
  if (endpoint) config.endpoint = endpoint;
  if (profile) config.profile = profile;
  return config;
}

/**
 * Creates a SecretsManagerClient (loading the SDK now) and resolves its
 * region, so a missing region is reported as such rather than as a failed call.
 * @throws Error whose message says how to give a region
 */
export async function createSecretsClient(config: SecretsManagerClientConfig): Promise<SecretsManagerClient> {
  const sdk = await import('@aws-sdk/client-secrets-manager');
  const client = new sdk.SecretsManagerClient(config);
  try {
    await client.config.region();
  } catch {
    client.destroy();
    throw new Error('no AWS region: pass --region, set AWS_REGION, or use a profile that has one');
  }
  return client;
}

/**
 * A description of an SDK failure that is safe to print: the error's name,
 * HTTP status and, for service and network errors, their message (never a
 * response body that failed to parse).
 */
export function describeAwsError(err: unknown): string {
  if (err === null || typeof err !== 'object') return String(typeof err);
  const e = err as { name?: unknown; message?: unknown; code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const parts = [name];
  if (typeof e.$metadata?.httpStatusCode === 'number') parts.push(`HTTP ${e.$metadata.httpStatusCode}`);
  const service = e.$fault === 'client' || e.$fault === 'server';
  const system = typeof e.code === 'string' && /^E[A-Z0-9_]+$/.test(e.code);
  const config = typeof e.message === 'string' && /^Region is missing/.test(e.message);
  if ((service || system || config) && typeof e.message === 'string') parts.push(e.message.slice(0, 300));
  return parts.join(': ');
}
