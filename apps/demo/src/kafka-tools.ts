/**
 * The demo's own Kafka work, with plain kafkajs and no wireseal codec:
 * saying exactly what is missing when a broker cannot run here, publishing
 * poison records, and reading topics raw, as any consumer without keys (or
 * the broker's admin) would.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FieldPolicy, KeySet, PrivateKeySet, PublicKeySet, encryptFields } from '@wireseal/core';
import type { FieldPolicyJson, JsonValue, Keyring } from '@wireseal/core';
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

/** The consumers of the payments topic, each with its own keyring. */
export const CONSUMERS = ['ledger-worker', 'fraud-scorer', 'analytics'] as const;
export type ConsumerName = (typeof CONSUMERS)[number];

/**
 * One poison record and, per consumer, the error code it must dead-letter it
 * with, or `null`: the consumer holds no key for the broken part, so it
 * cannot tell, and hands the record on with that part sealed.
 */
export interface Poison {
  key: string;
  value: string;
  expected: Record<ConsumerName, string | null>;
}

/**
 * Records that must not open, each broken in one audience or in all: a
 * tampered card number (pci) and a tampered SSN (pii), a record sealed for
 * another topic, a card token copied from another event (bound to its id),
 * one sealed with keys nobody has, the two tokens swapped, and a value that is
 * not JSON. Each consumer catches what its keys let it check. None holds a
 * plaintext card number or SSN. `docs`: at least 8 plaintext events.
 */
export function poisonRecords(keys: Keyring, topic: string, policyJson: FieldPolicyJson, docs: JsonValue[]): Poison[] {
  const policy = FieldPolicy.parse(policyJson);
  type Sealed = { card: { number: string }; customer: { ssn: string } };
  const sealed = (doc: JsonValue, k: Keyring = keys, t = topic): Sealed => encryptFields(k, doc, policy, { context: { topic: t } }) as Sealed;
  const tamper = (token: string): string => {
    const at = token.lastIndexOf('.') - 2; // inside the ciphertext
    return token.slice(0, at) + (token[at] === 'x' ? 'y' : 'x') + token.slice(at + 1);
  };
  const badCard = sealed(docs[0]!);
  badCard.card.number = tamper(badCard.card.number);
  const badSsn = sealed(docs[1]!);
  badSsn.customer.ssn = tamper(badSsn.customer.ssn);
  const moved = sealed(docs[3]!);
  moved.card.number = sealed(docs[7]!).card.number;
  const swapped = sealed(docs[5]!);
  [swapped.card.number, swapped.customer.ssn] = [swapped.customer.ssn, swapped.card.number];
  const rogue: Keyring = { pci: PublicKeySet.of(PrivateKeySet.generate({ kid: 'rogue-pci', type: 'X25519' })), pii: KeySet.generate({ kid: 'rogue-pii' }) };
  const e = (ledger: string | null, fraud: string | null, analytics: string | null): Poison['expected'] => ({ 'ledger-worker': ledger, 'fraud-scorer': fraud, analytics });
  return [
    { key: 'poison-tampered-card', value: JSON.stringify(badCard), expected: e('ERR_DECRYPT', null, null) },
    { key: 'poison-tampered-ssn', value: JSON.stringify(badSsn), expected: e(null, 'ERR_DECRYPT', null) },
    { key: 'poison-other-topic', value: JSON.stringify(sealed(docs[2]!, keys, 'payments.refunded')), expected: e('ERR_CONTEXT_MISMATCH', 'ERR_CONTEXT_MISMATCH', null) },
    { key: 'poison-card-from-other-event', value: JSON.stringify(moved), expected: e('ERR_CONTEXT_MISMATCH', null, null) },
    { key: 'poison-rogue-keys', value: JSON.stringify(sealed(docs[4]!, rogue)), expected: e('ERR_KEY_UNKNOWN', 'ERR_KEY_UNKNOWN', null) },
    // Each token now sits under the other audience's path: refused on its field binding (wsf),
    // which is checked before the audience's algorithms and keys.
    { key: 'poison-swapped-fields', value: JSON.stringify(swapped), expected: e('ERR_FIELD_MISMATCH', 'ERR_FIELD_MISMATCH', null) },
    { key: 'poison-not-json', value: '{"type":"payment.authorized", truncated', expected: e('ERR_TOKEN_MALFORMED', 'ERR_TOKEN_MALFORMED', 'ERR_TOKEN_MALFORMED') },
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
