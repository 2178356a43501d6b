/**
 * ledger-worker as a process. Configuration from the environment:
 *
 *   KAFKA_BROKERS=host:port[,...]   (required)
 *   WIRESEAL_KEYRING_PCI_FILE        the pci audience's key pairs (a private JWK Set);
 *                                    WIRESEAL_KEYRING_PCI_KIND=private to insist on it
 *   LEDGER_FILE (default ./ledger.jsonl)
 *   PAYMENTS_TOPIC (default payments.authorized), DLQ_TOPIC (default <topic>.dlq),
 *   GROUP_ID (default ledger-worker), HANDLED_FILE, PORT / HOST of the status server
 *   WIRESEAL_KAFKA_CLIENT=kafkajs|platformatic (default kafkajs; platformatic is loaded only then)
 *
 * Writes one JSON line per event on stdout, the first being
 * `{"event":"ready","url":...}`; stops cleanly on SIGTERM/SIGINT.
 */
import { runConsumerProcess } from '@wireseal-apps/shared/consumer-process';
import { startLedgerWorker } from './worker.ts';

await runConsumerProcess('ledger-worker', (settings, env) => startLedgerWorker({ ...settings, ledgerFile: env.LEDGER_FILE ?? 'ledger.jsonl' }));
