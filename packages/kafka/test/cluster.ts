// Test and benchmark plumbing: a broker from tooling/local-kafka (or an
// existing cluster named by WIRESEAL_KAFKA_BROKERS, with optional TLS/SASL
// from the environment), kafkajs clients that never log, and small helpers.
import { randomUUID } from 'node:crypto';
import type { KafkaHandle } from '@wireseal-tooling/local-kafka';
import { kafkaAvailable, startKafka } from '@wireseal-tooling/local-kafka';
import type { Admin, ConsumerConfig, KafkaConfig, SASLOptions } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import { KeySet } from '@wireseal/core';
import type { KeyProvider } from '@wireseal/core';

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
