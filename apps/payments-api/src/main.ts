/**
 * payments-api as a process. Configuration from the environment:
 *
 *   WIRESEAL_KEYSET_FILE | WIRESEAL_SECRET_ID | WIRESEAL_KEYSET   the key set shared with checkout
 *   PORT (default 0: a free port), HOST (default 127.0.0.1)
 *   KAFKA_BROKERS=host:port[,...]   publish payment.authorized (omit: HTTP only), sealed with
 *     WIRESEAL_KEYRING_PCI_FILE      the pci audience's public keys (KIND=public: it cannot open them)
 *     WIRESEAL_KEYRING_PII_FILE      the pii audience's shared key set
 *   PAYMENTS_TOPIC (default payments.authorized)
 *
 * Writes one JSON line per event on stdout, the first being
 * `{"event":"ready","url":...}`; stops cleanly on SIGTERM/SIGINT.
 */
import { EVENT_AUDIENCES } from '@wireseal-apps/shared/payment-events';
import { keyProviderFromEnv, keyringEnvPrefix, keyringFromEnv } from '@wireseal-apps/shared/service-keys';
import { jsonLog, stopOnSignals } from '@wireseal-apps/shared/service-process';
import { startPaymentsApi } from './server.ts';

const log = jsonLog('payments-api');
const keys = keyProviderFromEnv(process.env, log);
let eventKeys: ReturnType<typeof keyringFromEnv>;
try {
  eventKeys = keyringFromEnv(process.env, EVENT_AUDIENCES, log);
} catch (err) {
  process.stderr.write(`payments-api: ${(err as Error).message}\n`);
  process.exit(2);
}
const brokers = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean);
const lacking = EVENT_AUDIENCES.filter((a) => !(a in eventKeys.keyring));
if (brokers && brokers.length > 0 && lacking.length > 0) {
  // Every event has values of every audience: without one, nothing could be published.
  process.stderr.write(`payments-api: KAFKA_BROKERS is set, but the events' keyring lacks ${lacking.join(', ')} (set ${lacking.map((a) => `${keyringEnvPrefix(a)}_FILE`).join(', ')})\n`);
  process.exit(2);
}
await Promise.all([keys.ready(), eventKeys.ready()]);
const api = await startPaymentsApi({
  keys,
  port: Number(process.env.PORT ?? 0),
  host: process.env.HOST ?? '127.0.0.1',
  ...(brokers && brokers.length > 0 ? { kafka: { brokers, keys: eventKeys.keyring, ...(process.env.PAYMENTS_TOPIC ? { topic: process.env.PAYMENTS_TOPIC } : {}) } } : {}),
  onEvent: log,
});
log({ event: 'ready', url: api.url, topic: api.topic ?? null, keys: keys.current().primaryKid, eventKeyring: eventKeys.describe() });

stopOnSignals(async () => {
  await api.stop();
  await keys.close();
  await eventKeys.close();
  log({ event: 'stopped', stats: api.stats() });
});
