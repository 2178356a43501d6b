// Test and benchmark plumbing: a broker from tooling/local-kafka (or an
// existing cluster named by WIRESEAL_KAFKA_BROKERS, with optional TLS/SASL
// from the environment), kafkajs and @platformatic/kafka clients that never
// log, one broker fixture per test file (brokerSuite), the two clients behind
// one small interface for the tests that run on both (sealedProducer,
// sealedConsumer), and small helpers.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { KafkaHandle } from '@wireseal-tooling/local-kafka';
import { kafkaAvailable, startKafka } from '@wireseal-tooling/local-kafka';
import type { Admin, ConsumerConfig, KafkaConfig, KafkaMessage, SASLOptions } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import { Consumer as PlConsumer, Producer as PlProducer } from '@platformatic/kafka';
import type { ConsumerOptions as PlConsumerOptions, MessagesStream, SASLOptions as PlSASLOptions } from '@platformatic/kafka';
import { KeySet } from '@wireseal/core';
import type { KeyProvider } from '@wireseal/core';
import { wiresealEachBatch, wiresealEachMessage, wiresealProducer } from '@wireseal/kafka';
import type { FailurePolicy, KafkaCodec, OpenedMessage, SealableMessage } from '@wireseal/kafka';
import { wiresealConsume, wiresealPlatformaticProducer } from '@wireseal/kafka/platformatic';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/** Why Kafka tests cannot run here, or undefined when they can. In CI a missing broker is a failure, not a skip. */
export function kafkaUnavailable(): string | undefined {
  const a = kafkaAvailable();
  if (a.ok) return undefined;
  if (process.env.CI) throw new Error(`Kafka is required in CI: ${a.reason}`);
  return a.reason;
}

/** TLS and SASL for an existing cluster, from WIRESEAL_KAFKA_SSL / WIRESEAL_KAFKA_SASL_{MECHANISM,USERNAME,PASSWORD}. */
export function securityFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (env.WIRESEAL_KAFKA_SSL === '1') out.ssl = true;
  const mechanism = env.WIRESEAL_KAFKA_SASL_MECHANISM;
  if (mechanism) {
    out.sasl = {
      mechanism: mechanism.toLowerCase(),
      username: env.WIRESEAL_KAFKA_SASL_USERNAME ?? '',
      password: env.WIRESEAL_KAFKA_SASL_PASSWORD ?? '',
    } as SASLOptions;
  }
  return out;
}

/** A kafkajs client that never writes to the console. */
export function client(brokers: string[], clientId = 'wireseal-kafka-test'): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
    ...securityFromEnv(),
  });
}

/**
 * A consumer config for tests: a short fetch wait, so `disconnect()` (which
 * waits for the fetch in flight) takes milliseconds instead of 5 s.
 */
export function consumerConfig(groupId: string, extra: Partial<ConsumerConfig> = {}): ConsumerConfig {
  return { groupId, maxWaitTimeInMs: 100, ...extra };
}

/** A @platformatic/kafka producer (Buffer serializers) with the same security settings. */
export function plProducer(brokers: string[], clientId = 'wireseal-kafka-test'): PlProducer<Buffer, Buffer, Buffer, Buffer> {
  return new PlProducer({ clientId, bootstrapBrokers: brokers, retries: 20, retryDelay: 200, ...plSecurityFromEnv() });
}

/** A @platformatic/kafka consumer (Buffer deserializers), short fetch wait as {@link consumerConfig}. */
export function plConsumer(brokers: string[], groupId: string, extra: Partial<PlConsumerOptions<Buffer, Buffer, Buffer, Buffer>> = {}): PlConsumer<Buffer, Buffer, Buffer, Buffer> {
  return new PlConsumer({ clientId: 'wireseal-kafka-test', groupId, bootstrapBrokers: brokers, maxWaitTime: 100, retries: 20, retryDelay: 200, ...plSecurityFromEnv(), ...extra } as PlConsumerOptions<Buffer, Buffer, Buffer, Buffer>);
}

