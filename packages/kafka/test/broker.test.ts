// Against a real Kafka broker: field-mode and whole-value round trips with
// keys and headers preserved (and the wire format checked on the raw
// records); 10,000 messages with the primary key rotated halfway through a
// running consumer, on kafkajs and on @platformatic/kafka; and the two
// clients on one topic: each opens what the other produced, and both put
// exactly the codec's bytes on the wire.
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeExample, runExample } from '@wireseal-tooling/vitest-config/readme';
import type { KafkaHandle } from '@wireseal-tooling/local-kafka';
import { KeySet, decodeProtectedHeader } from '@wireseal/core';
import type { Admin, Consumer, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Message as PlMessage } from '@platformatic/kafka';
import { HEADER_JWE, HEADER_MARKER, createKafkaCodec, wiresealEachBatch, wiresealEachMessage, wiresealProducer } from '@wireseal/kafka';
import type { KafkaCodec, OpenedMessage, ProducedRecord, SealableMessage } from '@wireseal/kafka';
import { wiresealConsume } from '@wireseal/kafka/platformatic';
import { CLIENTS, SwappableKeys, brokerSuite, consumerConfig, createTopics, kafkaUnavailable, plConsumer, plStream, sealedConsumer, sealedProducer, readRaw, uniqueTopic, waitFor } from './cluster.ts';

const unavailable = kafkaUnavailable();

const POLICY = { fields: ['card.number', 'card.cvv', 'card.holder', 'customer.ssn', 'customer.email', 'customer.phone'] };

function paymentDoc(id: number) {
  return {
    id,
    amount: id * 3 + 0.5,
    card: { number: `41111111${String(id).padStart(8, '0')}`, cvv: String(id % 1000).padStart(3, '0'), holder: `Holder ${id}`, exp: '12/29' },
    customer: { ssn: `123-45-${String(id % 10000).padStart(4, '0')}`, email: `c${id}@example.test`, phone: `+1555${id}`, tier: id % 3 },
    note: 'x'.repeat(64),
  };
}

function headerBytes(h: IHeaders[string]): unknown {
  return Array.isArray(h) ? h.map((x) => [...Buffer.from(x)]) : h === undefined ? undefined : [...Buffer.from(h)];
}

