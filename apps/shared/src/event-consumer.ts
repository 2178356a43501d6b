/**
 * What the sample Kafka consumers (ledger-worker, fraud-scorer, analytics)
 * share: a consumer group on the `payment.authorized` topic that opens each
 * record with the consumer's own keyring (`@wireseal/kafka`), dead-letters
 * records that do not open (intact, with the code in `wireseal-error`;
 * offsets committed only after the dead letter is acknowledged), and a small
 * status server (`GET /stats`, `GET /health`, and the probes `GET /healthz`,
 * `GET /readyz`: see `./health.ts`).
 *
 * The Kafka client is kafkajs by default, or `@platformatic/kafka` with
 * `client: 'platformatic'` or `WIRESEAL_KAFKA_CLIENT=platformatic` (loaded
 * only then, with `@wireseal/kafka/platformatic`; Node 22.22+ / 24.6+). The
 * records, dead letters and counters are the same either way. Topics are
 * created with kafkajs's admin in both cases.
 *
 * A consumer holds only the audiences it needs. Tokens of the others are
 * handed to it exactly as they were sent, their paths in `sealed`: never a
 * failure. The counters say, per concrete path, what it opened and what it
 * left sealed.
 *
 * @module
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CombinedKeySourceHealth, FieldKeys, FieldPolicyJson, JsonValue } from '@wireseal/core';
import { createKafkaCodec, wiresealEachMessage } from '@wireseal/kafka';
import type { KafkaCodecEvent, KafkaCodecStats, OpenedMessage } from '@wireseal/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { probeAnswer, serviceHealth } from './health.ts';
import { PAYMENTS_TOPIC } from './payment-events.ts';

/** What a handler learns about a record besides its document. */
export interface HandledRecord {
  partition: number;
  offset: string;
  /** The record key, as text. */
  key: string | null;
  /** Concrete paths this consumer opened. */
  decrypted: readonly string[];
  /** Concrete paths handed on sealed: audiences this consumer holds no keys for. */
  sealed: readonly string[];
}

/** What every sample consumer is started with, whatever it does with the records. */
export interface ConsumerOptions {
  /** Its keyring: the audiences it holds (`{}`: none, every token is handed on sealed). */
  keys: FieldKeys;
  /** Bootstrap brokers. */
  brokers: string[];
  /** Source topic. Default `payments.authorized`. */
  topic?: string;
  /** Dead-letter topic. Default `<topic>.<name>.dlq`. */
  dlqTopic?: string;
  /** Consumer group. Default: the consumer's name. */
  groupId?: string;
  /**
   * Appends every handled document, as the handler received it (opened fields
   * in plaintext), one JSON line each, to this file (mode 0600): what the
   * demo's leak check scans. A debugging aid, not for production.
   */
  handledFile?: string;
  /** Status server host/port. Default 127.0.0.1, a free port. */
  host?: string;
  port?: number;
  /** How long to wait for the consumer group join. Default 60 s. */
  joinTimeoutMs?: number;
  /** Operational events (dead letters with their codes); never plaintext. */
  onEvent?: (event: Record<string, unknown>) => void;
  /** What `GET /readyz` reports. Default: the health of `keys` (each audience's provider). */
  health?: () => CombinedKeySourceHealth;
  /** The Kafka client. Default: `WIRESEAL_KAFKA_CLIENT` from the environment, else `kafkajs`. */
  client?: KafkaClientName;
}

/** The Kafka clients the sample consumers run on. */
export type KafkaClientName = 'kafkajs' | 'platformatic';

/**
 * The client named by `WIRESEAL_KAFKA_CLIENT` (`kafkajs` when unset).
 * @throws Error for any other value
 */
export function kafkaClientFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaClientName {
  const v = env.WIRESEAL_KAFKA_CLIENT ?? 'kafkajs';
  if (v !== 'kafkajs' && v !== 'platformatic') throw new Error(`WIRESEAL_KAFKA_CLIENT must be "kafkajs" or "platformatic", not "${v.slice(0, 40)}"`);
  return v;
}

