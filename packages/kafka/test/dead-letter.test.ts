// Poison records against a real broker: plaintext on a strict topic, a
// tampered token, an unknown kid, a record copied from another topic. With
// `dlq` they land in the dead-letter topic byte-identical to what was
// produced, with the right code, and the good records around them are
// handled in order; the offset is committed only after the dead-letter
// send succeeded. `fail` stops without committing; `skip` is counted.
// Forged records whose policy paths have the wrong shape (an object where the
// policy has [*], a string where it expects an object) and records without a
// `requireMatch` path are dead-lettered the same way, and never handed on.
// The dead-letter, fail and retry cases run on kafkajs (eachMessage and
// eachBatch) and on @platformatic/kafka (wiresealConsume): the dead-letter
// records are the same bytes whichever client consumed.
import { beforeAll, describe, expect, it } from 'vitest';
import type { KafkaHandle } from '@wireseal-tooling/local-kafka';
import { KeySet } from '@wireseal/core';
import type { Admin, Consumer, IHeaders, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { Producer as PlProducer } from '@platformatic/kafka';
import { WiresealError } from '@wireseal/core/errors';
import { wiresealConsume } from '@wireseal/kafka/platformatic';
import { HEADER_JWE, HEADER_MARKER, createKafkaCodec, wiresealEachBatch, wiresealEachMessage } from '@wireseal/kafka';
import { wiresealProducer } from '@wireseal/kafka';
import type { ConsumeOptions, JsonDocument, KafkaCodecEvent, KafkaCodec, TopicConfigs } from '@wireseal/kafka';
import { brokerSuite, committed, consumerConfig, createTopics, kafkaUnavailable, plConsumer, plProducer, plStream, uniqueTopic, waitFor } from './cluster.ts';

/** How a test consumes: kafkajs eachMessage, kafkajs eachBatch, or @platformatic/kafka's stream through wiresealConsume. */
type Kind = 'message' | 'batch' | 'platformatic';
const KINDS: readonly Kind[] = ['message', 'batch', 'platformatic'];
const kindName = (kind: Kind) => (kind === 'message' ? 'kafkajs eachMessage' : kind === 'batch' ? 'kafkajs eachBatch' : 'platformatic wiresealConsume');

const unavailable = kafkaUnavailable();
const POLICY = { fields: ['card.number', 'card.cvv'] };
const keys = KeySet.generate({ kid: 'dlq-1' });
const rogue = KeySet.generate({ kid: 'rogue-9' });

interface Planned {
  message: Message & { value: Buffer; key: Buffer; headers: Record<string, Buffer> };
  good?: string; // the id the handler must see
  code?: string; // the expected dead-letter code
}

function tamper(token: string): string {
  const parts = token.split('.');
  const ct = parts[3]!;
  const i = Math.floor(ct.length / 2);
  parts[3] = ct.slice(0, i) + (ct[i] === 'A' ? 'B' : 'A') + ct.slice(i + 1);
  return parts.join('.');
}

/** Nine records: good, plaintext, good, tampered, good, unknown kid, good, copied from another topic, good. */
function plan(topic: string, mode: 'fields' | 'whole', other: string): Planned[] {
  const topics = { [topic]: mode === 'fields' ? { mode, policy: POLICY } : { mode }, [other]: mode === 'fields' ? { mode, policy: POLICY } : { mode } };
  const codec = createKafkaCodec({ keys, topics });
  const rogueCodec = createKafkaCodec({ keys: rogue, topics });
  const doc = (id: string) => ({ id, card: { number: `4111-${id}`, cvv: '123' }, amount: 10 });
  const bytes = (m: Message, n: number): Planned['message'] => {
    const headers: Record<string, Buffer> = { 'x-case': Buffer.from(`case-${n}`), bin: Buffer.from([0, n, 254, 255]) };
    for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = Buffer.from(v as string | Buffer);
    return { key: Buffer.from(`key-${n}`), value: Buffer.from(m.value as string | Buffer), headers };
  };
  const good = (n: number, id: string): Planned => ({ message: bytes(codec.encode(topic, { value: doc(id) }), n), good: id });
  const sealed = codec.encode(topic, { value: doc('tampered') });
  let tampered: Message;
  if (mode === 'fields') {
    const d = JSON.parse(String(sealed.value));
    d.card.number = tamper(d.card.number);
    tampered = { ...sealed, value: JSON.stringify(d) };
  } else {
    const v = Buffer.from(sealed.value as Buffer);
    v[3] = v[3]! ^ 0x01;
    tampered = { ...sealed, value: v };
  }
  return [
    good(0, `${mode}-g1`),
    { message: bytes({ value: JSON.stringify(doc('plain')) }, 1), code: 'ERR_PLAINTEXT_FIELD' },
    good(2, `${mode}-g2`),
    { message: bytes(tampered, 3), code: 'ERR_DECRYPT' },
    good(4, `${mode}-g3`),
    { message: bytes(rogueCodec.encode(topic, { value: doc('rogue') }), 5), code: 'ERR_KEY_UNKNOWN' },
    good(6, `${mode}-g4`),
    { message: bytes(codec.encode(other, { value: doc('copied') }), 7), code: 'ERR_CONTEXT_MISMATCH' },
    good(8, `${mode}-g5`),
  ];
}

/** Policy of the shape topics: an array path and a nested-object path. */
const SHAPE_POLICY = ['accounts[*].iban', 'card.number'];
const IBAN = 'DE89370400440532013000';
const CARD = '4111111111111111';

/**
 * Six records on a strict topic with {@link SHAPE_POLICY}: good, accounts as an object keyed "0"
 * (no array, so `[*]` meets an object), good, card as a string (where `card.number` expects an
 * object), a record with `wireseal: 1` and no value at any policy path, good. The forged ones are
 * produced raw, with the `wireseal: 1` header, as a forger bypassing the codec would.
 */
function shapePlan(topic: string): Planned[] {
  const codec = createKafkaCodec({ keys, topics: { [topic]: { mode: 'fields', policy: SHAPE_POLICY } } });
  const raw = (n: number, doc: unknown): Planned['message'] => ({
    key: Buffer.from(`key-${n}`),
    value: Buffer.from(JSON.stringify(doc)),
    headers: { [HEADER_MARKER]: Buffer.from('1'), 'x-case': Buffer.from(`case-${n}`), bin: Buffer.from([0, n, 254, 255]) },
  });
  const good = (n: number, id: string): Planned => {
    const m = codec.encode(topic, { value: { id, accounts: [{ iban: IBAN, bank: 'x' }], card: { number: CARD } } });
    const headers: Record<string, Buffer> = { 'x-case': Buffer.from(`case-${n}`) };
    for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = Buffer.from(v as string);
    return { message: { key: Buffer.from(`key-${n}`), value: Buffer.from(m.value as string), headers }, good: id };
  };
  return [
    good(0, 'shape-g1'),
    { message: raw(1, { id: 'forged-object', accounts: { '0': { iban: IBAN } } }), code: 'ERR_PLAINTEXT_FIELD' },
    good(2, 'shape-g2'),
    { message: raw(3, { id: 'forged-string', card: CARD }), code: 'ERR_PLAINTEXT_FIELD' },
    { message: raw(4, { id: 'no-fields', amount: 5 }), good: 'no-fields' }, // handed on, unless requireMatch
    good(5, 'shape-g3'),
  ];
}

function idOf(m: { wireseal: { doc?: unknown }; value: Buffer | null }): string {
  const doc = (m.wireseal.doc ?? JSON.parse(m.value!.toString())) as { id: string };
  return doc.id;
}

describe.skipIf(!!unavailable)('poison records against a real broker', () => {
  const suite = brokerSuite();
  let handle: KafkaHandle;
  let kafka: Kafka;
  let admin: Admin;
  let dlqProducer: Producer;
  let plDlqProducer: PlProducer<Buffer, Buffer, Buffer, Buffer>;
  const consumers: Consumer[] = [];
  const stops: Array<() => Promise<void>> = [];
  const fieldsTopic = uniqueTopic('poison-fields');
  const wholeTopic = uniqueTopic('poison-whole');
  const otherTopic = uniqueTopic('other');
  const shapeTopic = uniqueTopic('poison-shape');
  const sendTopic = uniqueTopic('refused-sends');
  const planned: Record<string, Planned[]> = {};
  const topicsConfig = { [fieldsTopic]: { mode: 'fields' as const, policy: POLICY }, [wholeTopic]: { mode: 'whole' as const } };

  beforeAll(async () => {
    ({ handle, kafka, admin } = suite);
    const dlqs = [fieldsTopic, wholeTopic, shapeTopic].flatMap((t) => [`${t}.dlq`, `${t}.dlq-batch`, `${t}.dlq-retry`, `${t}.dlq-platformatic`, `${t}.dlq-retry-platformatic`]);
    await createTopics(admin, [fieldsTopic, wholeTopic, otherTopic, shapeTopic, sendTopic, ...dlqs]);
    dlqProducer = kafka.producer({ idempotent: true });
    await dlqProducer.connect();
    plDlqProducer = plProducer(handle.brokers);
    suite.onTeardown(async () => {
      for (const c of consumers) await c.disconnect().catch(() => undefined);
      for (const stop of stops) await stop();
      await dlqProducer.disconnect();
      await plDlqProducer.close();
    });
    planned[fieldsTopic] = plan(fieldsTopic, 'fields', otherTopic);
    planned[wholeTopic] = plan(wholeTopic, 'whole', otherTopic);
    planned[shapeTopic] = shapePlan(shapeTopic);
    const producer = kafka.producer();
    await producer.connect();
    for (const topic of [fieldsTopic, wholeTopic, shapeTopic]) await producer.send({ topic, acks: -1, messages: planned[topic]!.map((p) => p.message) });
    await producer.disconnect();
  });


  async function readAll(topic: string, count: number): Promise<KafkaMessage[]> {
    const out: KafkaMessage[] = [];
    const consumer = kafka.consumer(consumerConfig(uniqueTopic('reader')));
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void out.push(message) });
      await waitFor(() => out.length >= count, `${count} records on ${topic}`);
      await new Promise((r) => setTimeout(r, 300)); // and no more than that
    } finally {
      await consumer.disconnect();
    }
    return out;
  }

  type Run = {
    codec: KafkaCodec;
    events: KafkaCodecEvent[];
    handled: Array<{ topic: string; id: string; offset: string }>;
    /** kafkajs runs only. */
    consumer?: Consumer;
    groupId: string;
    stopped: () => boolean;
    /** platformatic runs: what wiresealConsume settled with (undefined while it runs). */
    outcome: () => unknown;
    stop: () => Promise<void>;
  };

  /** kafkajs dead-letter options as the tests write them, for a platformatic run: the platformatic producer (or a closed one), same topic. */
  function platformaticDeadLetter(options: ConsumeOptions, broken: PlProducer<Buffer, Buffer, Buffer, Buffer> | undefined) {
    if (!options.deadLetter) return undefined;
    const topic = options.deadLetter.topic;
    return { producer: broken ?? plDlqProducer, ...(topic === undefined ? {} : { topic }) };
  }

  async function run(
    kind: Kind,
    topics: string[],
    options: ConsumeOptions,
    groupId = uniqueTopic('g'),
    stopOnFail = true,
    config: TopicConfigs = topicsConfig,
    brokenPlatformaticDlq?: PlProducer<Buffer, Buffer, Buffer, Buffer>,
  ): Promise<Run> {
    const events: KafkaCodecEvent[] = [];
    const codec = createKafkaCodec({ keys, topics: config, onEvent: (e) => events.push(e) });
    const handled: Run['handled'] = [];
    if (kind === 'platformatic') {
      const consumer = plConsumer(handle.brokers, groupId);
      const stream = await plStream(consumer, topics);
      const deadLetter = platformaticDeadLetter(options, brokenPlatformaticDlq);
      let outcome: unknown;
      let settled = false;
      const done = wiresealConsume(stream, codec, async ({ topic, message }) => void handled.push({ topic, id: idOf(message), offset: message.offset }), {
        ...(options.onFailure ? { onFailure: options.onFailure } : {}),
        ...(deadLetter ? { deadLetter } : {}),
      }).then(
        () => void (settled = true),
        (err: unknown) => void ((settled = true), (outcome = err)),
      );
      const stop = async () => {
        await stream.close().catch(() => undefined);
        await done;
        await consumer.close(true).catch(() => undefined);
      };
      stops.push(stop);
      return { codec, events, handled, groupId, stopped: () => settled, outcome: () => outcome, stop };
    }
    const consumer = kafka.consumer(consumerConfig(groupId, { retry: { retries: 3, initialRetryTime: 100 } }));
    consumers.push(consumer);
    let stopped = false;
    consumer.on(consumer.events.STOP, () => void (stopped = true));
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    const opts = options.onFailure === 'fail' && stopOnFail ? { ...options, consumer } : options;
    if (kind === 'message') {
      await consumer.run({
        eachMessage: wiresealEachMessage(codec, async ({ topic, message }) => void handled.push({ topic, id: idOf(message), offset: message.offset }), opts),
      });
    } else {
      await consumer.run({
        eachBatch: wiresealEachBatch(
          codec,
          async ({ batch }) => {
            for (const m of batch.messages) handled.push({ topic: batch.topic, id: idOf(m), offset: m.offset });
          },
          opts,
        ),
      });
    }
    return { codec, events, handled, consumer, groupId, stopped: () => stopped, outcome: () => undefined, stop: () => consumer.disconnect() };
  }

  async function expectDeadLetters(topic: string, dlqTopic: string, plannedHere: Planned[] = planned[topic]!): Promise<void> {
    const poison = plannedHere.map((p, offset) => ({ ...p, offset })).filter((p) => p.code);
    const dl = await readAll(dlqTopic, poison.length);
    expect(dl).toHaveLength(poison.length);
    dl.forEach((m, i) => {
      const p = poison[i]!;
      // The original record, byte for byte.
      expect(m.key!.equals(p.message.key)).toBe(true);
      expect(m.value!.equals(p.message.value)).toBe(true);
      for (const [k, v] of Object.entries(p.message.headers)) expect((m.headers![k] as Buffer).equals(v)).toBe(true);
      // Plus exactly the wireseal dead-letter headers.
      const extra = Object.keys(m.headers!).filter((k) => !(k in p.message.headers)).sort();
      expect(extra).toEqual(['wireseal-error', 'wireseal-source-offset', 'wireseal-source-partition', 'wireseal-source-topic']);
      expect(m.headers!['wireseal-error']!.toString()).toBe(p.code);
      expect(m.headers!['wireseal-source-topic']!.toString()).toBe(topic);
      expect(m.headers!['wireseal-source-partition']!.toString()).toBe('0');
      expect(m.headers!['wireseal-source-offset']!.toString()).toBe(String(p.offset));
    });
  }

  const goodIds = (topic: string) => planned[topic]!.filter((p) => p.good).map((p) => p.good);

  it('the poison records are what they claim (the whole-value ones carry wireseal headers except the plaintext one)', () => {
    const w = planned[wholeTopic]!;
    expect(w[1]!.message.headers[HEADER_MARKER]).toBeUndefined();
    for (const i of [3, 5, 7]) expect(w[i]!.message.headers[HEADER_JWE]).toBeDefined();
  });

  for (const kind of KINDS) {
    it(`${kindName(kind)} + dlq: poison records land in the DLQ intact, good ones are handled in order, all offsets committed`, async () => {
      const suffix = kind === 'message' ? '.dlq' : kind === 'batch' ? '.dlq-batch' : '.dlq-platformatic';
      const deadLetter = kind === 'message' ? { producer: dlqProducer } : { producer: dlqProducer, topic: (t: string) => `${t}${suffix}` };
      const r = await run(kind, [fieldsTopic, wholeTopic], { deadLetter });
      await waitFor(() => r.handled.length >= 10 && r.codec.stats.deadLettered >= 8, 'good records and dead letters');
      for (const topic of [fieldsTopic, wholeTopic]) {
        expect(r.handled.filter((h) => h.topic === topic).map((h) => h.id)).toEqual(goodIds(topic));
      }
      await expect.poll(async () => [await committed(admin, r.groupId, fieldsTopic), await committed(admin, r.groupId, wholeTopic)], { timeout: 15_000 }).toEqual([9, 9]);
      await r.stop();
      expect(r.outcome()).toBeUndefined();
      expect(r.codec.stats).toMatchObject({ decrypted: 10, deadLettered: 8, skipped: 0, failed: 0 });
      for (const topic of [fieldsTopic, wholeTopic]) {
        const dl = r.events.filter((e) => e.type === 'dead-lettered').filter((e) => e.topic === topic);
        expect(dl.map((e) => [e.offset, e.error.code])).toEqual(planned[topic]!.map((p, i) => [String(i), p.code]).filter((x) => x[1]));
      }
      await expectDeadLetters(fieldsTopic, `${fieldsTopic}${suffix}`);
      await expectDeadLetters(wholeTopic, `${wholeTopic}${suffix}`);
    });
  }

  it('kafkajs eachMessage + dlq: when the dead-letter send fails the offset is not committed and the record is retried; a restart picks it up', async () => {
    const broken = kafka.producer();
    await broken.connect();
    await broken.disconnect(); // sends now fail
    const groupId = uniqueTopic('g-retry');
    const first = await run('message', [fieldsTopic], { deadLetter: { producer: broken, topic: (t) => `${t}.dlq-retry` } }, groupId);
    await waitFor(() => first.events.filter((e) => e.type === 'dead-letter-failed').length >= 2, 'the failing dead-letter send to be retried');
    expect(first.handled.map((h) => h.id)).toEqual(['fields-g1']);
    expect(new Set(first.events.map((e) => `${e.type}@${e.offset}`))).toEqual(new Set(['dead-letter-failed@1']));
    expect(first.codec.stats.deadLettered).toBe(0);
    expect(await committed(admin, groupId, fieldsTopic)).toBe(1); // good1 committed, the poison record not
    await first.stop();

    const second = await run('message', [fieldsTopic], { deadLetter: { producer: dlqProducer, topic: (t) => `${t}.dlq-retry` } }, groupId);
    await waitFor(() => second.handled.length >= 4 && second.codec.stats.deadLettered >= 4, 'the rest of the topic');
    expect(second.handled.map((h) => h.id)).toEqual(['fields-g2', 'fields-g3', 'fields-g4', 'fields-g5']);
    await expect.poll(() => committed(admin, groupId, fieldsTopic), { timeout: 15_000 }).toBe(9);
    await second.stop();
    await expectDeadLetters(fieldsTopic, `${fieldsTopic}.dlq-retry`);
  });

  it('platformatic wiresealConsume + dlq: when the dead-letter send fails, consumption stops with nothing committed past the last settled record; a new stream picks it up', async () => {
    const broken = plProducer(handle.brokers);
    await broken.close(); // sends now fail
    const groupId = uniqueTopic('g-retry-pl');
    const topic = (t: string) => `${t}.dlq-retry-platformatic`;
    const first = await run('platformatic', [fieldsTopic], { deadLetter: { producer: dlqProducer, topic } }, groupId, true, topicsConfig, broken);
    await waitFor(() => first.stopped(), 'wiresealConsume to reject');
    expect(first.outcome()).toBeInstanceOf(Error);
    expect(first.outcome()).not.toBeInstanceOf(WiresealError); // the producer's own error, passed on
    expect(first.handled.map((h) => h.id)).toEqual(['fields-g1']);
    expect(first.events.map((e) => `${e.type}@${e.offset}`)).toEqual(['dead-letter-failed@1']);
    expect(first.codec.stats.deadLettered).toBe(0);
    await first.stop();
    // Committed: record 0 (handled), never record 1 (neither handled nor dead-lettered) or anything after it.
    await expect.poll(() => committed(admin, groupId, fieldsTopic), { timeout: 15_000 }).toBe(1);
    await new Promise((res) => setTimeout(res, 500));
    expect(await committed(admin, groupId, fieldsTopic)).toBe(1);

    const second = await run('platformatic', [fieldsTopic], { deadLetter: { producer: dlqProducer, topic } }, groupId);
    await waitFor(() => second.handled.length >= 4 && second.codec.stats.deadLettered >= 4, 'the rest of the topic');
    expect(second.handled.map((h) => h.id)).toEqual(['fields-g2', 'fields-g3', 'fields-g4', 'fields-g5']);
    await expect.poll(() => committed(admin, groupId, fieldsTopic), { timeout: 15_000 }).toBe(9);
    await second.stop();
    await expectDeadLetters(fieldsTopic, topic(fieldsTopic));
  });

  it('platformatic wiresealConsume: a handler that throws stops consumption, its record and everything after it uncommitted', async () => {
    const groupId = uniqueTopic('g-throw-pl');
    const codec = createKafkaCodec({ keys, topics: topicsConfig });
    const consumer = plConsumer(handle.brokers, groupId);
    const stream = await plStream(consumer, [fieldsTopic]);
    const seen: string[] = [];
    const boom = new Error('ledger down');
    const outcome = await wiresealConsume(
      stream,
      codec,
      async ({ message }) => {
        seen.push(message.offset);
        if (idOf(message) === 'fields-g3') throw boom; // offset 4
      },
      { deadLetter: { producer: plDlqProducer, topic: (t) => `${t}.dlq-platformatic` } },
    ).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await consumer.close(true);
    expect(outcome).toBe(boom);
    expect(seen).toEqual(['0', '2', '4']);
    expect(codec.stats).toMatchObject({ decrypted: 3, deadLettered: 2 });
    // 0..3 settled (handled or dead-lettered); 4 threw: the group resumes at 4.
    await expect.poll(() => committed(admin, groupId, fieldsTopic), { timeout: 15_000 }).toBe(4);
  });

  it('platformatic wiresealConsume refuses a stream with autocommit (platformatic would commit at fetch time)', async () => {
    const codec = createKafkaCodec({ keys, topics: topicsConfig });
    const consumer = plConsumer(handle.brokers, uniqueTopic('g-autocommit'));
    const stream = await consumer.consume({ topics: [fieldsTopic], autocommit: true, mode: 'earliest' });
    const err = await wiresealConsume(stream, codec, async () => undefined, { onFailure: 'skip' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await consumer.close(true);
    expect((err as WiresealError).code).toBe('ERR_POLICY_INVALID');
  });

  for (const kind of KINDS) {
    it(`${kindName(kind)} + fail: stops the consumer at the poison record without committing it`, async () => {
      const r = await run(kind, [wholeTopic], { onFailure: 'fail' });
      await waitFor(() => r.stopped(), 'the consumer to stop');
      if (kind === 'platformatic') expect((r.outcome() as WiresealError).code).toBe('ERR_PLAINTEXT_FIELD');
      expect(r.handled.map((h) => h.id)).toEqual(['whole-g1']);
      const failed = r.events.filter((e) => e.type === 'failed');
      expect(failed.map((e) => [e.offset, e.error.code])).toEqual([['1', 'ERR_PLAINTEXT_FIELD']]);
      expect(r.codec.stats).toMatchObject({ decrypted: 1, failed: 1, deadLettered: 0, skipped: 0 });
      await expect.poll(() => committed(admin, r.groupId, wholeTopic), { timeout: 15_000 }).toBe(1);
      await new Promise((res) => setTimeout(res, 500));
      expect(r.handled).toHaveLength(1); // nothing after the poison record was handled
    });
  }

  it('fail without a consumer handle: pauses the failing partitions only, commits nothing past them, keeps running', async () => {
    const r = await run('message', [fieldsTopic, wholeTopic], { onFailure: 'fail' }, uniqueTopic('g-pause'), false);
    await waitFor(() => r.codec.stats.failed >= 2, 'both partitions to fail');
    await new Promise((res) => setTimeout(res, 500));
    expect(r.stopped()).toBe(false);
    expect(r.consumer!.paused().map((p) => p.topic).sort()).toEqual([fieldsTopic, wholeTopic].sort());
    expect(r.handled.map((h) => h.id).sort()).toEqual(['fields-g1', 'whole-g1']);
    expect(r.codec.stats.failed).toBe(2); // paused: the failing record is not retried in a loop
    await expect.poll(async () => [await committed(admin, r.groupId, fieldsTopic), await committed(admin, r.groupId, wholeTopic)], { timeout: 15_000 }).toEqual([1, 1]);
  });

  it('skip, asked for explicitly: poison records are skipped and counted, good ones handled, all committed', async () => {
    const r = await run('batch', [fieldsTopic], { onFailure: 'skip' });
    await waitFor(() => r.handled.length >= 5 && r.codec.stats.skipped >= 4, 'good records and skips');
    expect(r.handled.map((h) => h.id)).toEqual(goodIds(fieldsTopic));
    expect(r.events.filter((e) => e.type === 'skipped').map((e) => [e.offset, e.error.code])).toEqual([
      ['1', 'ERR_PLAINTEXT_FIELD'],
      ['3', 'ERR_DECRYPT'],
      ['5', 'ERR_KEY_UNKNOWN'],
      ['7', 'ERR_CONTEXT_MISMATCH'],
    ]);
    await expect.poll(() => committed(admin, r.groupId, fieldsTopic), { timeout: 15_000 }).toBe(9);
  });

  for (const kind of KINDS) {
    it(`${kindName(kind)}: forged records with a policy path of the wrong shape never reach the handler; they land in the DLQ intact with ERR_PLAINTEXT_FIELD`, async () => {
      const dlq = `${shapeTopic}${kind === 'message' ? '.dlq' : kind === 'batch' ? '.dlq-batch' : '.dlq-platformatic'}`;
      const config = { [shapeTopic]: { mode: 'fields' as const, policy: SHAPE_POLICY } };
      const r = await run(kind, [shapeTopic], { deadLetter: { producer: dlqProducer, topic: () => dlq } }, uniqueTopic('g-shape'), true, config);
      await waitFor(() => r.handled.length >= 4 && r.codec.stats.deadLettered >= 2, 'good records and dead letters');
      await expect.poll(() => committed(admin, r.groupId, shapeTopic), { timeout: 15_000 }).toBe(6);
      await r.stop();
      expect(r.handled.map((h) => h.id)).toEqual(['shape-g1', 'shape-g2', 'no-fields', 'shape-g3']);
      expect(r.handled.map((h) => h.offset)).toEqual(['0', '2', '4', '5']);
      expect(r.codec.stats).toMatchObject({ decrypted: 3, withoutFields: 1, tokensOpened: 6, passedThrough: 0, deadLettered: 2, skipped: 0, failed: 0 });
      expect(r.events.filter((e) => e.type === 'dead-lettered').map((e) => [e.offset, e.error.code])).toEqual([
        ['1', 'ERR_PLAINTEXT_FIELD'],
        ['3', 'ERR_PLAINTEXT_FIELD'],
      ]);
      await expectDeadLetters(shapeTopic, dlq);
    });
  }

  it('requireMatch on the consumer: a record without a required path is dead-lettered intact with ERR_FIELD_MISSING', async () => {
    const dlq = `${shapeTopic}.dlq-retry`;
    const config = { [shapeTopic]: { mode: 'fields' as const, policy: SHAPE_POLICY, requireMatch: ['card.number'] } };
    const r = await run('message', [shapeTopic], { deadLetter: { producer: dlqProducer, topic: () => dlq } }, uniqueTopic('g-require'), true, config);
    await waitFor(() => r.handled.length >= 3 && r.codec.stats.deadLettered >= 3, 'good records and dead letters');
    await expect.poll(() => committed(admin, r.groupId, shapeTopic), { timeout: 15_000 }).toBe(6);
    await r.stop();
    expect(r.handled.map((h) => h.id)).toEqual(['shape-g1', 'shape-g2', 'shape-g3']);
    expect(r.codec.stats).toMatchObject({ decrypted: 3, withoutFields: 0, deadLettered: 3 });
    const expected = planned[shapeTopic]!.map((p) => (p.good === 'no-fields' ? { message: p.message, code: 'ERR_FIELD_MISSING' } : p));
    expect(r.events.filter((e) => e.type === 'dead-lettered').map((e) => [e.offset, e.error.code])).toEqual([
      ['1', 'ERR_PLAINTEXT_FIELD'],
      ['3', 'ERR_PLAINTEXT_FIELD'],
      ['4', 'ERR_FIELD_MISSING'],
    ]);
    await expectDeadLetters(shapeTopic, dlq, expected);
  });

  it('the producer wrapper refuses a wrong-shape document (ERR_PLAINTEXT_FIELD) and one without a required path (ERR_FIELD_MISSING): nothing reaches the broker', async () => {
    const codec = createKafkaCodec({ keys, topics: { [sendTopic]: { mode: 'fields', policy: SHAPE_POLICY, requireMatch: ['card.number'] } } });
    const producer = wiresealProducer(kafka.producer(), codec);
    await producer.connect();
    try {
      const good = { id: 'g', accounts: [{ iban: IBAN }], card: { number: CARD } };
      const refused = async (value: JsonDocument) => {
        const err = await producer.send({ topic: sendTopic, acks: -1, messages: [{ value: good }, { value }] }).then(() => undefined, (e: unknown) => e);
        return err as { code?: string; paths?: readonly string[] } | undefined;
      };
      expect((await refused({ accounts: { '0': { iban: IBAN } }, card: { number: CARD } }))?.code).toBe('ERR_PLAINTEXT_FIELD');
      expect((await refused({ accounts: [], card: CARD }))?.code).toBe('ERR_PLAINTEXT_FIELD');
      const missing = await refused({ accounts: [{ iban: IBAN }] });
      expect([missing?.code, missing?.paths]).toEqual(['ERR_FIELD_MISSING', ['card.number']]);
      const [p0] = await admin.fetchTopicOffsets(sendTopic);
      expect([p0!.low, p0!.high]).toEqual(['0', '0']);
    } finally {
      await producer.disconnect();
    }
  });
});
