/**
 * Bounded data-key reuse, both sides (the AWS Encryption SDK's caching
 * materials manager is the model: max age, max messages, max bytes).
 *
 * Writer: with `reuseContentKey` set, one content key (and its encrypted key,
 * and for public-key audiences its `epk`) serves the tokens of many
 * documents under one key, until it has sealed `maxTokens` tokens or
 * `maxBytes` bytes (both checked before each token), or is `maxAgeMs` old
 * (checked when a document starts), whichever comes first. Every token
 * keeps its own random 96-bit IV and stays a standalone JWE.
 *
 * Reader: unwrapped content keys are kept per key entry, by encrypted key, in
 * a bounded map (always on: a reader that can unwrap gains nothing it could
 * not compute, and saves one unwrap per token).
 *
 * Both are keyed by the key entry object. A promoted key is a different
 * entry, so the next document uses a fresh content key under it; a key set
 * reloaded by a refresh has new entries, so a retired key's cached content
 * keys are unreachable (and collected) from that refresh on.
 *
 * The IV arithmetic (docs/format.md §4.4): q random 96-bit IVs under one key
 * collide with probability at most q(q-1)/2^97. The default `maxTokens` of
 * 2^24 gives at most 2^-49, under the 2^-40 bound we hold ourselves to (which
 * allows up to 2^28.5 tokens); NIST SP 800-38D's limit for random IVs is 2^32
 * invocations at 2^-32.
 */
import type { AsymmetricEntry } from '../asymmetric/jwk.ts';
import { encode } from '../base64url.ts';
import type { Engine } from '../engine.ts';
import { engineInternals } from '../engine.ts';
import { ArgumentInvalidError } from '../errors.ts';
import type { KeyEntry } from '../keyset.ts';
import type { EncodedHeader } from './header.ts';
import { markReusable } from './fast.ts';
import type { Epk } from './public-key.ts';

/** Bounds on one reused content key; a fresh key is made when any is reached. */
export interface ContentKeyReuse {
  /** Tokens sealed under one content key. Default 2^24 (16,777,216); at most 2^28. */
  maxTokens?: number;
  /** Milliseconds a content key is used for, from its first token. Default 300,000 (5 minutes). */
  maxAgeMs?: number;
  /** Plaintext bytes sealed under one content key (field text counted at 3 bytes per UTF-16 unit). Default 2^36 (64 GiB). */
  maxBytes?: number;
}

/** `true` for the default bounds, an object for chosen ones, `false` or absent for a fresh content key per document. */
export type ContentKeyReuseOption = boolean | ContentKeyReuse;

/** @internal Resolved bounds. */
export interface ReuseBounds {
  readonly maxTokens: number;
  readonly maxAgeMs: number;
  readonly maxBytes: number;
}

/** The default bounds of {@link ContentKeyReuse}. */
export const DEFAULT_CONTENT_KEY_REUSE: Readonly<Required<ContentKeyReuse>> = Object.freeze({
  maxTokens: 2 ** 24,
  maxAgeMs: 300_000,
  maxBytes: 2 ** 36,
});

/** 2^28 tokens: q(q-1)/2^97 stays under 2^-41. */
const MAX_TOKENS = 2 ** 28;

const resolved = new WeakMap<ContentKeyReuse, ReuseBounds>();
const DEFAULT_BOUNDS: ReuseBounds = DEFAULT_CONTENT_KEY_REUSE;

/**
 * @internal The bounds for an option, or undefined when reuse is off.
 * @throws ArgumentInvalidError `ERR_ARGUMENT_INVALID` for a bound that is not a positive integer, or over 2^28 tokens
 */
export function reuseBounds(option: ContentKeyReuseOption | undefined): ReuseBounds | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return DEFAULT_BOUNDS;
  if (option === null || typeof option !== 'object') throw new ArgumentInvalidError('reuseContentKey must be true, false or { maxTokens, maxAgeMs, maxBytes }');
  const hit = resolved.get(option);
  if (hit) return hit;
  const pick = (name: keyof ContentKeyReuse): number => {
    const v = option[name] ?? DEFAULT_CONTENT_KEY_REUSE[name];
    if (!Number.isSafeInteger(v) || v < 1) throw new ArgumentInvalidError(`reuseContentKey.${name} must be a positive integer (got ${String(v)})`);
    return v;
  };
  const bounds: ReuseBounds = Object.freeze({ maxTokens: pick('maxTokens'), maxAgeMs: pick('maxAgeMs'), maxBytes: pick('maxBytes') });
  if (bounds.maxTokens > MAX_TOKENS) {
    throw new ArgumentInvalidError(`reuseContentKey.maxTokens is at most 2^28 (${MAX_TOKENS}): past that, random 96-bit IVs under one key collide with probability over 2^-41`);
  }
  resolved.set(option, bounds);
  return bounds;
}

/** @internal A content key in use: what sealing needs, and what it has sealed so far. */
export interface HeldContentKey {
  readonly cek: Uint8Array;
  /** The encrypted key, base64url (compact tokens). */
  readonly ek: string;
  /** The encrypted key, bytes (tokens in parts). */
  readonly ekBytes: Uint8Array;
  /** The ephemeral public key of an ECDH-ES content key. */
  readonly epk: Epk | undefined;
  /** Headers made for this content key (public-key audiences: they carry its `epk`), by path and wsc. */
  readonly headers: Map<string, EncodedHeader>;
  readonly born: number;
  tokens: number;
  bytes: number;
}

