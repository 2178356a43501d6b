/**
 * payments-api as a process. Configuration from the environment:
 *
 *   WIRESEAL_KEYSET_FILE | WIRESEAL_SECRET_ID | WIRESEAL_KEYSET   the shared key set
 *   PORT (default 0: a free port), HOST (default 127.0.0.1)
 *   KAFKA_BROKERS=host:port[,...]   publish payment.authorized (omit: HTTP only)
 *   PAYMENTS_TOPIC (default payments.authorized)
 *
 * Writes one JSON line per event on stdout, the first being
 * `{"event":"ready","url":...}`; stops cleanly on SIGTERM/SIGINT.
 */
import { keyProviderFromEnv } from '@wireseal-apps/shared/service-keys';
import { startPaymentsApi } from './server.ts';

const log = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ service: 'payments-api', ...event })}\n`);
};
const keys = keyProviderFromEnv(process.env, log);
await keys.ready();
const brokers = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean);
const api = await startPaymentsApi({
  keys,
  port: Number(process.env.PORT ?? 0),
  host: process.env.HOST ?? '127.0.0.1',
  ...(brokers && brokers.length > 0 ? { kafka: { brokers, ...(process.env.PAYMENTS_TOPIC ? { topic: process.env.PAYMENTS_TOPIC } : {}) } } : {}),
  onEvent: log,
});
log({ event: 'ready', url: api.url, topic: api.topic ?? null, keys: keys.current().primaryKid });

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await api.stop();
  await keys.close();
  log({ event: 'stopped', stats: api.stats() });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
