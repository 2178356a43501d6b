/**
 * Asymmetric JWK validation lives in `@wireseal/core` (one home for key
 * sets: field audiences and these profiles share it); re-exported here for
 * the profiles.
 */
export { HPKE_ALG, RSA_MAX_BITS, RSA_MIN_BITS } from '@wireseal/core';
export type { AsymmetricKeyInfo, PublicJweAlg, PublicKeyAlg } from '@wireseal/core';
export { KID_RE, validateAsymmetricJwk } from '@wireseal/core/internal';
export type { AsymmetricEntry } from '@wireseal/core/internal';
