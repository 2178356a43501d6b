/**
 * A sample Kafka consumer as a process, configured by the environment:
 *
 *   KAFKA_BROKERS=host:port[,...]   (required)
 *   WIRESEAL_KEYRING_<AUDIENCE>_FILE (and _KIND) for each audience it holds; none: it opens nothing
 *   PAYMENTS_TOPIC (default payments.authorized), DLQ_TOPIC, GROUP_ID
 *   HANDLED_FILE   append every handled document to this file (the demo's leak check)
 *   PORT / HOST of the status server (default a free port on 127.0.0.1)
 *
 * Writes one JSON line per event on stdout, the first being
 * `{"event":"ready","url":...}`; stops cleanly on SIGTERM/SIGINT.
 *
 * @module
 */
import type { ConsumerOptions } from './event-consumer.ts';
import { EVENT_AUDIENCES } from './payment-events.ts';
import { keyringFromEnv } from './service-keys.ts';
import { jsonLog, stopOnSignals } from './service-process.ts';

/** What every consumer takes from the environment. */
export type ConsumerSettings = ConsumerOptions & Required<Pick<ConsumerOptions, 'port' | 'host' | 'onEvent'>>;

/** What a started consumer exposes to its process. */
export interface ConsumerHandle {
  readonly url: string;
  readonly topic: string;
  readonly dlqTopic: string;
  stats(): unknown;
  stop(): Promise<void>;
}

/** Runs `start` with the settings from `env` until SIGTERM/SIGINT; exits 2 on a configuration error. */
export async function runConsumerProcess(name: string, start: (settings: ConsumerSettings, env: NodeJS.ProcessEnv) => Promise<ConsumerHandle>, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = jsonLog(name);
  const brokers = env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (brokers.length === 0) {
    process.stderr.write(`${name}: set KAFKA_BROKERS=host:port[,...]\n`);
    process.exit(2);
  }
  let ring: ReturnType<typeof keyringFromEnv>;
  try {
    ring = keyringFromEnv(env, EVENT_AUDIENCES, log);
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  await ring.ready();
  const consumer = await start({
    keys: ring.keyring,
    brokers,
    ...(env.PAYMENTS_TOPIC ? { topic: env.PAYMENTS_TOPIC } : {}),
    ...(env.DLQ_TOPIC ? { dlqTopic: env.DLQ_TOPIC } : {}),
    ...(env.GROUP_ID ? { groupId: env.GROUP_ID } : {}),
    ...(env.HANDLED_FILE ? { handledFile: env.HANDLED_FILE } : {}),
    port: Number(env.PORT ?? 0),
    host: env.HOST ?? '127.0.0.1',
    onEvent: log,
  }, env);
  log({ event: 'ready', url: consumer.url, topic: consumer.topic, dlqTopic: consumer.dlqTopic, keyring: ring.describe() });

  stopOnSignals(async () => {
    await consumer.stop();
    await ring.close();
    log({ event: 'stopped', stats: consumer.stats() });
  });
}
