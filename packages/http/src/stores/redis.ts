/**
 * A {@link ReplayStore} on Redis, shared by every instance of a service: a
 * whole-payload token accepted by one instance is `ERR_REPLAY` at all the
 * others while it is fresh.
 *
 * One atomic `SET <prefix><digest> 1 NX PX <ttl>` per token: the reply `OK`
 * means first sighting, `nil` means replay. Redis holds only a SHA-256 digest
 * of the token's replay id (for `application/jose` its authentication tag),
 * never the token or any of its segments, nor any plaintext.
 *
 * Every call has a deadline (`timeoutMs`, 250 ms). A Redis that is down, slow
 * or full fails closed by default: `remember` throws {@link ReplayStoreError}
 * (`ERR_REPLAY_STORE`), the request is answered 503 and the handler never
 * runs. `failOpen: true` accepts the token instead, which opens a replay
 * window for as long as Redis is unavailable.
 */
import { createHash } from 'node:crypto';
import { createClient } from 'redis';
import { ReplayStoreError } from '@wireseal/core/errors';
import type { ReplayStore, ReplayVerdict } from '../codec/replay.ts';

/** What the store sends: `SET key value NX PX ttl` (node-redis 5 and 6 spelling). */
export interface RedisSetOptions {
  readonly condition: 'NX';
  readonly expiration: { readonly type: 'PX'; readonly value: number };
}

/**
 * The two commands the store needs from a client. A node-redis client
 * (`createClient()`, a cluster client) has them; so can a wrapper around
 * another client.
 */
export interface RedisReplayClient {
  /** `SET key value NX PX ttl`: resolves to `'OK'` when set, `null` when the key exists. */
  set(key: string, value: string, options: RedisSetOptions): Promise<unknown>;
  /** `DEL key` (to release a token whose `SET` answered after the deadline, so the request was refused). */
  del(key: string): Promise<unknown>;
}

/** Options for {@link RedisReplayStore}: exactly one of `url` and `client`. */
export interface RedisReplayStoreOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS): the
   * store opens its own connection (node-redis, offline queue off, reconnects
   * by itself) and `close()` ends it.
   */
  url?: string;
  /**
   * A client you connected yourself; the store never connects or closes it.
   * Give it `disableOfflineQueue: true` (or a `commandsQueueMaxLength`) so
   * commands are refused rather than queued while Redis is down.
   */
  client?: RedisReplayClient;
  /** Prefix of every key the store writes. Default `wireseal:replay:`. */
  keyPrefix?: string;
  /** Deadline of each call in milliseconds, 1 to 60,000. Default 250. */
  timeoutMs?: number;
  /**
   * When Redis cannot answer: `false` (default) refuses the request (503
   * `ERR_REPLAY_STORE`); `true` accepts the token unchecked. Accepting means
   * that while Redis is down or slow any token can be replayed, to any
   * instance, as often as an attacker likes, until it leaves the freshness
   * window.
   */
  failOpen?: boolean;
  /**
   * Seconds a key outlives the token's `expiresAt` (as this instance's clock
   * sees it), so instances whose clocks differ cannot accept a token that
   * another's key no longer covers. Whole number, 0 to 3600. Default 30.
   */
  expiryMarginSeconds?: number;
  /**
   * Most calls waiting for Redis at once (a slow Redis must not pile up
   * requests); over it a call fails at once like a timeout. Default 10,000.
   */
  maxPending?: number;
  /**
   * Told about every failure: calls that failed or timed out (`ERR_REPLAY_STORE`,
   * with the Redis error as `cause`) and, for a connection the store opened,
   * the client's connection errors. For metrics and logs (the package never
   * logs). Never gets tokens or plaintext.
   */
  onError?: (err: ReplayStoreError) => void;
  /** Clock in milliseconds since the epoch (tests). Default `Date.now`. */
  now?: () => number;
}

/** Default {@link RedisReplayStoreOptions.keyPrefix}. */
export const DEFAULT_REPLAY_KEY_PREFIX = 'wireseal:replay:';
/** Default {@link RedisReplayStoreOptions.timeoutMs}. */
export const DEFAULT_REPLAY_TIMEOUT_MS = 250;

