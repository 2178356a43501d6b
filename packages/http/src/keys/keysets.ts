/**
 * `PublicKeySet` and `PrivateKeySet` live in `@wireseal/core` (one home for
 * key sets); `@wireseal/http` re-exports them.
 */
export { PrivateKeySet, PublicKeySet } from '@wireseal/core';
export type { GenerateKeyOptions, JwksInput } from '@wireseal/core';
