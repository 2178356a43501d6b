/**
 * What an audience's keys can do: open its tokens (a shared key set, private
 * keys) or only seal them (public keys), and which kid seals new tokens.
 * Kept apart from the key loading, so worker threads import only this.
 */
import { KeySet, PrivateKeySet } from '@wireseal/core';
import type { AudienceKeySet } from '@wireseal/core';

/** What an audience's key file holds: a shared JWK Set, a public JWK Set, or a private JWK Set. */
export type AudienceKind = 'keyset' | 'public' | 'private';

/** True when the keys open tokens (a shared key set or private keys); public keys only seal. */
export function canOpen(keys: AudienceKeySet | undefined): boolean {
  return keys instanceof KeySet || keys instanceof PrivateKeySet;
}

/** The kid new field tokens of an audience are sealed under: the primary, or the first field-capable public key. */
export function sealingKid(keys: AudienceKeySet | undefined): string | undefined {
  if (keys === undefined) return undefined;
  if (keys instanceof KeySet) return keys.primaryKid;
  return keys.list().find((k) => k.algs.includes('RSA-OAEP-256') || k.algs.includes('ECDH-ES+A256KW'))?.kid;
}

/** The kind of an audience's keys. */
export function kindOf(keys: AudienceKeySet): AudienceKind {
  return keys instanceof KeySet ? 'keyset' : keys instanceof PrivateKeySet ? 'private' : 'public';
}
