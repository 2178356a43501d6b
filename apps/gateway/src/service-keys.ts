/**
 * "One service = one key": the gateway holds a key store (a JWK Set from a
 * file or Secrets Manager) and gives each service a view of it that contains
 * only the service's key, as primary, plus the decrypt-only keys it still
 * accepts during a key change. The view follows the store: when the store's
 * provider loads a new set, the next request gets a view of that. A service
 * whose policy has audiences gets a keyring of such views, one per audience.
 */
import { KeySet, currentKeys } from '@wireseal/core';
import type { KeyProvider, KeySource, Keyring, OctJwk } from '@wireseal/core';
import { KeySourceError } from '@wireseal/core/errors';

const views = new WeakMap<KeySet, Map<string, KeySet>>();

/**
 * A key set holding only `keyId` (as primary) and `acceptKeyIds` (decrypt-only) from `store`.
 * @throws KeySourceError when the store does not hold one of them (e.g. removed by a rotation)
 */
export function keyView(store: KeySet, keyId: string, acceptKeyIds: readonly string[] = []): KeySet {
  const cacheKey = [keyId, ...acceptKeyIds].join('\n');
  let byId = views.get(store);
  const hit = byId?.get(cacheKey);
  if (hit) return hit;
  const jwks = store.toJwks().keys;
  const find = (kid: string): OctJwk => {
    const jwk = jwks.find((k) => k.kid === kid);
    if (!jwk) throw new KeySourceError(`the gateway key store no longer holds a key the configuration names`);
    return jwk;
  };
  const keys: OctJwk[] = [{ ...find(keyId), key_ops: ['encrypt', 'decrypt'] }];
  for (const kid of acceptKeyIds) if (kid !== keyId) keys.push({ ...find(kid), key_ops: ['decrypt'] });
  const view = KeySet.fromJwks({ keys });
  if (!byId) views.set(store, (byId = new Map()));
  byId.set(cacheKey, view);
  return view;
}

/** A provider whose `current()` is the service's view of the store's current key set. */
export function serviceKeyProvider(store: KeySource, keyId: string, acceptKeyIds: readonly string[] = []): KeyProvider {
  return {
    ready: () => Promise.resolve(),
    current: () => keyView(currentKeys(store), keyId, acceptKeyIds),
    close: () => undefined,
  };
}

/** A keyring of {@link serviceKeyProvider}s: each audience sees only its own key (and the ones it still accepts). */
export function serviceKeyring(store: KeySource, keyring: Readonly<Record<string, { keyId: string; acceptKeyIds: readonly string[] }>>): Keyring {
  return Object.freeze(Object.fromEntries(Object.entries(keyring).map(([audience, ref]) => [audience, serviceKeyProvider(store, ref.keyId, ref.acceptKeyIds)])));
}
