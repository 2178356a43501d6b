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
  readonly iat: number;
  readonly ids: Set<string>;
  expiresAt: number;
}

/**
 * A binary min-heap of buckets by one of their numbers. Entries go stale
 * (the bucket was dropped, or its `expiresAt` grew and it was pushed again);
 * the store skips those as they surface and rebuilds the heap when they
 * outnumber the live ones, so each operation stays O(log buckets) amortized.
 */
class BucketHeap {
  #items: Bucket[] = [];
  #keys: number[] = [];
  readonly keyOf: (b: Bucket) => number;
  constructor(keyOf: (b: Bucket) => number) {
    this.keyOf = keyOf;
  }

  get length(): number {
    return this.#items.length;
  }

  push(b: Bucket): void {
    const items = this.#items;
    const keys = this.#keys;
    const k = this.keyOf(b);
    let i = items.length;
    items.push(b);
    keys.push(k);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= k) break;
      items[i] = items[parent]!;
      keys[i] = keys[parent]!;
      i = parent;
    }
    items[i] = b;
    keys[i] = k;
  }

  /** The smallest entry's bucket and the key it was pushed with, or undefined. */
  peek(): Bucket | undefined {
    return this.#items[0];
  }

  peekKey(): number {
    return this.#keys[0]!;
  }

  pop(): void {
    const items = this.#items;
    const keys = this.#keys;
    const lastItem = items.pop()!;
    const lastKey = keys.pop()!;
    const n = items.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1]! < keys[c]!) c++;
      if (keys[c]! >= lastKey) break;
      items[i] = items[c]!;
      keys[i] = keys[c]!;
      i = c;
    }
    items[i] = lastItem;
    keys[i] = lastKey;
  }

  /** Rebuilds from `live` (one entry each, at its current key). */
  rebuild(live: Iterable<Bucket>): void {
    this.#items = [];
    this.#keys = [];
    for (const b of live) this.push(b);
  }
}

/**
 * A copy of `id` that refers to no other string. A token's last segment cut
 * with `slice` is a view that keeps the whole token alive: remembered for the
 * window, every token would stay in memory (and be copied by every young
 * generation GC) instead of its 22-character tag. The UTF-8 round trip is
 * lossless for every well-formed string; a malformed one (lone surrogates)
 * may collide with another, which can only refuse a token, never accept one.
 */
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
function ownCopy(id: string): string {
  return NodeBuffer ? NodeBuffer.from(id, 'utf8').toString('utf8') : decoder.decode(encoder.encode(id));
}

/**
 * The default {@link ReplayStore}: tokens bucketed by their `iat` second, so
 * expiry and eviction drop whole seconds in `iat` order. Two heaps over the
 * buckets (by `expiresAt` for expiry, by `iat` for eviction) keep both
 * O(log buckets) amortized per token, however many seconds a long freshness
 * window spreads the tokens over.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #buckets = new Map<number, Bucket>();
  readonly #byExpiry = new BucketHeap((b) => b.expiresAt);
  readonly #byIat = new BucketHeap((b) => b.iat);
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

  /** Number of `iat` seconds (buckets) remembered now. */
  get seconds(): number {
    return this.#buckets.size;
  }

  /** The newest `iat` second dropped for capacity (tokens at or before it are refused), or undefined. */
  get floor(): number | undefined {
    return this.#floor === Number.NEGATIVE_INFINITY ? undefined : this.#floor;
  }

  /** {@inheritDoc ReplayStore.remember} */
  remember(id: string, iat: number, expiresAt: number): ReplayVerdict {
    const now = Math.floor(this.#now() / 1000);
    if (now !== this.#lastPurge) this.#purge(now);
    let bucket = this.#buckets.get(iat);
    if (bucket?.ids.has(id)) return 'replay';
    if (iat <= this.#floor) return 'unknown';
    while (this.#size >= this.#maxEntries) this.#evictOldest();
    if (iat <= this.#floor) return 'unknown';
    // The bucket may have been evicted just now.
    bucket = this.#buckets.get(iat);
    if (bucket) {
      bucket.ids.add(ownCopy(id));
      if (expiresAt > bucket.expiresAt) {
        bucket.expiresAt = expiresAt;
        this.#byExpiry.push(bucket);
      }
    } else {
      bucket = { iat, ids: new Set([ownCopy(id)]), expiresAt };
      this.#buckets.set(iat, bucket);
      this.#byExpiry.push(bucket);
      this.#byIat.push(bucket);
    }
    this.#size++;
    return 'first';
  }

  /** Drops the buckets whose `expiresAt` is before `now`. */
  #purge(now: number): void {
    this.#lastPurge = now;
    const heap = this.#byExpiry;
    for (let b = heap.peek(); b !== undefined && heap.peekKey() < now; b = heap.peek()) {
      const key = heap.peekKey();
      heap.pop();
      // Stale entries: a dropped bucket, or one pushed again with a later expiresAt.
      if (this.#buckets.get(b.iat) !== b || b.expiresAt !== key) continue;
      this.#drop(b);
    }
    this.#compact();
  }

  #evictOldest(): void {
    const heap = this.#byIat;
    for (let b = heap.peek(); b !== undefined; b = heap.peek()) {
      heap.pop();
      if (this.#buckets.get(b.iat) !== b) continue; // dropped by expiry already
      this.#drop(b);
      if (b.iat > this.#floor) this.#floor = b.iat;
      this.#compact();
      return;
    }
  }

  #drop(b: Bucket): void {
    this.#buckets.delete(b.iat);
    this.#size -= b.ids.size;
  }

  /** Rebuilds a heap whose stale entries outnumber the live buckets (amortized O(1) per drop). */
  #compact(): void {
    const live = this.#buckets.size;
    if (this.#byIat.length > 2 * live + 16) this.#byIat.rebuild(this.#buckets.values());
    if (this.#byExpiry.length > 2 * live + 16) this.#byExpiry.rebuild(this.#buckets.values());
  }
}
