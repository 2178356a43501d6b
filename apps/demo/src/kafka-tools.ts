/**
 * The demo's own Kafka work, with plain kafkajs and no wireseal codec:
 * saying exactly what is missing when a broker cannot run here, publishing
 * poison records, and reading topics raw, as any consumer without keys (or
 * the broker's admin) would.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FieldPolicy, KeySet, encryptFields } from '@wireseal/core';
import type { JsonValue } from '@wireseal/core';
import { kafkaAvailable } from '@wireseal-tooling/local-kafka';
import { Kafka, logLevel } from 'kafkajs';

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function hasKafkaJars(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
  } catch {
    return false;
  }
}

/**
 * Undefined when a broker can run; else the lines that say what is missing
 * (java, mvn, the jars: each checked on its own) and how to get it.
 */
export function kafkaMissing(repoRoot: string): string[] | undefined {
  if (kafkaAvailable().ok) return undefined;
  const javaHome = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : undefined;
  const java = javaHome && fs.existsSync(javaHome) ? javaHome : onPath('java');
  const mvn = onPath('mvn');
  const libs = process.env.WIRESEAL_KAFKA_LIBS ?? path.join(repoRoot, '.toolchain', 'kafka', 'libs');
  const jars = hasKafkaJars(libs);
  const install = [java ? '' : 'Java 17+', mvn || jars ? '' : 'Maven'].filter(Boolean).join(' and ');
  return [
    `java:       ${java ? `found (${java})` : 'MISSING (Java 17+ runs the local Kafka broker; set JAVA_HOME or put java on PATH)'}`,
    `mvn:        ${mvn ? `found (${mvn})` : `MISSING (Maven fetches the Kafka jars${jars ? '; not needed now, the jars are there' : ''})`}`,
    `Kafka jars: ${jars ? `found in ${libs}` : `MISSING in ${libs}`}`,
    `To run the Kafka part: ${install ? `install ${install}, then ` : ''}${jars ? '' : './dev setup (fetches the Kafka jars with Maven), then '}./dev demo.`,
  ];
}

/** One poison record and the error code the consumer must dead-letter it with. */
export interface Poison {
  expected: string;
  key: string;
  value: string;
}

/**
 * Records that must not open: a tampered token, a record sealed for another
 * topic, one sealed with a key nobody has, two tokens swapped between fields,
 * and a value that is not JSON. None holds a plaintext card number.
 */
export function poisonRecords(keys: KeySet, topic: string, policyPaths: readonly string[], docs: JsonValue[]): Poison[] {
  const policy = FieldPolicy.parse(policyPaths);
  const sealed = (doc: JsonValue, k = keys, t = topic) => encryptFields(k, doc, policy, { context: { topic: t } }) as { card: { number: string }; customer: { ssn: string } };
  const tampered = sealed(docs[0]!);
  const t = tampered.card.number;
  const at = t.lastIndexOf('.') - 2; // inside the ciphertext
  tampered.card.number = t.slice(0, at) + (t[at] === 'x' ? 'y' : 'x') + t.slice(at + 1);
  const swapped = sealed(docs[3]!);
  [swapped.card.number, swapped.customer.ssn] = [swapped.customer.ssn, swapped.card.number];
  return [
    { expected: 'ERR_DECRYPT', key: 'poison-tampered', value: JSON.stringify(tampered) },
    { expected: 'ERR_CONTEXT_MISMATCH', key: 'poison-other-topic', value: JSON.stringify(sealed(docs[1]!, keys, 'payments.refunded')) },
    { expected: 'ERR_KEY_UNKNOWN', key: 'poison-rogue-key', value: JSON.stringify(sealed(docs[2]!, KeySet.generate({ kid: 'rogue-key' }))) },
    { expected: 'ERR_FIELD_MISMATCH', key: 'poison-swapped-fields', value: JSON.stringify(swapped) },
    { expected: 'ERR_TOKEN_MALFORMED', key: 'poison-not-json', value: '{"type":"payment.authorized", truncated' },
  ];
}

/** Publishes records as they are (no codec), marked as wireseal records. */
export async function publishRaw(brokers: string[], topic: string, records: readonly Poison[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'demo-poison', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, headers: { wireseal: '1', 'event-type': 'payment.authorized' } })) });
  } finally {
    await producer.disconnect();
  }
}

/** A record as read raw. */
export interface RawRecord {
  topic: string;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** Reads topics from the beginning until `counts[topic]` records each (or the timeout). No keys, no codec. */
export async function readRaw(brokers: string[], counts: Record<string, number>, timeoutMs = 30_000): Promise<Map<string, RawRecord[]>> {
  const kafka = new Kafka({ clientId: 'demo-raw-reader', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `demo-raw-reader-${Date.now()}`, allowAutoTopicCreation: false });
  const out = new Map<string, RawRecord[]>(Object.keys(counts).map((t) => [t, []]));
  const done = (): boolean => Object.entries(counts).every(([t, n]) => out.get(t)!.length >= n);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: Object.keys(counts), fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void consumer.run({
        eachMessage: async ({ topic, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
          out.get(topic)!.push({ topic, offset: message.offset, key: message.key ? message.key.toString('utf8') : null, value: message.value ?? Buffer.alloc(0), headers });
          if (done()) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
