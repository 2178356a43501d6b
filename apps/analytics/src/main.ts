/**
 * analytics as a process. Configuration from the environment:
 *
 *   KAFKA_BROKERS=host:port[,...]   (required)
 *   no WIRESEAL_KEYRING_* variables: it holds no keys
 *   PAYMENTS_TOPIC (default payments.authorized), DLQ_TOPIC (default <topic>.analytics.dlq),
 *   GROUP_ID (default analytics), HANDLED_FILE, PORT / HOST of the status server
 *
 * Writes one JSON line per event on stdout, the first being
 * `{"event":"ready","url":...}`; stops cleanly on SIGTERM/SIGINT.
 */
import { runConsumerProcess } from '@wireseal-apps/shared/consumer-process';
import { startAnalytics } from './analytics.ts';

await runConsumerProcess('analytics', (settings) => startAnalytics(settings));
