/**
 * The gateway as a process. Configuration from the environment:
 *
 *   GATEWAY_CONFIG=gateway.json   the services (watched; changes apply without a restart)
 *   WIRESEAL_KEYSET_FILE | WIRESEAL_SECRET_ID | WIRESEAL_KEYSET   the gateway's key store
 *   PORT (default 0: a free port), HOST (default 127.0.0.1)
 *   GATEWAY_REPLAY_REDIS_URL=redis://…   optional: remember whole-mode tokens in Redis
 *     (RedisReplayStore), shared by every gateway instance given the same URL, instead of
 *     in this process's memory; a token one instance accepted is refused by all (ERR_REPLAY)
 *
 * Writes one JSON line per event on stdout, the first being
 * `{"event":"ready","url":...}`; stops cleanly on SIGTERM/SIGINT.
 */
import type { Gateway } from './gateway.ts';
import { startGateway } from './gateway.ts';
import { keyProviderFromEnv } from '@wireseal-apps/shared/service-keys';
import { RedisReplayStore } from '@wireseal/http/redis';

const configFile = process.env.GATEWAY_CONFIG;
if (!configFile) {
  process.stderr.write('gateway: set GATEWAY_CONFIG to the configuration file\n');
  process.exit(2);
}
const log = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ service: 'gateway', ...event })}\n`);
};
let gateway: Gateway | undefined;
const keys = keyProviderFromEnv(process.env, (e) => {
  log(e);
  // A key store change may make a rejected configuration valid (or a loaded one stale): check again.
  if (e.event === 'keys-loaded') void gateway?.reload();
});
await keys.ready();
const redisUrl = process.env.GATEWAY_REPLAY_REDIS_URL;
// The URL may carry a password: it is never logged. Redis down: whole-mode requests are refused (503 ERR_REPLAY_STORE), fail closed.
const replay = redisUrl
  ? new RedisReplayStore({ url: redisUrl, onError: (err) => log({ event: 'replay-store-error', code: err.code }) })
  : undefined;
if (replay) {
  await replay.ready();
  log({ event: 'replay-store', store: 'redis', keyPrefix: replay.keyPrefix });
}
gateway = await startGateway({
  configFile,
  keys,
  ...(replay ? { replay } : {}),
  port: Number(process.env.PORT ?? 0),
  host: process.env.HOST ?? '127.0.0.1',
  onEvent: ({ type, ...rest }) => log({ event: type, ...rest }),
});
log({ event: 'ready', url: gateway.url, version: gateway.version() });

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await gateway?.stop();
  await replay?.close();
  await keys.close();
  log({ event: 'stopped', stats: gateway?.stats() });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