/** Reads `count` raw records of a topic from the beginning with a fresh @platformatic/kafka group. */
async function readRawPlatformatic(brokers: string[], topic: string, count: number): Promise<PlMessage[]> {
  const consumer = plConsumer(brokers, uniqueTopic('raw-reader-pl'));
  const out: PlMessage[] = [];
  try {
    const stream = await plStream(consumer, [topic]);
    stream.on('data', (m: PlMessage) => void out.push(m));
    await waitFor(() => out.length >= count, `${count} raw records on ${topic} (platformatic)`);
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return out;
}

/** Records every value the codec sealed, in order: what the producer wrappers handed to their client. */
function recordEncodes(codec: KafkaCodec): ProducedRecord[] {
  const out: ProducedRecord[] = [];
  const encode = codec.encode.bind(codec);
  codec.encode = (topic: string, message: SealableMessage) => {
    const r = encode(topic, message);
    out.push(r);
    return r;
  };
  return out;
}

/** Header name -> list of byte arrays, in order, from either client's raw record. */
function headerList(h: IHeaders | undefined): Array<[string, number[]]> {
  const out: Array<[string, number[]]> = [];
  for (const [k, v] of Object.entries(h ?? {})) for (const one of Array.isArray(v) ? v : [v]) out.push([k, [...Buffer.from(one as Buffer | string)]]);
  return out;
}

describe.skipIf(!!unavailable)('against a real broker', () => {
  const suite = brokerSuite();
  let handle: KafkaHandle;
  let kafka: Kafka;
  let admin: Admin;
  let rawProducer: Producer;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    ({ handle, kafka, admin } = suite);
    rawProducer = kafka.producer();
    await rawProducer.connect();
    suite.onTeardown(async () => {
      for (const c of consumers) await c.disconnect().catch(() => undefined);
      await rawProducer.disconnect();
    });
  });

  it('the README example runs as written against this broker (only its address changed)', async () => {
    const example = readmeExample(new URL('../README.md', import.meta.url), '## Example');
    expect(example).toContain("brokers: ['localhost:9092']");
    // A fresh topic and group, so a shared cluster (WIRESEAL_KAFKA_BROKERS) holds no earlier run's records.
    const topic = uniqueTopic('readme-topic');
    const code = example
      .replace("brokers: ['localhost:9092']", `brokers: ${JSON.stringify(handle.brokers)}`)
      .replace('topics: { payments:', `topics: { '${topic}':`)
      .replaceAll("'payments'", `'${topic}'`)
      .replace("groupId: 'ledger'", `groupId: '${uniqueTopic('readme-ledger')}'`);
    expect(code).not.toMatch(/'payments'|{ payments:/);
    const run = await runExample(code, {
      cwd: fileURLToPath(new URL('..', import.meta.url)), // resolves '@wireseal/kafka' (self-reference), '@wireseal/core' and kafkajs
      env: { ...process.env, NODE_OPTIONS: '--disable-warning=TimeoutNegativeWarning' },
      until: (out) => out.includes('\n'),
      timeoutMs: 120_000,
    });
    expect(run).toEqual({ code: 0, out: "p-1 { id: 'p-1', card: { number: '4111111111111111', cvv: '123' } }\n", err: '' });
    // What the broker holds is sealed: the card fields are tokens, the id is not.
    const [raw] = await readRaw(kafka, topic, 1);
    const value = JSON.parse(raw!.value!.toString()) as { id: string; card: { number: string; cvv: string } };
    expect(value.id).toBe('p-1');
    expect(decodeProtectedHeader(value.card.number).wsf).toBe('card.number');
    expect(raw!.value!.toString()).not.toContain('4111111111111111');
  });

  it('the @platformatic/kafka README example runs as written against this broker (only its address and names changed)', async () => {
    const example = readmeExample(new URL('../README.md', import.meta.url), '### Example on @platformatic/kafka');
    expect(example).toContain("const bootstrapBrokers = ['localhost:9092'];");
    const topic = uniqueTopic('readme-pl-topic');
    await createTopics(admin, [topic]); // platformatic producers do not have the broker create topics (autocreateTopics: false)
    const code = example
      .replace("const bootstrapBrokers = ['localhost:9092'];", `const bootstrapBrokers = ${JSON.stringify(handle.brokers)};`)
      .replace('topics: { payments:', `topics: { '${topic}':`)
      .replaceAll("'payments'", `'${topic}'`)
      .replace("groupId: 'ledger'", `groupId: '${uniqueTopic('readme-pl-ledger')}'`);
    expect(code).not.toMatch(/'payments'|{ payments:/);
    const run = await runExample(code, {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      until: (out) => out.includes('\n'),
      timeoutMs: 120_000,
    });
    expect(run).toEqual({ code: 0, out: "p-1 { id: 'p-1', card: { number: '4111111111111111', cvv: '123' } }\n", err: '' });
    const [raw] = await readRaw(kafka, topic, 1);
    const value = JSON.parse(raw!.value!.toString()) as { id: string; card: { number: string } };
    expect(decodeProtectedHeader(value.card.number).wsf).toBe('card.number');
    expect(raw!.value!.toString()).not.toContain('4111111111111111');
  });

  it('round-trips field-mode and whole-value records with keys and headers preserved', async () => {
    const fields = uniqueTopic('rt-fields');
    const whole = uniqueTopic('rt-whole');
    await createTopics(admin, [fields, whole]);
    const codec = createKafkaCodec({
      keys: KeySet.generate({ kid: 'rt-1' }),
      topics: { [fields]: { mode: 'fields', policy: POLICY }, [whole]: { mode: 'whole', cty: 'application/octet-stream' } },
    });
    const producer = wiresealProducer(kafka.producer(), codec);
    await producer.connect();
    const blob = randomBytes(1000);
    const sent = [
      { topic: fields, key: 'f-1', value: paymentDoc(1), headers: { trace: 'abc', bin: Buffer.from([0, 1, 254, 255]) } },
      { topic: fields, key: null, value: JSON.stringify(paymentDoc(2)), headers: { multi: ['one', 'two'] } },
      { topic: fields, key: 'f-3', value: null }, // tombstone
      { topic: whole, key: Buffer.from([9, 8, 7]), value: blob, headers: { trace: 'def' } },
      { topic: whole, key: 'w-2', value: '' },
      { topic: whole, key: 'w-3', value: 'plain text ✓', headers: { empty: '' } },
    ];
    await producer.sendBatch({
      topicMessages: [fields, whole].map((topic) => ({ topic, messages: sent.filter((s) => s.topic === topic).map(({ topic: _t, ...m }) => m) })),
    });
    await producer.disconnect();

    const got: Array<{ topic: string; message: OpenedMessage }> = [];
    const consumer = kafka.consumer(consumerConfig(uniqueTopic('rt')));
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [fields, whole], fromBeginning: true });
    await consumer.run({
      eachMessage: wiresealEachMessage(codec, async ({ topic, message }) => void got.push({ topic, message }), { deadLetter: { producer: rawProducer } }),
    });
    await waitFor(() => got.length >= sent.length, 'all round-trip records');
    await consumer.disconnect();

    for (const topic of [fields, whole]) {
      const expected = sent.filter((s) => s.topic === topic);
      const actual = got.filter((g) => g.topic === topic).map((g) => g.message);
      expect(actual).toHaveLength(expected.length);
      expected.forEach((s, i) => {
        const m = actual[i]!;
        expect(m.key === null ? null : [...m.key]).toEqual(s.key === null ? null : [...Buffer.from(s.key)]);
        const wantHeaders = Object.fromEntries(Object.entries(s.headers ?? {}).map(([k, v]) => [k, headerBytes(v)]));
        expect(Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, headerBytes(v)]))).toEqual(wantHeaders);
        if (s.value === null) expect(m.value).toBeNull();
        else if (topic === fields) expect(m.wireseal.doc).toEqual(typeof s.value === 'string' ? JSON.parse(s.value) : s.value);
        else expect([...m.value!]).toEqual([...Buffer.from(s.value as Buffer | string)]);
      });
    }
    expect(codec.stats).toMatchObject({ encrypted: 5, decrypted: 5, deadLettered: 0 });

    // On the wire: policy fields are tokens bound to this topic, whole values are raw ciphertext of the same length.
    const rawFields = await readRaw(kafka, fields, 3);
    const doc = JSON.parse(rawFields[0]!.value!.toString());
    expect(doc.amount).toBe(3.5);
    expect(rawFields[0]!.value!.toString()).not.toContain('4111111100000001');
    expect(decodeProtectedHeader(doc.card.number)).toMatchObject({ kid: 'rt-1', wsf: 'card.number', wsc: expect.any(String) });
    expect(rawFields[0]!.headers![HEADER_MARKER]!.toString()).toBe('1');
    expect(rawFields[2]!.value).toBeNull();
    expect(rawFields[2]!.headers).toEqual({});
    const rawWhole = await readRaw(kafka, whole, 3);
    expect(rawWhole[0]!.value!.length).toBe(1000);
    expect(rawWhole[0]!.value!.equals(blob)).toBe(false);
    expect(rawWhole[1]!.value!.length).toBe(0);
    expect(rawWhole[0]!.headers![HEADER_JWE]!.toString().split('.')[3]).toBe('');
  });

  for (const which of CLIENTS) {
    it(`${which}: consumes 10,000 records with the primary key rotated halfway, without a restart`, async () => {
    const topic = uniqueTopic(`rotation-${which}`);
    await createTopics(admin, [topic], 2);
    const N = 10_000;
    const k1 = KeySet.generate({ kid: 'rot-1' });
    const k12 = k1.addKey({ kid: 'rot-2' }); // step 1: new key, decrypt-only
    const writerKeys = new SwappableKeys(k1);
    const readerKeys = new SwappableKeys(k1);
    const topics = { [topic]: { mode: 'fields' as const, policy: POLICY } };
    const writer = createKafkaCodec({ keys: writerKeys, topics });
    const reader = createKafkaCodec({ keys: readerKeys, topics });

    const seen = new Map<number, string>();
    let deliveries = 0;
    let joins = 0;
    let crashes = 0;
    const take = async (m: OpenedMessage) => {
      const d = m.wireseal.doc as ReturnType<typeof paymentDoc>;
      deliveries++;
      seen.set(d.id, `${d.id}|${d.card.number}|${d.card.cvv}|${d.card.holder}|${d.customer.ssn}|${d.customer.email}|${d.customer.phone}`);
    };
    let consumed: Promise<unknown> = new Promise(() => undefined);
    let stopConsumer: () => Promise<void>;
    if (which === 'kafkajs') {
      const consumer = kafka.consumer(consumerConfig(uniqueTopic('rotation')));
      consumers.push(consumer);
      consumer.on(consumer.events.GROUP_JOIN, () => void joins++);
      consumer.on(consumer.events.CRASH, () => void crashes++);
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachBatch: wiresealEachBatch(
          reader,
          async ({ batch }) => {
            for (const m of batch.messages) await take(m);
          },
          { onFailure: 'fail' }, // any record that does not open would stop the test
        ),
      });
      stopConsumer = () => consumer.disconnect();
    } else {
      const consumer = plConsumer(suite.brokers, uniqueTopic('rotation'));
      consumer.on('consumer:group:join', () => void joins++);
      const stream = await plStream(consumer, [topic]);
      // Any record that does not open, or any error, settles this promise and fails the test below.
      consumed = wiresealConsume(stream, reader, async ({ message }) => take(message), { onFailure: 'fail' }).then(
        () => 'ended',
        (err: unknown) => {
          crashes++;
          return err;
        },
      );
      stopConsumer = async () => {
        await stream.close();
        await consumed;
        await consumer.close(true);
      };
    }

    const producer = await sealedProducer(which, suite.brokers, writer);
    const produce = async (from: number, to: number) => {
      for (let i = from; i < to; i += 500) {
        const messages = [];
        for (let j = i; j < Math.min(to, i + 500); j++) messages.push({ key: String(j), value: paymentDoc(j) });
        await producer.send(topic, messages);
      }
    };
    await produce(0, N / 2);
    await waitFor(() => seen.size >= N / 4, 'the consumer to be mid-stream');
    readerKeys.set(k12); // readers learn the new key while consuming
    writerKeys.set(k12.promote('rot-2')); // step 2: the writer seals with the new key
    await produce(N / 2, N);
    readerKeys.set(k12.promote('rot-2')); // readers get the promoted set mid-stream too
    await waitFor(() => seen.size >= N, 'all 10,000 records', 120_000);
    await producer.close();
    expect(await Promise.race([consumed, 'running'])).toBe('running'); // the consumer never stopped
    await stopConsumer();

    const expected = createHash('sha256');
    const actual = createHash('sha256');
    for (let i = 0; i < N; i++) {
      const d = paymentDoc(i);
      expected.update(`${d.id}|${d.card.number}|${d.card.cvv}|${d.card.holder}|${d.customer.ssn}|${d.customer.email}|${d.customer.phone}\n`);
      actual.update(`${seen.get(i)}\n`);
    }
    expect(seen.size).toBe(N);
    expect(deliveries).toBe(N);
    expect(actual.digest('hex')).toBe(expected.digest('hex'));
    expect(reader.stats).toMatchObject({ decrypted: N, failed: 0, passedThrough: 0 });
    expect(joins).toBe(1);
    expect(crashes).toBe(0);

    // Both keys really were used: count the kids on the raw records.
    const kids = new Map<string, number>();
    for (const m of await readRaw(kafka, topic, N)) {
      const kid = decodeProtectedHeader(JSON.parse(m.value!.toString()).card.number).kid!;
      kids.set(kid, (kids.get(kid) ?? 0) + 1);
    }
    expect(Object.fromEntries(kids)).toEqual({ 'rot-1': N / 2, 'rot-2': N / 2 });
    });
  }

  it('one topic, two clients: each opens what the other produced, and both put exactly the codec\'s bytes on the wire', async () => {
    const fields = uniqueTopic('interop-fields');
    const whole = uniqueTopic('interop-whole');
    await createTopics(admin, [fields, whole, `${fields}.dlq`, `${whole}.dlq`]);
    const keys = KeySet.generate({ kid: 'io-1' });
    const topics = { [fields]: { mode: 'fields' as const, policy: POLICY }, [whole]: { mode: 'whole' as const, cty: 'application/json' } };
    const blob = randomBytes(300);
    // The same messages from each client: fields with headers (one repeated), a tombstone, whole values.
    const messagesOf = (by: string): Record<string, SealableMessage[]> => ({
      [fields]: [
        { key: `${by}-f1`, value: paymentDoc(1), headers: { by, multi: ['one', 'two'], bin: Buffer.from([0, 1, 254, 255]) } },
        { key: `${by}-f2`, value: JSON.stringify(paymentDoc(2)), headers: { by } },
        { key: `${by}-f3`, value: null, headers: { by } },
      ],
      [whole]: [
        { key: `${by}-w1`, value: blob, headers: { by } },
        { key: `${by}-w2`, value: '', headers: { by } },
      ],
    });
    const sealed: Record<string, ProducedRecord[]> = {};
    for (const which of CLIENTS) {
      const codec = createKafkaCodec({ keys, topics });
      sealed[which] = recordEncodes(codec);
      const producer = await sealedProducer(which, suite.brokers, codec);
      for (const [topic, messages] of Object.entries(messagesOf(which))) await producer.send(topic, messages);
      await producer.close();
    }
    // kafkajs's records first, then platformatic's, on each topic (one partition).
    const perTopic = { [fields]: 3, [whole]: 2 };

    // Each client's consumer opens all ten records, both producers' alike.
    for (const which of CLIENTS) {
      const codec = createKafkaCodec({ keys, topics });
      const got: Array<{ topic: string; m: OpenedMessage }> = [];
      const consumer = await sealedConsumer(which, suite.brokers, codec, { topics: [fields, whole], groupId: uniqueTopic(`interop-${which}`) }, (topic, _p, m) => void got.push({ topic, m }));
      await waitFor(() => got.length >= 10, `${which} to open all ten records`);
      await consumer.stop();
      expect(codec.stats).toMatchObject({ decrypted: 8, deadLettered: 0, failed: 0 });
      for (const by of CLIENTS) {
        const sent = messagesOf(by);
        const f = got.filter((g) => g.topic === fields && g.m.headers.by?.toString() === by).map((g) => g.m);
        expect(f.map((m) => m.key!.toString())).toEqual([`${by}-f1`, `${by}-f2`, `${by}-f3`]);
        expect(f[0]!.wireseal.doc).toEqual(paymentDoc(1));
        expect(f[1]!.wireseal.doc).toEqual(paymentDoc(2));
        expect(f[2]!.value).toBeNull();
        expect(headerList(f[0]!.headers)).toEqual(headerList(sent[fields]![0]!.headers));
        const w = got.filter((g) => g.topic === whole && g.m.headers.by?.toString() === by).map((g) => g.m);
        expect(w.map((m) => [...m.value!])).toEqual([[...blob], []]);
        expect(w[0]!.wireseal).toMatchObject({ kid: 'io-1', cty: 'application/json' });
      }
    }

    // On the wire: read back raw by both clients, every record is byte for byte what the codec sealed
    // (value, key, each header in order), whichever client produced it.
    for (const topic of [fields, whole]) {
      const n = perTopic[topic]!;
      const want = CLIENTS.flatMap((which) => sealed[which]!.filter((_r, i) => (topic === fields ? i < 3 : i >= 3)));
      expect(want).toHaveLength(2 * n);
      const viaKafkajs = await readRaw(kafka, topic, 2 * n);
      const viaPlatformatic = await readRawPlatformatic(suite.brokers, topic, 2 * n);
      want.forEach((r, i) => {
        const value = r.value === null ? null : [...Buffer.from(r.value)];
        const k = viaKafkajs[i]!;
        const p = viaPlatformatic[i]!;
        expect(k.value === null ? null : [...k.value]).toEqual(value);
        expect(p.value == null ? null : [...p.value]).toEqual(value); // platformatic: a tombstone has no value
        expect([...k.key!]).toEqual([...Buffer.from(r.key as string)]);
        expect([...p.key]).toEqual([...Buffer.from(r.key as string)]);
        expect(headerList(k.headers)).toEqual(headerList(r.headers));
        expect(p.headerEntries.map(([hk, hv]) => [hk.toString(), [...hv]])).toEqual(headerList(r.headers));
      });
      // Same framing from both producers: the same header names, in the same order.
      const names = (i: number) => headerList(viaKafkajs[i]!.headers).map(([name]) => name).filter((name) => name !== 'by');
      for (let i = 0; i < n; i++) expect(names(n + i)).toEqual(names(i));
      if (topic === whole) {
        expect(viaKafkajs[0]!.value!.length).toBe(300);
        expect(viaKafkajs[n]!.value!.length).toBe(300);
        expect(String(viaKafkajs[n]!.headers![HEADER_JWE]).split('.')[3]).toBe('');
      }
    }
  });
});