/** Options for {@link startEventConsumer}. */
export interface EventConsumerOptions<X extends object = object> extends ConsumerOptions {
  /** The consumer's name: kafkajs client id, default group id, prefix of its messages. */
  name: string;
  /** The topic's field policy. */
  policy: FieldPolicyJson | readonly string[];
  /** Called for every record that opened, in order; a throw makes kafkajs retry the record (platformatic: the stream is restarted at it). */
  handle: (doc: JsonValue, record: HandledRecord) => Promise<void> | void;
  /** The application's own counters, merged into `stats()` and `GET /stats`. */
  extraStats?: () => X;
}

/** Counters of a running consumer: the codec's, plus what was handled, opened and left sealed. */
export interface EventConsumerStats extends KafkaCodecStats {
  /** Records handed to the handler. */
  handled: number;
  /** Tokens opened, by concrete path. */
  openedByPath: Record<string, number>;
  /** Tokens handed on sealed (audiences this consumer does not hold), by concrete path. */
  sealedByPath: Record<string, number>;
  /** Dead-lettered records by error code. */
  deadLetteredByCode: Record<string, number>;
}

/** A running consumer. */
export interface EventConsumer<X extends object = object> {
  /** Status server: `GET /stats`, `GET /health`, `GET /healthz`, `GET /readyz`. */
  readonly url: string;
  readonly topic: string;
  readonly dlqTopic: string;
  /** The Kafka client it consumes with. */
  readonly client: KafkaClientName;
  stats(): EventConsumerStats & X;
  stop(): Promise<void>;
}