const sharedHeld = new WeakMap<KeyEntry, HeldContentKey>();
const publicHeld = new WeakMap<AsymmetricEntry, HeldContentKey>();

function fresh(held: HeldContentKey | undefined, bounds: ReuseBounds, now: number): held is HeldContentKey {
  return held !== undefined && held.tokens < bounds.maxTokens && held.bytes < bounds.maxBytes && now - held.born < bounds.maxAgeMs && now >= held.born;
}

/**
 * @internal The content key to seal under `entry`'s key with: the held one
 * while it is within `bounds`, else one made by `make` (and held, when
 * `bounds` is set). Without bounds, always a new one, never held.
 */
export function contentKeyFor<E extends KeyEntry | AsymmetricEntry>(
  engine: Engine,
  entry: E,
  bounds: ReuseBounds | undefined,
  make: () => { cek: Uint8Array; ek: string | Uint8Array; epk?: Epk | undefined },
): HeldContentKey {
  const now = bounds === undefined ? 0 : Date.now();
  const store = (isShared(entry) ? sharedHeld : publicHeld) as WeakMap<E, HeldContentKey>;
  if (bounds !== undefined) {
    const held = store.get(entry);
    if (fresh(held, bounds, now)) return held;
  }
  const made = make();
  const held: HeldContentKey = {
    cek: made.cek,
    ek: typeof made.ek === 'string' ? made.ek : encode(made.ek),
    ekBytes: typeof made.ek === 'string' ? EMPTY : made.ek,
    epk: made.epk,
    headers: new Map(),
    born: now,
    tokens: 0,
    bytes: 0,
  };
  if (bounds !== undefined) {
    store.set(entry, held);
    // Long-lived: let the engine keep its key object with it.
    engineInternals(engine)?.retainKey(held.cek);
    markReusable(held.cek);
  }
  return held;
}

const EMPTY = new Uint8Array(0);

function isShared(entry: KeyEntry | AsymmetricEntry): entry is KeyEntry {
  return (entry as KeyEntry).bytes instanceof Uint8Array;
}

/** @internal Whether a held key has reached its token or byte bound (checked before each token). */
export function spent(held: HeldContentKey, bounds: ReuseBounds): boolean {
  return held.tokens >= bounds.maxTokens || held.bytes >= bounds.maxBytes;
}

/** @internal Counts one token of `units` plaintext bytes (or UTF-16 units times 3) against a held key. */
export function countToken(held: HeldContentKey, bytes: number): void {
  held.tokens++;
  held.bytes += bytes;
}

/** Content keys the reader keeps per key entry. */
export const READER_CACHE_PER_KEY = 1024;

/** Encrypted keys seen once, per key entry: a second sighting (another document) moves one into the cache. */
const PROBATION = 8;

interface ReaderCache {
  readonly byEk: Map<string, Uint8Array>;
  readonly probationEk: string[];
  readonly probationCek: Array<Uint8Array | undefined>;
  next: number;
}

const unwrapped = new WeakMap<KeyEntry | AsymmetricEntry, ReaderCache>();

/**
 * @internal The unwrapped content key for `ekB64` (for public-key tokens: an
 * id of the encrypted key and `epk`) under `entry`, from the reader cache or
 * by `unwrap` (kept only when it succeeds).
 *
 * An encrypted key seen for the first time waits in a small probation ring
 * ({@link PROBATION} per key); seen again, it enters the cache, which holds
 * at most {@link READER_CACHE_PER_KEY} per key, the oldest going first. So a
 * writer with a fresh content key per document costs the reader nothing
 * (measured: caching every key kept 1,024 short-lived keys and their tokens
 * alive into the old generation, 20-30% more CPU per document), and a writer
 * that reuses keys is unwrapped once per key.
 */
export function cachedUnwrap(engine: Engine, entry: KeyEntry | AsymmetricEntry, ekB64: string, unwrap: () => Uint8Array): Uint8Array {
  let cache = unwrapped.get(entry);
  if (cache !== undefined) {
    const hit = cache.byEk.get(ekB64);
    if (hit !== undefined) return hit;
    const { probationEk, probationCek } = cache;
    for (let i = 0; i < PROBATION; i++) {
      if (probationEk[i] !== ekB64) continue;
      // Seen again (another document): it serves many tokens, worth a place in the cache, a kept key object and the fast path.
      const cek = probationCek[i]!;
      probationEk[i] = '';
      probationCek[i] = undefined;
      const byEk = cache.byEk;
      if (byEk.size >= READER_CACHE_PER_KEY) byEk.delete(byEk.keys().next().value!);
      // A flat copy of the key text: a slice would keep its whole token alive.
      byEk.set(flat(ekB64), cek);
      engineInternals(engine)?.retainKey(cek);
      markReusable(cek);
      return cek;
    }
  }
  const cek = unwrap();
  if (cache === undefined) unwrapped.set(entry, (cache = { byEk: new Map(), probationEk: new Array<string>(PROBATION).fill(''), probationCek: new Array<Uint8Array | undefined>(PROBATION).fill(undefined), next: 0 }));
  cache.probationEk[cache.next] = ekB64;
  cache.probationCek[cache.next] = cek;
  cache.next = (cache.next + 1) % PROBATION;
  return cek;
}

/** A string with its own storage (not a slice of a longer one). */
function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** @internal How many content keys the reader holds in its cache for `entry` (tests; probation not counted). */
export function readerCacheSize(entry: KeyEntry | AsymmetricEntry): number {
  return unwrapped.get(entry)?.byEk.size ?? 0;
}