/** The store's own connection: reconnect after 50, 100, 200 … ms, at most 1 s apart, forever. */
function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 5), 1000);
}

const noop = (): void => {};
const TIMED_OUT: unique symbol = Symbol('timed out');

/** Where the store's commands go, and how to end them. */
interface Connection {
  readonly client: RedisReplayClient;
  /** Resolves once the connection is up (immediately for a client that was given). */
  readonly ready: Promise<void>;
  /** Ends the store's own connection; nothing for a client that was given. */
  readonly close: () => void;
}

function check(condition: boolean, message: string, Err: new (m: string) => Error = RangeError): void {
  if (!condition) throw new Err(`RedisReplayStore: ${message}`);
}

/** Validates the options and fills in the defaults. */
function settings(options: RedisReplayStoreOptions) {
  check(options !== null && typeof options === 'object', 'options must be an object', TypeError);
  const { url, client } = options;
  check((url === undefined) !== (client === undefined), 'give exactly one of url and client', TypeError);
  if (url !== undefined) {
    check(typeof url === 'string', 'url must be a string', TypeError);
    let protocol: string | undefined;
    try {
      protocol = new URL(url).protocol;
    } catch {
      protocol = undefined;
    }
    // The URL may hold a password: it is never quoted.
    check(protocol === 'redis:' || protocol === 'rediss:', 'url must be a redis:// or rediss:// URL', TypeError);
  }
  if (client !== undefined) {
    check(client !== null && typeof client.set === 'function' && typeof client.del === 'function', 'client must have set() and del() (a node-redis client)', TypeError);
  }
  const keyPrefix = options.keyPrefix ?? DEFAULT_REPLAY_KEY_PREFIX;
  check(typeof keyPrefix === 'string' && keyPrefix.length <= 256, 'keyPrefix must be a string of at most 256 characters', TypeError);
  const timeoutMs = options.timeoutMs ?? DEFAULT_REPLAY_TIMEOUT_MS;
  check(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 1 && timeoutMs <= 60_000, 'timeoutMs must be a number of milliseconds from 1 to 60000');
  const failOpen = options.failOpen ?? false;
  check(typeof failOpen === 'boolean', 'failOpen must be a boolean', TypeError);
  const margin = options.expiryMarginSeconds ?? 30;
  check(Number.isSafeInteger(margin) && margin >= 0 && margin <= 3600, 'expiryMarginSeconds must be a whole number from 0 to 3600');
  const maxPending = options.maxPending ?? 10_000;
  check(Number.isSafeInteger(maxPending) && maxPending >= 1, 'maxPending must be a positive integer');
  for (const name of ['onError', 'now'] as const) {
    check(options[name] === undefined || typeof options[name] === 'function', `${name} must be a function`, TypeError);
  }
  return { url, client, keyPrefix, timeoutMs, failOpen, marginMs: margin * 1000, maxPending, onError: options.onError, now: options.now ?? Date.now };
}

/**
 * A {@link ReplayStore} shared by all instances through Redis. Pass it as the
 * adapters' (or `HttpCodec`'s) `replay` option on every instance.
 *
 * ```ts
 * const replay = new RedisReplayStore({ url: process.env.REDIS_URL });
 * await replay.ready();
 * app.use(wiresealMiddleware({ keys, replay, routes }));
 * // on shutdown
 * await replay.close();
 * ```
 */
export class RedisReplayStore implements ReplayStore {
  readonly #connection: Connection;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #failOpen: boolean;
  readonly #marginMs: number;
  readonly #maxPending: number;
  readonly #onError: ((err: ReplayStoreError) => void) | undefined;
  readonly #now: () => number;
  #pending = 0;
  #closed = false;

  /**
   * @param options - `{ url }` (the store connects) or `{ client }` (yours), and the policy
   * @throws TypeError or RangeError when an option is not what it takes (the URL is never quoted)
   */
  constructor(options: RedisReplayStoreOptions) {
    const s = settings(options);
    this.#prefix = s.keyPrefix;
    this.#timeoutMs = s.timeoutMs;
    this.#failOpen = s.failOpen;
    this.#marginMs = s.marginMs;
    this.#maxPending = s.maxPending;
    this.#onError = s.onError;
    this.#now = s.now;
    this.#connection = s.client ? { client: s.client, ready: Promise.resolve(), close: noop } : this.#connect(s.url!);
  }

