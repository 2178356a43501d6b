// Metrics through the OpenTelemetry API, read with the SDK, against a real
// broker: a writer codec seals records under kid A, B is promoted, it seals
// more; plaintext (migrate topic: passed through) and poison records go in
// raw. A reader codec behind the eachMessage wrapper opens them, dead-letters
// the poison, and the counts are exact by outcome, code, kid and topic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaHandle } from '@wireseal-tooling/local-kafka';
import { testMeters } from '@wireseal-tooling/vitest-config/metrics';
import { KeySet } from '@wireseal/core';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { createKafkaCodec, wiresealEachMessage, wiresealProducer } from '@wireseal/kafka';
import type { KafkaCodec } from '@wireseal/kafka';
import { SwappableKeys, broker, client, consumerConfig, createTopics, kafkaUnavailable, uniqueTopic, waitFor } from './cluster.ts';

const unavailable = kafkaUnavailable();

const A = KeySet.generateKey({ kid: 'kmetrics-A', primary: true });
const B = KeySet.generateKey({ kid: 'kmetrics-B' });
const beforePromotion = KeySet.fromJwks({ keys: [A, B] });
const afterPromotion = KeySet.fromJwks({ keys: [{ ...A, key_ops: ['decrypt'] }, { ...B, key_ops: ['encrypt', 'decrypt'] }] });
const doc = (n: number) => ({ id: `m-${n}`, card: { number: `4111-${n}`, cvv: '123' }, amount: n });

