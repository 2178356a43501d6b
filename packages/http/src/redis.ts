/**
 * @wireseal/http/redis: a replay store on Redis (the `redis` npm client), so
 * that every instance of a service refuses a whole-payload token another
 * instance already accepted. Pass it as the adapters' `replay` option.
 *
 * @module
 */
export { RedisReplayStore, DEFAULT_REPLAY_KEY_PREFIX, DEFAULT_REPLAY_TIMEOUT_MS } from './stores/redis.ts';
export type { RedisReplayStoreOptions, RedisReplayClient, RedisSetOptions } from './stores/redis.ts';
