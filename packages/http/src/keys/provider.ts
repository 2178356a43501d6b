/**
 * Providers for asymmetric key sets: load a JWK Set from anywhere (a file,
 * AWS Secrets Manager, an internal endpoint), validate it, refresh it in the
 * background and hand it out synchronously. The same contract as the core's
 * `KeyProvider` (`ready` / `current` / `close`), typed by the set it holds.
 *
 * A refresh that fails (unreadable, invalid JSON, a key that fails
 * validation) keeps the last good set in force and is reported through
 * `onError`, never with key material.
 */
import type * as NodeFs from 'node:fs';
import { refreshingProvider } from '@wireseal/core';
import type { KeySourceHealth } from '@wireseal/core';
import { KeySourceError, WiresealError } from '@wireseal/core/errors';
import { nodeBuiltin } from '@wireseal/core/internal';
import type { JwksInput } from './keysets.ts';

/** A source of an asymmetric key set; the same shape as the core's `KeyProvider`. */
export interface AsymmetricKeyProvider<T> {
  /** Resolves once a valid set is loaded; rejects with `ERR_KEY_SOURCE` (cause: `ERR_KEYSET_INVALID` when the content is the problem). */
  ready(): Promise<void>;
  /** The set in force. Synchronous; throws `ERR_KEY_SOURCE` before `ready()`, after `close()`, or when older than `maxStaleMs`. */
  current(): T;
  /** Stops background refreshes. */
  close(): Promise<void> | void;
}

/** A set, or a provider of one: what the public-key profiles take wherever they take keys. */
export type AsymmetricKeySource<T> = T | AsymmetricKeyProvider<T>;

/** The set in force for a source. */
export function currentSet<T>(source: AsymmetricKeySource<T>): T {
  const p = source as Partial<AsymmetricKeyProvider<T>>;
  return typeof p.current === 'function' && typeof p.ready === 'function' ? p.current() : (source as T);
}

/** What a provider reports when it loads a set: kids, never key material. */
export interface JwksLoadInfo {
  /** The provider's `source` label. */
  source: string;
  /** Every kid, in set order. */
  kids: string[];
  /** True when the kids differ from the set in force before. */
  changed: boolean;
}

/** Options for {@link jwksProvider}. */
export interface JwksProviderOptions<T extends { readonly kids: string[] }> {
  /**
   * Reads the JWK Set: JSON text, UTF-8 bytes or an object. Examples:
   * `() => readFile(path, 'utf8')`;
   * `async () => (await sm.send(new GetSecretValueCommand({ SecretId }))).SecretString ?? ''`.
   */
  read: () => Promise<JwksInput>;
  /** Validates it: `PrivateKeySet.fromJwks` (key pairs) or `PublicKeySet.fromJwks` (public keys). */
  parse: (jwks: JwksInput) => T;
  /** Names the source in messages and hooks (a path, a secret id): never a secret. */
  source: string;
  /** Time between background refreshes in ms. Default 300000 (5 min); 0 turns refreshing off. */
  refreshIntervalMs?: number;
  /** How long the last good set stays usable without a successful refresh. Default: no limit. */
  maxStaleMs?: number;
  /** Every failed load or refresh (once per distinct failure in a row); the last good set stays in force. */
  onError?: (err: WiresealError, info: { source: string; phase: 'startup' | 'refresh' }) => void;
  /** Every successful load or refresh. */
  onReload?: (info: JwksLoadInfo) => void;
  /** Clock in ms (tests). Default `Date.now`. */
  now?: () => number;
}

/** A provider that can also be asked to refresh now. */
export interface RefreshingJwksProvider<T> extends AsymmetricKeyProvider<T> {
  /** Reads and validates the set now; rejects with `ERR_KEY_SOURCE` (the last good set stays in force). */
  refresh(): Promise<void>;
  /**
   * Core's {@link KeySourceHealth} (`state`, `ready`, `stale`, the last success
   * and failure, `source`: the `source` option), as every wireseal provider
   * reports it. For `/readyz` endpoints; no I/O, never key bytes.
   */
  health(): KeySourceHealth;
}

/**
 * A provider over any JWK Set source, validated on every load and refreshed
 * in the background (timer `unref()`'d): a `load` over core's
 * `refreshingProvider` (one load in flight, the last good set through failed
 * refreshes, `maxStaleMs`).
 * @example
 * const serverKeys = jwksProvider({
 *   source: 'secret prod/partner-api/server-keys',
 *   read: async () => (await sm.send(new GetSecretValueCommand({ SecretId: 'prod/partner-api/server-keys' }))).SecretString ?? '',
 *   parse: PrivateKeySet.fromJwks,
 * });
 * await serverKeys.ready(); // rejects with ERR_KEY_SOURCE (cause ERR_KEYSET_INVALID) for a bad key
 */
export function jwksProvider<T extends { readonly kids: string[] }>(options: JwksProviderOptions<T>): RefreshingJwksProvider<T> {
  const { source } = options;
  const interval = options.refreshIntervalMs ?? 300_000;
  if (!(interval >= 0)) throw new KeySourceError(`jwksProvider ${source}: refreshIntervalMs must be >= 0`);
  let lastFailure: string | undefined;
  const provider = refreshingProvider<T>({
    source,
    intervalMs: interval,
    maxStaleMs: options.maxStaleMs,
    now: options.now,
    async load() {
      let raw: JwksInput;
      try {
        raw = await options.read();
      } catch (err) {
        const code = (err as { code?: unknown; name?: unknown }).code ?? (err as { name?: unknown }).name;
        throw new KeySourceError(`cannot read key set from ${source}${typeof code === 'string' ? ` (${code})` : ''}`);
      }
      try {
        return options.parse(raw);
      } catch (err) {
        if (err instanceof WiresealError) throw new KeySourceError(`${source} does not hold a valid key set: ${err.message}`, { cause: err });
        throw new KeySourceError(`${source} does not hold a valid key set`);
      }
    },
    onLoad(next, previous) {
      lastFailure = undefined;
      const changed = !previous || previous.kids.join('\u0000') !== next.kids.join('\u0000');
      return options.onReload?.({ source, kids: next.kids, changed });
    },
    onError(err, { value }) {
      if (err.message === lastFailure) return; // once per distinct failure in a row
      lastFailure = err.message;
      return options.onError?.(err, { source, phase: value ? 'refresh' : 'startup' });
    },
  });
  return { ready: provider.ready, current: provider.current, refresh: provider.refresh, health: provider.health, close: () => void provider.close() };
}

/**
 * Reads a JWK Set file (for {@link jwksProvider}'s `read`): write the file
 * atomically (write elsewhere, then rename) so no reader sees half of it.
 * @example
 * const clients = jwksProvider({ source: 'clients.json', read: jwksFile('clients.json'), parse: PublicKeySet.fromJwks, refreshIntervalMs: 10_000 });
 */
export function jwksFile(path: string | URL): () => Promise<string> {
  return async () => {
    const fs = nodeBuiltin<typeof NodeFs>('node:fs');
    if (!fs) throw new KeySourceError('jwksFile needs node:fs');
    return fs.promises.readFile(path, 'utf8');
  };
}
