/**
 * Replay detection for whole payloads. A token is remembered from the moment
 * it is accepted until its `iat` leaves the freshness window; a second
 * sighting inside the window is `ERR_REPLAY`.
 *
 * The in-memory store is bounded and never forgets a token that could still
 * be accepted: when it is full it drops its oldest second of tokens and from
 * then on refuses every token issued in or before that second (the store can
 * no longer vouch for them; the codec answers `ERR_STALE`). Under overload the
 * effective window shrinks; it never opens a replay gap.
 */

/** What a replay store says about a token it is shown. */
export type ReplayVerdict = 'first' | 'replay' | 'unknown';

/**
 * Where seen tokens are remembered. The default is per process; services that
 * run several instances behind a load balancer should inject a shared store
 * (for example Redis `SET id 1 NX EXAT expiresAt`).
 */
export interface ReplayStore {
  /**
   * Records `id` (a token digest, unique per token) and says whether it was
   * seen before.
   * @param id - the token's identifier (the whole-payload profile decides; `application/jose` uses its authentication tag)
   * @param iat - the token's `iat`, seconds since the epoch
   * @param expiresAt - seconds since the epoch after which the token is stale anyway
   * @returns `first` (accept), `replay` (seen before) or `unknown` (cannot vouch: reject)
   */
  remember(id: string, iat: number, expiresAt: number): ReplayVerdict | Promise<ReplayVerdict>;
}

/** Options for {@link MemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Most tokens remembered at once. Default 100,000 (about 8 MB). */
  maxEntries?: number;
  /** Clock in milliseconds since the epoch (tests). Default `Date.now`. */
  now?: () => number;
}

interface Bucket {
  readonly ids: Set<string>;
  expiresAt: number;
}

/**
 * The default {@link ReplayStore}: tokens bucketed by their `iat` second, so
 * expiry and eviction drop whole seconds in `iat` order.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #buckets = new Map<number, Bucket>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  #size = 0;
  /** Tokens with `iat` at or below this were evicted for capacity: refused. */
  #floor = Number.NEGATIVE_INFINITY;
  #lastPurge = 0;

  /** @param options - capacity and clock */
  constructor(options: MemoryReplayStoreOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('maxEntries must be a positive integer');
    this.#maxEntries = max;
    this.#now = options.now ?? Date.now;
  }

  /** Number of tokens remembered now. */
  get size(): number {
    return this.#size;
  }

  /** The newest `iat` second dropped for capacity (tokens at or before it are refused), or undefined. */
  get floor(): number | undefined {
    return this.#floor === Number.NEGATIVE_INFINITY ? undefined : this.#floor;
  }

  /** {@inheritDoc ReplayStore.remember} */
  remember(id: string, iat: number, expiresAt: number): ReplayVerdict {
    const now = Math.floor(this.#now() / 1000);
    if (now !== this.#lastPurge) this.#purge(now);
    const bucket = this.#buckets.get(iat);
    if (bucket?.ids.has(id)) return 'replay';
    if (iat <= this.#floor) return 'unknown';
    while (this.#size >= this.#maxEntries) this.#evictOldest();
    if (iat <= this.#floor) return 'unknown';
    if (bucket) {
      bucket.ids.add(id);
      if (expiresAt > bucket.expiresAt) bucket.expiresAt = expiresAt;
    } else {
      this.#buckets.set(iat, { ids: new Set([id]), expiresAt });
    }
    this.#size++;
    return 'first';
  }

  #purge(now: number): void {
    this.#lastPurge = now;
    for (const [iat, b] of this.#buckets) {
      if (b.expiresAt < now) {
        this.#buckets.delete(iat);
        this.#size -= b.ids.size;
      }
    }
  }

  #evictOldest(): void {
    let oldest = Number.POSITIVE_INFINITY;
    for (const iat of this.#buckets.keys()) if (iat < oldest) oldest = iat;
    const b = this.#buckets.get(oldest)!;
    this.#buckets.delete(oldest);
    this.#size -= b.ids.size;
    if (oldest > this.#floor) this.#floor = oldest;
  }
}
