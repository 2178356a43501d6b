// Starts a local broker, round-trips messages through it with kafkajs, restarts it and checks the data survived.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaAvailable, startKafka } from '../src/index.js';

const avail = kafkaAvailable();
const skip = avail.ok ? false : `local Kafka unavailable: ${avail.reason}`;
const TOPIC = `local-kafka-test-${Date.now()}`;

/** @type {import('../src/index.js').KafkaHandle | undefined} */
let kafka;

before(async () => {
  if (skip) return;
  kafka = await startKafka();
}, { timeout: 120_000 });

after(async () => {
  await kafka?.stop();
});

/** @param {string[]} brokers */
const client = (brokers) =>
  new Kafka({ clientId: 'local-kafka-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });

/** @param {string[]} brokers @param {number} from @param {number} count */
async function produce(brokers, from, count) {
  const producer = client(brokers).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const messages = Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: JSON.stringify({ n: from + i }) }));
    await producer.send({ topic: TOPIC, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Reads the topic from the beginning with a fresh consumer group until `expected` messages arrived.
 * @param {string[]} brokers @param {number} expected
 */
async function consumeAll(brokers, expected) {
  const consumer = client(brokers).consumer({ groupId: `g-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 200 });
  /** @type {{ key: string, value: any, offset: string }[]} */
  const got = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length}/${expected} messages within 20 s`)), 20_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push({ key: String(message.key), value: JSON.parse(String(message.value)), offset: message.offset });
            if (got.length >= expected) {
              clearTimeout(timer);
              resolve(undefined);
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** @param {{ key: string, value: any }[]} got @param {number} count */
function assertSequence(got, count) {
  assert.equal(got.length, count);
  got.forEach((m, i) => {
    assert.equal(m.key, `k${i}`);
    assert.deepEqual(m.value, { n: i });
  });
}

test('broker handle points at loopback', { skip }, () => {
  assert.ok(kafka);
  assert.equal(kafka.brokers.length, 1);
  if (!kafka.external) assert.match(kafka.brokers[0], /^127\.0\.0\.1:\d+$/);
});

test('create topic, produce 100, consume 100', { skip, timeout: 60_000 }, async () => {
  assert.ok(kafka);
  const admin = client(kafka.brokers).admin();
  await admin.connect();
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true }), true);
  } finally {
    await admin.disconnect();
  }
  await produce(kafka.brokers, 0, 100);
  assertSequence(await consumeAll(kafka.brokers, 100), 100);
});

test('data survives a restart', { skip, timeout: 90_000 }, async () => {
  assert.ok(kafka);
  const t0 = Date.now();
  await kafka.restart();
  const ms = Date.now() - t0;
  assert.ok(ms < 60_000, `restart took ${ms} ms`);
  await produce(kafka.brokers, 100, 100);
  assertSequence(await consumeAll(kafka.brokers, 200), 200);
});