/** A stream as wiresealConsume needs it: no autocommit; from the committed offset, else the beginning (kafkajs `fromBeginning: true`). */
export function plStream(consumer: PlConsumer<Buffer, Buffer, Buffer, Buffer>, topics: string[]): Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> {
  return consumer.consume({ topics, autocommit: false, mode: 'committed', fallbackMode: 'earliest' });
}

function plSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): { tls?: object; sasl?: PlSASLOptions } {
  const out: { tls?: object; sasl?: PlSASLOptions } = {};
  if (env.WIRESEAL_KAFKA_SSL === '1') out.tls = {};
  const mechanism = env.WIRESEAL_KAFKA_SASL_MECHANISM;
  if (mechanism) {
    out.sasl = { mechanism: mechanism.toUpperCase(), username: env.WIRESEAL_KAFKA_SASL_USERNAME ?? '', password: env.WIRESEAL_KAFKA_SASL_PASSWORD ?? '' } as PlSASLOptions;
  }
  return out;
}

/** The Kafka clients the package supports; broker tests run on each. */
export const CLIENTS = ['kafkajs', 'platformatic'] as const;
/** One of {@link CLIENTS}. */
export type ClientName = (typeof CLIENTS)[number];

/** The broker, a kafkajs client and admin for one test file: started before its tests, stopped after (with what they registered). */
export interface BrokerSuite {
  readonly handle: KafkaHandle;
  readonly brokers: string[];
  /** kafkajs, for admin work and raw reads. */
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** Runs at teardown, before the broker stops; errors are ignored. */
  onTeardown(fn: () => unknown): void;
}

/** Registers beforeAll/afterAll for a file's broker (call inside its describe). */
export function brokerSuite(): BrokerSuite {
  let handle: KafkaHandle | undefined;
  let kafka: Kafka | undefined;
  let admin: Admin | undefined;
  const teardown: Array<() => unknown> = [];
  beforeAll(async () => {
    handle = await broker();
    kafka = client(handle.brokers);
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    for (const fn of teardown.reverse()) await Promise.resolve().then(fn).catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await handle?.stop();
  });
  const need = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('brokerSuite: the broker is not started (use it inside a test)');
    return v;
  };
  return {
    get handle() {
      return need(handle);
    },
    get brokers() {
      return need(handle).brokers;
    },
    get kafka() {
      return need(kafka);
    },
    get admin() {
      return need(admin);
    },
    onTeardown: (fn) => void teardown.push(fn),
  };
}

