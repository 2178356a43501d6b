/**
 * The `retired` mark: a JWK member `wireseal_retired` (an ISO 8601 time) on a
 * decrypt-only key, meaning "being phased out: re-encrypt what it sealed, then
 * remove it". JOSE libraries ignore unknown JWK members (RFC 7517 §4), and the
 * core keeps them, so a retired key still opens everything it sealed.
 */
import type { Jwks, OctJwk } from '@wireseal/core';

/** The JWK member that marks a retired key. */
export const RETIRED_MEMBER = 'wireseal_retired';

/** When the key was retired, or undefined if it is not. */
export function retiredAt(jwk: OctJwk): string | undefined {
  const v = jwk[RETIRED_MEMBER];
  return typeof v === 'string' ? v : undefined;
}

/** A copy of `jwks` with the key `kid` marked retired (or un-marked). */
export function markRetired(jwks: Jwks, kid: string, at: string | undefined): Jwks {
  return {
    keys: jwks.keys.map((k) => {
      if (k.kid !== kid) return k;
      const copy: OctJwk = { ...k };
      delete copy[RETIRED_MEMBER];
      if (at !== undefined) copy[RETIRED_MEMBER] = at;
      return copy;
    }),
  };
}