describe.skipIf(unavailable !== undefined)('metrics over Kafka (real broker, eachMessage)', () => {
  let handle: KafkaHandle;
  let kafka: Kafka;
  let admin: Admin;
  let raw: Producer;
  let consumer: Consumer;
  const fieldsTopic = uniqueTopic('metrics-fields');
  const wholeTopic = uniqueTopic('metrics-whole');
  const writerMeters = testMeters();
  const readerMeters = testMeters();
  const topics = { [fieldsTopic]: { mode: 'fields' as const, policy: ['card.number', 'card.cvv'], decryptMode: 'migrate' as const }, [wholeTopic]: { mode: 'whole' as const } };
  let reader: KafkaCodec;
  const handled: string[] = [];

  beforeAll(async () => {
    handle = await broker();
    kafka = client(handle.brokers);
    admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [fieldsTopic, wholeTopic, `${fieldsTopic}.dlq`, `${wholeTopic}.dlq`]);
    raw = kafka.producer();
    await raw.connect();
    const writerKeys = new SwappableKeys(beforePromotion);
    const writer = createKafkaCodec({ keys: writerKeys, topics, meterProvider: writerMeters.meterProvider });
    const producer = wiresealProducer(raw, writer);
    const rogue = createKafkaCodec({ keys: KeySet.generate({ kid: 'rogue' }), topics });
    const send = (messages: Array<{ value: Buffer | string }>, topic = fieldsTopic) => raw.send({ topic, acks: -1, messages });

    // Three sealed under A, then the promotion, then two under B.
    await producer.send({ topic: fieldsTopic, acks: -1, messages: [0, 1, 2].map((n) => ({ key: `k${n}`, value: doc(n) })) });
    // Two in plaintext (migrate: passed through) and three poison records, raw.
    await send([{ value: JSON.stringify(doc(3)) }, { value: JSON.stringify(doc(4)) }]);
    const tampered = JSON.parse(String(writer.encode(fieldsTopic, { value: doc(5) }).value));
    const parts = tampered.card.cvv.split('.');
    const i = Math.floor(parts[3].length / 2);
    parts[3] = parts[3].slice(0, i) + (parts[3][i] === 'A' ? 'B' : 'A') + parts[3].slice(i + 1);
    tampered.card.cvv = parts.join('.');
    await raw.send({
      topic: fieldsTopic,
      acks: -1,
      messages: [
        { value: 'not json', headers: { wireseal: '1' } },
        { value: JSON.stringify(tampered), headers: { wireseal: '1' } },
        rogue.encode(fieldsTopic, { value: doc(6) }),
      ],
    });
    writerKeys.set(afterPromotion);
    await producer.send({ topic: fieldsTopic, acks: -1, messages: [7, 8].map((n) => ({ key: `k${n}`, value: doc(n) })) });
    // Whole values: one sealed under B, one plaintext on the strict topic.
    await producer.send({ topic: wholeTopic, acks: -1, messages: [{ value: Buffer.from('{"id":"w-1"}') }] });
    await send([{ value: '{"id":"w-plain"}' }], wholeTopic);

    reader = createKafkaCodec({ keys: new SwappableKeys(afterPromotion), topics, meterProvider: readerMeters.meterProvider });
    consumer = kafka.consumer(consumerConfig(uniqueTopic('metrics')));
    await consumer.connect();
    await consumer.subscribe({ topics: [fieldsTopic, wholeTopic], fromBeginning: true });
    await consumer.run({
      eachMessage: wiresealEachMessage(reader, async ({ message }) => void handled.push(String(message.value)), { deadLetter: { producer: raw } }),
    });
    await waitFor(() => handled.length >= 8 && reader.stats.deadLettered >= 4, '8 records handled and 4 dead-lettered');
  });

  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await raw?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await handle?.stop();
    await writerMeters.shutdown();
    await readerMeters.shutdown();
  });

  it('hands on the good and plaintext records, dead-letters the poison (sanity)', () => {
    expect(handled).toHaveLength(8);
    expect(reader.stats).toMatchObject({ decrypted: 6, passedThrough: 2, deadLettered: 4 });
  });

  it('counts what the consumer opened, passed through and rejected, by code and topic', async () => {
    const open = { package: '@wireseal/kafka', operation: 'open', topic: fieldsTopic, mode: 'fields' };
    expect(await readerMeters.total('wireseal.records', { ...open, outcome: 'opened' })).toBe(5);
    expect(await readerMeters.total('wireseal.records', { ...open, outcome: 'passed_through' })).toBe(2);
    expect(await readerMeters.total('wireseal.records', { ...open, outcome: 'rejected' })).toBe(3);
    for (const code of ['ERR_TOKEN_MALFORMED', 'ERR_DECRYPT', 'ERR_KEY_UNKNOWN']) {
      expect(await readerMeters.total('wireseal.records', { ...open, outcome: 'rejected', code }), code).toBe(1);
    }
    expect(await readerMeters.total('wireseal.values', { ...open, outcome: 'opened', audience: 'default' })).toBe(10);
    expect(await readerMeters.total('wireseal.values', { ...open, outcome: 'passed_through', audience: 'default' })).toBe(4);
    const whole = { operation: 'open', topic: wholeTopic, mode: 'whole' };
    expect(await readerMeters.total('wireseal.records', { ...whole, outcome: 'opened', kid: 'kmetrics-B' })).toBe(1);
    expect(await readerMeters.total('wireseal.records', { ...whole, outcome: 'rejected', code: 'ERR_PLAINTEXT_FIELD' })).toBe(1);
    expect(await readerMeters.total('wireseal.records', { outcome: 'rejected' })).toBe(4);
  });

  it('splits the counts by kid at the promotion, writer and reader alike', async () => {
    const sealed = { operation: 'seal', topic: fieldsTopic, outcome: 'sealed' };
    // The writer also sealed the record that was tampered with (under A).
    expect(await writerMeters.total('wireseal.records', { ...sealed, kid: 'kmetrics-A' })).toBe(4);
    expect(await writerMeters.total('wireseal.records', { ...sealed, kid: 'kmetrics-B' })).toBe(2);
    expect(await writerMeters.total('wireseal.values', { ...sealed, audience: 'default', kid: 'kmetrics-A' })).toBe(8);
    expect(await writerMeters.total('wireseal.values', { ...sealed, audience: 'default', kid: 'kmetrics-B' })).toBe(4);
    expect(await writerMeters.total('wireseal.records', { operation: 'seal', topic: wholeTopic, outcome: 'sealed', kid: 'kmetrics-B' })).toBe(1);
    const opened = { operation: 'open', topic: fieldsTopic, outcome: 'opened' };
    expect(await readerMeters.total('wireseal.records', { ...opened, kid: 'kmetrics-A' })).toBe(3);
    expect(await readerMeters.total('wireseal.records', { ...opened, kid: 'kmetrics-B' })).toBe(2);
    expect(await readerMeters.total('wireseal.values', { ...opened, kid: 'kmetrics-A' })).toBe(6);
    expect(await readerMeters.total('wireseal.values', { ...opened, kid: 'kmetrics-B' })).toBe(4);
  });
});