/** A sealing producer on either client: `send` seals for `topic` and sends with `acks: -1`. */
export interface SealedProducer {
  send(topic: string, messages: SealableMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** A sealing producer of `which` client. */
export async function sealedProducer(which: ClientName, brokers: string[], codec: KafkaCodec): Promise<SealedProducer> {
  if (which === 'kafkajs') {
    const p = wiresealProducer(client(brokers).producer(), codec);
    await p.connect();
    return { send: async (topic, messages) => void (await p.send({ topic, acks: -1, messages })), close: () => p.disconnect() };
  }
  const raw = plProducer(brokers);
  const p = wiresealPlatformaticProducer(raw, codec);
  return {
    send: async (topic, messages) => {
      const out = messages.map(({ timestamp, ...m }) => ({ ...m, topic, ...(timestamp === undefined ? {} : { timestamp: BigInt(timestamp) }) }));
      await p.send({ messages: out as Parameters<typeof p.send>[0]['messages'], acks: -1 });
    },
    close: () => raw.close(),
  };
}

/** Options of {@link sealedConsumer}. */
export interface SealedConsumerOptions {
  topics: string[];
  groupId: string;
  onFailure?: FailurePolicy;
  /** The dead-letter topic (default `<topic>.dlq`); a producer of the same client is made for it. */
  dlqTopic?: (source: string) => string;
  /** kafkajs only: `eachMessage` (default) or `eachBatch`. */
  kind?: 'message' | 'batch';
}

/** A running sealed consumer of either client. */
export interface SealedConsumer {
  /** Settles when consumption stops by itself: kafkajs never (see `stop`); platformatic when wiresealConsume settles. */
  readonly done: Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts a wireseal consumer of `which` client; `handler` sees every opened record. */
export async function sealedConsumer(
  which: ClientName,
  brokers: string[],
  codec: KafkaCodec,
  options: SealedConsumerOptions,
  handler: (topic: string, partition: number, message: OpenedMessage) => void | Promise<void>,
): Promise<SealedConsumer> {
  const onFailure = options.onFailure ?? 'dlq';
  if (which === 'kafkajs') {
    const kafka = client(brokers);
    const dlq = kafka.producer();
    if (onFailure === 'dlq') await dlq.connect();
    const deadLetter = onFailure === 'dlq' ? { producer: dlq, ...(options.dlqTopic ? { topic: options.dlqTopic } : {}) } : undefined;
    const consumer = kafka.consumer(consumerConfig(options.groupId));
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: true });
    const opts = { onFailure, ...(deadLetter ? { deadLetter } : {}) };
    if (options.kind === 'batch') {
      await consumer.run({
        eachBatch: wiresealEachBatch(codec, async ({ batch }) => {
          for (const m of batch.messages) await handler(batch.topic, batch.partition, m);
        }, opts),
      });
    } else {
      await consumer.run({ eachMessage: wiresealEachMessage(codec, async ({ topic, partition, message }) => void (await handler(topic, partition, message)), opts) });
    }
    return {
      done: new Promise(() => undefined),
      stop: async () => {
        await consumer.disconnect().catch(() => undefined);
        await dlq.disconnect().catch(() => undefined);
      },
    };
  }
  const dlq = plProducer(brokers);
  const consumer = plConsumer(brokers, options.groupId);
  const stream = await plStream(consumer, options.topics);
  const deadLetter = onFailure === 'dlq' ? { producer: dlq, ...(options.dlqTopic ? { topic: options.dlqTopic } : {}) } : undefined;
  const done = wiresealConsume(stream, codec, async ({ topic, partition, message }) => void (await handler(topic, partition, message)), { onFailure, ...(deadLetter ? { deadLetter } : {}) }).then(
    () => undefined,
    (err: unknown) => err,
  );
  return {
    done,
    stop: async () => {
      await stream.close().catch(() => undefined);
      await done;
      await consumer.close(true).catch(() => undefined);
      await dlq.close().catch(() => undefined);
    },
  };
}

/** Starts the broker for one test file. */
export function broker(): Promise<KafkaHandle> {
  return startKafka();
}

/** A topic name that no other run uses (shared clusters). */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Creates topics and waits for their leaders. */
export async function createTopics(admin: Admin, topics: string[], numPartitions = 1): Promise<void> {
  await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions })) });
}

/** Resolves once `check()` is true; rejects after `timeoutMs` with `what`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The committed offset of a group for partition 0 of a topic (-1 when none). */
export async function committed(admin: Admin, groupId: string, topic: string, partition = 0): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const p = t?.partitions.find((x) => x.partition === partition);
  return p ? Number(p.offset) : -1;
}

/** A key provider whose key set can be swapped at any moment (what a Secrets Manager refresh does). */
export class SwappableKeys implements KeyProvider {
  #keys: KeySet;
  constructor(keys: KeySet) {
    this.#keys = keys;
  }
  set(keys: KeySet): void {
    this.#keys = keys;
  }
  ready(): Promise<void> {
    return Promise.resolve();
  }
  current(): KeySet {
    return this.#keys;
  }
  close(): void {}
}

/** A primary-only key set from a JWK (to build rotation states from the same key bytes). */
export function keySetOf(jwks: object): KeySet {
  return KeySet.fromJwks(jwks as never);
}

/** Reads `count` raw records of a topic from the beginning with a fresh group. */
export async function readRaw(kafka: Kafka, topic: string, count: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer(consumerConfig(uniqueTopic('raw-reader')));
  const out: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void out.push(message) });
    await waitFor(() => out.length >= count, `${count} raw records on ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return out;
}
