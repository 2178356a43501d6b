/**
 * @wireseal/core: key sets, the token format (seal/open), engines, field
 * policies, key providers. No network; runs in Node, browsers and edge runtimes.
 *
 * @module
 */
export { KeySet } from './keyset.ts';
export type { Jwks, OctJwk, KeyInfo, KeyRole, GenerateOptions } from './keyset.ts';
export { seal, open, openToken, decodeProtectedHeader, DEFAULT_LIMITS } from './compact.ts';
export type { SealOptions, OpenOptions, OpenedToken } from './compact.ts';
export { sealParts, openParts, partsToCompact, compactToParts } from './parts.ts';
export type { TokenParts } from './parts.ts';
export type { ProtectedHeader, SymmetricAlg } from './token/header.ts';
export { DEFAULT_CONTENT_KEY_REUSE, READER_CACHE_PER_KEY } from './token/reuse.ts';
export type { ContentKeyReuse, ContentKeyReuseOption } from './token/reuse.ts';
export { contextDigest } from './context.ts';
export type { Context } from './context.ts';
export { getEngine } from './engine.ts';
export type { Engine, EngineName } from './engine.ts';
export { currentKeys, staticKeyProvider } from './provider.ts';
export type { KeyProvider, KeySource } from './provider.ts';
export { WiresealError } from './errors.ts';
export type { WiresealErrorCode } from './errors.ts';
export { FieldPolicy, DEFAULT_AUDIENCE } from './policy.ts';
export type { FieldPath, FieldPolicyJson, PolicyLimits, PathStep } from './policy.ts';
export { encryptFields, encryptFieldsWithReport, decryptFields } from './fields.ts';
export type {
  JsonValue,
  DocumentLimits,
  EncryptFieldsOptions,
  DecryptFieldsOptions,
  DecryptFieldsResult,
  EncryptFieldsResult,
  DecryptMode,
  LegacyFieldReader,
  AudienceKeys,
  AudienceKeySet,
  AudienceKeyProvider,
  FieldKeys,
  Keyring,
} from './fields.ts';
export { PrivateKeySet, PublicKeySet } from './asymmetric/keysets.ts';
export type { JwksInput, GenerateKeyOptions } from './asymmetric/keysets.ts';
export { HPKE_ALG, RSA_MIN_BITS, RSA_MAX_BITS } from './asymmetric/jwk.ts';
export type { AsymmetricKeyInfo, PublicKeyAlg, PublicJweAlg } from './asymmetric/jwk.ts';
export { policyLocations, looksLikeToken } from './locations.ts';
export type { PolicyLocation, PolicyMisfit } from './locations.ts';
export { envKeyProvider, fileKeyProvider } from './providers.ts';
export type { EnvKeyProviderOptions, FileKeyProviderOptions, FileKeyProvider, KeySetLoadInfo, KeySourceErrorInfo } from './providers.ts';
export { refreshingProvider } from './refreshing.ts';
export type { RefreshingProvider, RefreshingProviderOptions, RefreshingLoadContext, RefreshingStatus } from './refreshing.ts';
export { combineHealth, healthFromStatus, healthOf } from './health.ts';
export type { KeySourceHealth, KeySourceState, CombinedKeySourceHealth, HealthStatusInput } from './health.ts';