  /** The prefix of the keys this store writes. */
  get keyPrefix(): string {
    return this.#prefix;
  }

  /** Calls waiting for Redis now. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Resolves once the store's own connection is up (at once for a client
   * that was given). It waits through reconnects, however long Redis stays
   * away; bound it yourself at start-up if you must (`AbortSignal.timeout`
   * and `Promise.race`). Rejects if the store is closed first.
   */
  ready(): Promise<void> {
    return this.#connection.ready;
  }

  /**
   * Records the token and says whether it was seen before.
   * {@inheritDoc ReplayStore.remember}
   * @throws ReplayStoreError (`ERR_REPLAY_STORE`) when Redis did not answer in
   * time or failed, unless `failOpen`; always once the store is closed
   */
  async remember(id: string, _iat: number, expiresAt: number): Promise<ReplayVerdict> {
    if (this.#closed) throw new ReplayStoreError('the replay store is closed');
    if (this.#pending >= this.#maxPending) {
      return this.#fail(new Error(`${this.#pending} calls already wait for Redis (maxPending)`), 'is overloaded');
    }
    const key = this.#prefix + createHash('sha256').update(id).digest('base64url');
    // PX from this instance's clock (Redis's clock may differ from ours), never below 1 s.
    const ttl = Math.max(1000, Math.ceil(expiresAt * 1000 - this.#now()) + this.#marginMs);
    let command: Promise<unknown>;
    try {
      command = this.#connection.client.set(key, '1', { condition: 'NX', expiration: { type: 'PX', value: ttl } });
    } catch (err) {
      return this.#fail(err, 'failed');
    }
    this.#pending++;
    const done = (): void => void this.#pending--;
    command.then(done, done);
    let timer: NodeJS.Timeout | undefined;
    // When the deadline passes, let I/O already received run first (setImmediate): a busy event
    // loop must not turn an answer that arrived in time into a timeout.
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => setImmediate(resolve, TIMED_OUT), this.#timeoutMs);
    });
    let reply: unknown;
    try {
      reply = await Promise.race([command, deadline]);
    } catch (err) {
      return this.#fail(err, 'failed');
    } finally {
      clearTimeout(timer);
    }
    if (reply === TIMED_OUT) {
      if (!this.#failOpen) {
        // Refused: if the SET still lands, take it back so the sender may retry the same token.
        command.then((late) => {
          if (late !== null) this.#connection.client.del(key).catch(noop);
        }, noop);
      }
      return this.#fail(new Error(`no answer within ${this.#timeoutMs} ms`), 'timed out');
    }
    return reply === null ? 'replay' : 'first';
  }

  /**
   * Ends the connection the store opened (pending calls fail); a client that
   * was given is left open. Idempotent. Later calls to `remember` throw.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.close();
  }

  #connect(url: string): Connection {
    const client = createClient({
      url,
      // Refuse commands while disconnected instead of queueing them until Redis returns.
      disableOfflineQueue: true,
      commandsQueueMaxLength: this.#maxPending,
      socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelay },
    });
    // node-redis emits 'error' on every failed (re)connect; unheard, it would crash the process.
    client.on('error', (err: unknown) => this.#report(new ReplayStoreError(`Redis connection: ${(err as Error)?.message ?? String(err)}`, { cause: err })));
    let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(noop); // nobody has to call ready()
    client.connect().then(
      () => settle!.resolve(),
      (err: unknown) => settle!.reject(new ReplayStoreError('the replay store could not connect to Redis', { cause: err })),
    );
    return {
      client,
      ready,
      close: () => {
        settle!.reject(new ReplayStoreError('the replay store was closed before it connected'));
        if (client.isOpen) client.destroy();
      },
    };
  }

  #fail(cause: unknown, what: string): ReplayVerdict {
    const err = new ReplayStoreError(`replay store call ${what}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.#report(err);
    if (this.#failOpen) return 'first';
    throw err;
  }

  #report(err: ReplayStoreError): void {
    try {
      this.#onError?.(err);
    } catch {
      /* a failing listener must not change the verdict */
    }
  }
}
