/**
 * @wireseal/aws-secrets: a wireseal key provider that loads and refreshes a
 * JWK Set kept in AWS Secrets Manager.
 *
 * @module
 */
export { secretsManagerKeyProvider } from './provider.ts';
export type {
  SecretsManagerKeyProvider,
  SecretsManagerKeyProviderOptions,
  SecretsManagerRefreshInfo,
  SecretsManagerErrorInfo,
  SecretsManagerProviderStatus,
} from './provider.ts';
export type { SecretsManagerClientLike, VersionStage } from './secret.ts';
