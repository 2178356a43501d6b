/**
 * @wireseal/aws-secrets: a wireseal key provider that loads and refreshes a
 * JWK Set kept in AWS Secrets Manager, and a keyring of such providers, one
 * secret per audience.
 *
 * @module
 */
export { secretsManagerKeyProvider } from './provider.ts';
export type {
  SecretsManagerKeyProvider,
  SecretsManagerProvider,
  SecretsManagerKeyProviderOptions,
  SecretsManagerRefreshInfo,
  SecretsManagerErrorInfo,
  SecretsManagerProviderStatus,
  SecretsManagerHealth,
} from './provider.ts';
export { secretsManagerKeyring } from './keyring.ts';
export type {
  SecretsManagerKeyring,
  SecretsManagerKeyringOptions,
  SecretsManagerKeyringProviders,
  SecretsManagerKeyringStatus,
  SecretsManagerAudiences,
  SecretsManagerAudienceOptions,
  SecretsManagerAudienceStatus,
  SecretsManagerAudienceErrorInfo,
  SecretsManagerAudienceRefreshInfo,
  SecretsManagerSharedOptions,
  AudienceKindOf,
  AudienceSetOf,
} from './keyring.ts';
export { observeKeySource } from './metrics.ts';
export type { ObservableKeySource, ObserveKeySourceOptions, KeySourceObservation } from './metrics.ts';
export type { SecretsManagerClientLike, SecretKind, SecretKindSets, VersionStage } from './secret.ts';
export { protectKeySet, unprotectKeySet, isProtectedKeySet, parseProtectedKeySet, PROTECTED_FORMAT } from './kms.ts';
export { KeySourceFailure, failureReasonOf } from './errors.ts';
export type { KeySourceFailureReason } from './errors.ts';
export type { KmsClientLike, ProtectedKeySet, ProtectedJwk, ProtectKeySetOptions, UnprotectKeySetOptions } from './kms.ts';
