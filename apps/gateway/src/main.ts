/**
 * The gateway as a process. Configuration from the environment:
 *
 *   GATEWAY_CONFIG=gateway.json   the services (watched; changes apply without a restart)
 *   WIRESEAL_KEYSET_FILE | WIRESEAL_SECRET_ID | WIRESEAL_KEYSET   the gateway's key store
 *   PORT (default 0: a free port), HOST (default 127.0.0.1)
 *   GATEWAY_REPLAY_REDIS_URL=redis://…   optional: remember whole-mode tokens in Redis
 *     (RedisReplayStore), shared by every gateway instance given the same URL, instead of
 *     in this process's memory; a token one instance accepted is refused by all (ERR_REPLAY)
 *   GATEWAY_ADMIN_TOKEN | GATEWAY_ADMIN_TOKEN_FILE   the admin API's bearer token (16+ printable
 *     characters); without one the admin listener does not start (event "admin-disabled")
 *   GATEWAY_ADMIN_PORT (default 0: a free port), GATEWAY_ADMIN_HOST (default 127.0.0.1)
 *   GATEWAY_ADMIN_AUDIT_FILE   the audit log (default <GATEWAY_CONFIG>.audit.jsonl)
 *   GATEWAY_TEST_PAUSE_AT=before-rename|after-rename   tests only: an admin write stops there for good
 *
 * Writes one JSON line per event on stdout, the first being
 * `{"event":"ready","url":...}`; stops cleanly on SIGTERM/SIGINT.
 */
import type { Gateway } from './gateway.ts';
import { startGateway } from './gateway.ts';
import { adminTokenFromEnv } from './admin.ts';
import type { AdminOptions } from './admin.ts';
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
let adminToken: string | undefined;
try {
  adminToken = adminTokenFromEnv(process.env);
} catch (err) {
  process.stderr.write(`gateway: admin token: ${(err as Error).message}\n`);
  process.exit(2);
}
const pauseAt = process.env.GATEWAY_TEST_PAUSE_AT;
const admin: AdminOptions | undefined = adminToken === undefined ? undefined : {
  token: adminToken,
  host: process.env.GATEWAY_ADMIN_HOST ?? '127.0.0.1',
  port: Number(process.env.GATEWAY_ADMIN_PORT ?? 0),
  ...(process.env.GATEWAY_ADMIN_AUDIT_FILE ? { auditFile: process.env.GATEWAY_ADMIN_AUDIT_FILE } : {}),
  ...(pauseAt === 'before-rename' || pauseAt === 'after-rename' ? { pauseAt, onPause: (point) => log({ event: 'test-paused', point }) } : {}),
};
if (!admin) log({ event: 'admin-disabled', reason: 'no admin token: set GATEWAY_ADMIN_TOKEN or GATEWAY_ADMIN_TOKEN_FILE to start the admin API and console' });
gateway = await startGateway({
  configFile,
  keys,
  ...(replay ? { replay } : {}),
  port: Number(process.env.PORT ?? 0),
  host: process.env.HOST ?? '127.0.0.1',
  ...(admin ? { admin } : {}),
  onEvent: ({ type, ...rest }) => log({ event: type, ...rest }),
});
log({ event: 'ready', url: gateway.url, version: gateway.version(), ...(gateway.adminUrl ? { adminUrl: gateway.adminUrl, console: `${gateway.adminUrl}/admin/` } : {}) });

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
