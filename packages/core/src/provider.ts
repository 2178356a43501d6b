/**
 * The key-provider contract: load and refresh asynchronously, hand out a
 * {@link KeySet} synchronously. Codecs accept a provider or a plain KeySet.
 */
import type { KeySourceHealth } from './health.ts';
import type { KeySet } from './keyset.ts';

/** A source of key sets that may refresh in the background. */
export interface KeyProvider {
  /** Resolves once a good key set is loaded; rejects with `ERR_KEY_SOURCE` if none can be had. */
  ready(): Promise<void>;
  /** The key set in force now. Synchronous; throws `ERR_KEY_SOURCE` when no usable key set is left. */
  current(): KeySet;
  /** Stops background refreshes and releases resources. */
  close(): Promise<void> | void;
  /** The source's health, for `/readyz` endpoints (every wireseal provider has it); no I/O, never key bytes. */
  health?(): KeySourceHealth;
}

/** A provider or a plain key set: what codecs take wherever they take keys. */
export type KeySource = KeyProvider | KeySet;

/** The key set in force for a {@link KeySource}. */
export function currentKeys(source: KeySource): KeySet {
  return 'current' in source && typeof source.current === 'function' ? source.current() : (source as KeySet);
}

/** A provider over a fixed key set (tests, one-off tools). */
export function staticKeyProvider(keys: KeySet): KeyProvider {
  return { ready: () => Promise.resolve(), current: () => keys, close: () => undefined };
}
