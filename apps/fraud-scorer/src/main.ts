/**
 * fraud-scorer as a process. Configuration from the environment:
 *
 *   KAFKA_BROKERS=host:port[,...]   (required)
 *   WIRESEAL_KEYRING_PII_FILE        the pii audience's shared key set;
 *                                    WIRESEAL_KEYRING_PII_KIND=shared to insist on it
 *   PAYMENTS_TOPIC (default payments.authorized), DLQ_TOPIC (default <topic>.fraud-scorer.dlq),
 *   GROUP_ID (default fraud-scorer), HANDLED_FILE, PORT / HOST of the status server
 *
 * Writes one JSON line per event on stdout, the first being
 * `{"event":"ready","url":...}`; stops cleanly on SIGTERM/SIGINT.
 */
import { runConsumerProcess } from '@wireseal-apps/shared/consumer-process';
import { startFraudScorer } from './scorer.ts';

await runConsumerProcess('fraud-scorer', (settings) => startFraudScorer(settings));
