/**
 * ledger-worker as a process. Configuration from the environment:
 *
 *   WIRESEAL_KEYSET_FILE | WIRESEAL_SECRET_ID | WIRESEAL_KEYSET   the shared key set
 *   KAFKA_BROKERS=host:port[,...]   (required)
 *   PAYMENTS_TOPIC (default payments.authorized), DLQ_TOPIC (default <topic>.dlq)
 *   LEDGER_FILE (default ./ledger.jsonl), GROUP_ID (default ledger-worker)
 *   PORT / HOST of the status server (default a free port on 127.0.0.1)
 *
 * Writes one JSON line per event on stdout, the first being
 * `{"event":"ready","url":...}`; stops cleanly on SIGTERM/SIGINT.
 */
import { keyProviderFromEnv } from '@wireseal-apps/shared/service-keys';
import { startLedgerWorker } from './worker.ts';

const log = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ service: 'ledger-worker', ...event })}\n`);
};
const brokers = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
if (brokers.length === 0) {
  process.stderr.write('ledger-worker: set KAFKA_BROKERS=host:port[,...]\n');
  process.exit(2);
}
const keys = keyProviderFromEnv(process.env, log);
await keys.ready();
const worker = await startLedgerWorker({
  keys,
  brokers,
  ledgerFile: process.env.LEDGER_FILE ?? 'ledger.jsonl',
  ...(process.env.PAYMENTS_TOPIC ? { topic: process.env.PAYMENTS_TOPIC } : {}),
  ...(process.env.DLQ_TOPIC ? { dlqTopic: process.env.DLQ_TOPIC } : {}),
  ...(process.env.GROUP_ID ? { groupId: process.env.GROUP_ID } : {}),
  port: Number(process.env.PORT ?? 0),
  host: process.env.HOST ?? '127.0.0.1',
  onEvent: log,
});
log({ event: 'ready', url: worker.url, topic: worker.topic, dlqTopic: worker.dlqTopic, keys: keys.current().primaryKid });

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await worker.stop();
  await keys.close();
  log({ event: 'stopped', stats: worker.stats() });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