const bump = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** Starts consuming; resolves once the consumer joined its group and the status server listens. */
export async function startEventConsumer<X extends object = object>(options: EventConsumerOptions<X>): Promise<EventConsumer<X>> {
  const { name } = options;
  const topic = options.topic ?? PAYMENTS_TOPIC;
  const dlqTopic = options.dlqTopic ?? `${topic}.${name}.dlq`;
  const emit = options.onEvent ?? (() => {});
  let handled = 0;
  const openedByPath: Record<string, number> = {};
  const sealedByPath: Record<string, number> = {};
  const deadLetteredByCode: Record<string, number> = {};

  const codec = createKafkaCodec({
    keys: options.keys,
    topics: { [topic]: { mode: 'fields', policy: options.policy } },
    onEvent: (e: KafkaCodecEvent) => {
      if (e.type === 'dead-lettered') bump(deadLetteredByCode, e.error.code);
      emit({ event: `kafka-${e.type}`, topic: e.topic, partition: e.partition, offset: e.offset, ...('error' in e ? { code: e.error.code } : {}) });
    },
  });

  const kafka = new Kafka({ clientId: name, brokers: options.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [topic, dlqTopic].filter((t) => !existing.has(t));
    if (missing.length > 0) await admin.createTopics({ topics: missing.map((t) => ({ topic: t, numPartitions: 1 })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }

  const out = options.handledFile ? await fs.open(options.handledFile, 'a', 0o600) : undefined;
  const client = options.client ?? kafkaClientFromEnv();
  const groupId = options.groupId ?? name;

  const handle = async ({ partition, message }: { partition: number; message: OpenedMessage }): Promise<void> => {
    const info = message.wireseal;
    const doc = (info.doc ?? null) as JsonValue;
    await options.handle(doc, { partition, offset: message.offset, key: message.key ? message.key.toString('utf8') : null, decrypted: info.decrypted, sealed: info.sealed });
    if (out) await out.write(`${JSON.stringify(doc)}\n`);
    handled++;
    for (const p of info.decrypted) bump(openedByPath, p);
    for (const p of info.sealed) bump(sealedByPath, p);
  };

  const joinTimeout = <T>(what: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: consumer group join timed out`)), options.joinTimeoutMs ?? 60_000);
      what.then(
        (v) => (clearTimeout(timer), resolve(v)),
        (err: unknown) => (clearTimeout(timer), reject(err)),
      );
    });

  /** kafkajs: eachMessage, offsets committed by kafkajs after each record is settled. */
  const consumeKafkajs = async (): Promise<() => Promise<void>> => {
    const dlqProducer = kafka.producer({ allowAutoTopicCreation: false });
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    const stop = async () => {
      await consumer.disconnect().catch(() => undefined);
      await dlqProducer.disconnect().catch(() => undefined);
    };
    try {
      await dlqProducer.connect();
      await consumer.connect();
      const joined = joinTimeout(new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve())));
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ eachMessage: wiresealEachMessage(codec, handle, { deadLetter: { producer: dlqProducer, topic: dlqTopic } }) });
      await joined;
    } catch (err) {
      await stop();
      throw err;
    }
    return stop;
  };

  /**
   * @platformatic/kafka, loaded only here: a stream without autocommit, each record committed by
   * wiresealConsume once settled. When consumption stops on an error (the handler threw, a dead-letter
   * send failed), a new stream in the same group starts again at that record, as kafkajs retries.
   */
  const consumePlatformatic = async (): Promise<() => Promise<void>> => {
    const [{ Consumer, Producer }, { wiresealConsume }] = await Promise.all([import('@platformatic/kafka'), import('@wireseal/kafka/platformatic')]);
    const dlqProducer = new Producer({ clientId: name, bootstrapBrokers: options.brokers });
    const consumer = new Consumer({ clientId: name, groupId, bootstrapBrokers: options.brokers, maxWaitTime: 500 });
    let stopping = false;
    let stream: Awaited<ReturnType<typeof consumer.consume>> | undefined;
    let running: Promise<void> = Promise.resolve();
    const start = async (): Promise<void> => {
      stream = await consumer.consume({ topics: [topic], autocommit: false, mode: 'committed', fallbackMode: 'earliest' });
      running = wiresealConsume(stream, codec, handle, { deadLetter: { producer: dlqProducer, topic: dlqTopic } }).catch((err: unknown) => {
        if (stopping) return;
        emit({ event: 'consumer-restart', client: 'platformatic', error: err instanceof Error ? err.message : String(err) });
        setTimeout(() => void (stopping ? undefined : start().catch(() => undefined)), 1000).unref();
      });
    };
    const stop = async () => {
      stopping = true;
      await stream?.close().catch(() => undefined);
      await running;
      await consumer.close(true).catch(() => undefined);
      await dlqProducer.close().catch(() => undefined);
    };
    try {
      await joinTimeout(start());
    } catch (err) {
      await stop();
      throw err;
    }
    return stop;
  };

  let server: http.Server | undefined;
  let stopConsuming: () => Promise<void> = async () => undefined;
  const cleanup = async (): Promise<void> => {
    await stopConsuming().catch(() => undefined);
    await out?.close().catch(() => undefined);
  };
  try {
    stopConsuming = client === 'platformatic' ? await consumePlatformatic() : await consumeKafkajs();
    const stats = (): EventConsumerStats & X => ({
      ...codec.stats,
      handled,
      openedByPath: { ...openedByPath },
      sealedByPath: { ...sealedByPath },
      deadLetteredByCode: { ...deadLetteredByCode },
      ...(options.extraStats?.() as X),
    });
    const health = options.health ?? (() => serviceHealth({ keys: options.keys }));
    server = http.createServer((req, res) => {
      const probe = probeAnswer(req.url, health);
      if (probe) return void res.writeHead(probe.status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(probe.body));
      const body = req.url === '/stats' ? stats() : req.url === '/health' ? { ok: true } : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'not found' }));
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
    });
    const { address, port } = server.address() as AddressInfo;
    const srv = server;
    return {
      url: `http://${address}:${port}`,
      topic,
      dlqTopic,
      client,
      stats,
      async stop() {
        await new Promise<void>((resolve) => srv.close(() => resolve()));
        await cleanup();
      },
    };
  } catch (err) {
    server?.close();
    await cleanup();
    throw err;
  }
}
