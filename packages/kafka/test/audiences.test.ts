// Against a real broker: one topic whose records carry two audiences (pci:
// card.number, card.cvv; pii: customer.ssn, customer.dob; bound to the
// record's id), produced with both audiences' keys and read by three consumer
// groups that hold different keyrings: ledger {pci}, fraud {pii}, analytics {}.
// Every group handles every record, nothing is dead-lettered, each opens
// exactly its fields and hands on the others' tokens byte for byte. Records
// that fail for any other reason still go to the dead-letter topic.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaHandle } from '@wireseal-tooling/local-kafka';
import { FieldPolicy, KeySet, decodeProtectedHeader } from '@wireseal/core';
import type { FieldKeys } from '@wireseal/core';
import type { Admin, Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { HEADER_ERROR, HEADER_MARKER, createKafkaCodec, wiresealEachBatch, wiresealEachMessage, wiresealProducer } from '@wireseal/kafka';
import type { KafkaCodec, OpenedMessage } from '@wireseal/kafka';
import { SwappableKeys, broker, client, consumerConfig, createTopics, kafkaUnavailable, readRaw, uniqueTopic, waitFor } from './cluster.ts';

const unavailable = kafkaUnavailable();

const AUDIENCES = { pci: ['card.number', 'card.cvv'], pii: ['customer.ssn', 'customer.dob'] } as const;
const POLICY = FieldPolicy.parse({ audiences: { pci: [...AUDIENCES.pci], pii: [...AUDIENCES.pii] }, bind: ['id'] });
const PATHS = [...AUDIENCES.pci, ...AUDIENCES.pii];
const N = 500;

type Event = {
  id: string;
  seq: number;
  amount: number;
  card?: { number: string; cvv: string; exp: string };
  customer: { ssn: string; dob?: string; name: string };
};

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Record i: every 5th has no card (a bank transfer), every 7th no date of birth. */
function event(i: number): Event {
  const e: Event = { id: `evt-${pad(i, 4)}`, seq: i, amount: i * 7 + 0.25, customer: { ssn: `${100 + (i % 800)}-${pad(i % 97, 2)}-${pad(i, 4)}`, name: `Customer ${i}` } };
  if (i % 5 !== 0) e.card = { number: `4111${pad(i, 12)}`, cvv: pad((i * 37) % 1000, 3), exp: '12/29' };
  if (i % 7 !== 0) e.customer.dob = `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`;
  return e;
}

function at(doc: unknown, path: string): unknown {
  let v = doc;
  for (const k of path.split('.')) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[k];
  return v;
}

function setAt(doc: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let holder = doc;
  for (const k of keys.slice(0, -1)) holder = holder[k] as Record<string, unknown>;
  holder[keys[keys.length - 1]!] = value;
}

/** The concrete policy paths an original record has a value at, for some audiences. */
function pathsOf(e: Event, audiences: ReadonlyArray<keyof typeof AUDIENCES>): string[] {
  return audiences.flatMap((a) => AUDIENCES[a]).filter((p) => at(e, p) !== undefined);
}

/** A checksum of opened values: sha256 over the sorted `id|path|JSON(value)` lines. */
function checksum(lines: string[]): string {
  return createHash('sha256').update([...lines].sort().join('\n')).digest('hex');
}

/** The high watermark summed over a topic's partitions: how many records it holds. */
async function recordCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

interface Reader {
  readonly name: string;
  readonly audiences: ReadonlyArray<keyof typeof AUDIENCES>;
  readonly keys: FieldKeys;
  readonly batch: boolean;
  codec?: KafkaCodec;
  consumer?: Consumer;
  readonly got: OpenedMessage[];
}

describe.skipIf(!!unavailable)('audiences against a real broker', () => {
  let handle: KafkaHandle;
  let kafka: Kafka;
  let admin: Admin;
  let rawProducer: Producer;
  const consumers: Consumer[] = [];
  const pci = KeySet.generate({ kid: 'pci-2026-11' });
  const pii = KeySet.generate({ kid: 'pii-2026-11' });

  beforeAll(async () => {
    handle = await broker();
    kafka = client(handle.brokers);
    admin = kafka.admin();
    await admin.connect();
    rawProducer = kafka.producer();
    await rawProducer.connect();
  });

  afterAll(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await rawProducer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await handle?.stop();
  });

  /** Starts a consumer group reading `topic` with a reader's keyring; what its handler gets lands in `reader.got`. */
  async function start(reader: Reader, topic: string, dlqTopic?: string): Promise<void> {
    const codec = createKafkaCodec({ keys: reader.keys, topics: { [topic]: { mode: 'fields', policy: POLICY } } });
    const consumer = kafka.consumer(consumerConfig(uniqueTopic(reader.name)));
    consumers.push(consumer);
    reader.codec = codec;
    reader.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const deadLetter = { producer: rawProducer, ...(dlqTopic ? { topic: dlqTopic } : {}) };
    await consumer.run(
      reader.batch
        ? { eachBatch: wiresealEachBatch(codec, async ({ batch }) => void reader.got.push(...batch.messages), { deadLetter }) }
        : { eachMessage: wiresealEachMessage(codec, async ({ message }) => void reader.got.push(message), { deadLetter }) },
    );
  }

  it(`${N} records with pci and pii fields: ledger {pci}, fraud {pii} and analytics {} each handle all of them, open exactly their own fields and hand the others on byte for byte`, async () => {
    const topic = uniqueTopic('payments-audiences');
    const dlq = `${topic}.dlq`;
    await createTopics(admin, [topic, dlq], 2);

    const writer = createKafkaCodec({ keys: { pci, pii }, topics: { [topic]: { mode: 'fields', policy: POLICY } } });
    const producer = wiresealProducer(kafka.producer(), writer);
    await producer.connect();
    const events = Array.from({ length: N }, (_, i) => event(i));
    for (let i = 0; i < N; i += 100) {
      await producer.send({ topic, acks: -1, messages: events.slice(i, i + 100).map((e) => ({ key: e.id, value: e, headers: { source: 'checkout' } })) });
    }
    await producer.disconnect();
    const sealedPerRecord = events.map((e) => pathsOf(e, ['pci', 'pii']).length);
    const valuesSealed = sealedPerRecord.reduce((a, b) => a + b, 0);
    expect(writer.stats).toMatchObject({ encrypted: N, valuesSealed, encodedWithoutFields: 0 });

    const readers: Reader[] = [
      { name: 'ledger', audiences: ['pci'], keys: { pci: new SwappableKeys(pci) }, batch: true, got: [] }, // a provider in a keyring
      { name: 'fraud', audiences: ['pii'], keys: { pii }, batch: false, got: [] },
      { name: 'analytics', audiences: [], keys: {}, batch: false, got: [] },
    ];
    await Promise.all(readers.map((r) => start(r, topic)));
    await waitFor(() => readers.every((r) => r.got.length >= N), `every group to handle ${N} records`, 120_000);
    await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
    for (const r of readers) await r.consumer!.disconnect();

    // What the broker holds: every policy value a token of its audience, bound to the topic and the record's id.
    const raw = new Map<string, { text: string; doc: Record<string, unknown> }>();
    for (const m of await readRaw(kafka, topic, N)) {
      const text = m.value!.toString();
      raw.set(m.key!.toString(), { text, doc: JSON.parse(text) });
      expect(m.headers![HEADER_MARKER]!.toString()).toBe('1');
    }
    expect(raw.size).toBe(N);
    const wire = [...raw.values()].map((r) => r.text).join('\n');
    for (const e of events) {
      const { doc } = raw.get(e.id)!;
      for (const p of pathsOf(e, ['pci', 'pii'])) {
        expect(decodeProtectedHeader(at(doc, p) as string)).toMatchObject({ kid: p.startsWith('card') ? 'pci-2026-11' : 'pii-2026-11', wsf: p, wsc: expect.any(String) });
      }
      expect(wire).not.toContain(e.customer.ssn);
      if (e.card) expect(wire).not.toContain(e.card.number);
    }

    const figures: Record<string, unknown> = {};
    for (const r of readers) {
      const byId = new Map(r.got.map((m) => [(m.wireseal.doc as Event).id, m]));
      expect(r.got, r.name).toHaveLength(N);
      expect(byId.size, r.name).toBe(N);
      const others = (['pci', 'pii'] as const).filter((a) => !r.audiences.includes(a));
      const openedLines: string[] = [];
      const expectedLines: string[] = [];
      let tokensLeftSealed = 0;
      let recordsOpened = 0;
      for (const e of events) {
        const m = byId.get(e.id)!;
        const mine = pathsOf(e, r.audiences);
        const theirs = pathsOf(e, others);
        expect(m.wireseal.decrypted, `${r.name} ${e.id}`).toEqual(mine);
        expect(m.wireseal.sealed, `${r.name} ${e.id}`).toEqual(theirs);
        expect(m.wireseal.encrypted).toBe(mine.length > 0);
        expect(m.headers.source!.toString()).toBe('checkout');
        expect(m.key!.toString()).toBe(e.id);
        // The output is the record on the wire with this reader's fields opened: every other token byte for byte.
        const { text, doc: rawDoc } = raw.get(e.id)!;
        const want = structuredClone(rawDoc);
        for (const p of mine) setAt(want, p, at(e, p));
        expect(m.wireseal.doc).toEqual(want);
        for (const p of theirs) expect(at(m.wireseal.doc, p)).toBe(at(rawDoc, p));
        if (mine.length === 0) expect(m.value!.toString()).toBe(text);
        for (const p of mine) openedLines.push(`${e.id}|${p}|${JSON.stringify(at(m.wireseal.doc, p))}`);
        for (const p of mine) expectedLines.push(`${e.id}|${p}|${JSON.stringify(at(e, p))}`);
        tokensLeftSealed += theirs.length;
        if (mine.length > 0) recordsOpened++;
      }
      expect(checksum(openedLines), r.name).toBe(checksum(expectedLines));
      expect(r.codec!.stats, r.name).toMatchObject({
        decrypted: recordsOpened,
        leftSealed: N - recordsOpened,
        withoutFields: 0,
        passedThrough: 0,
        tokensOpened: openedLines.length,
        tokensLeftSealed,
        deadLettered: 0,
        skipped: 0,
        failed: 0,
      });
      expect(openedLines.length + tokensLeftSealed).toBe(valuesSealed);
      figures[r.name] = { records: N, recordsOpened, tokensOpened: openedLines.length, tokensLeftSealed, checksum: checksum(openedLines).slice(0, 12) };
    }
    expect(await recordCount(admin, dlq)).toBe(0);

    // The serialized outputs: the fraud group never sees a card number, the ledger never an SSN or a date of birth, analytics neither.
    const [ledger, fraud, analytics] = readers.map((r) => r.got.map((m) => m.value!.toString()).join('\n'));
    for (const e of events) {
      if (e.card) {
        expect(fraud).not.toContain(e.card.number);
        expect(analytics).not.toContain(e.card.number);
        expect(ledger).toContain(e.card.number);
      }
      expect(ledger).not.toContain(e.customer.ssn);
      expect(analytics).not.toContain(e.customer.ssn);
      expect(fraud).toContain(e.customer.ssn);
      if (e.customer.dob) {
        expect(ledger).not.toContain(`"${e.customer.dob}"`);
        expect(fraud).toContain(`"${e.customer.dob}"`);
      }
    }
    expect(fraud).not.toMatch(/4111\d{12}/);
    expect(ledger).not.toMatch(/"\d{3}-\d{2}-\d{4}"/);
    // The expected figures are fixed by the generator: 400 records with a card, 500 SSNs, 428 dates of birth.
    expect(figures).toEqual({
      ledger: { records: N, recordsOpened: 400, tokensOpened: 800, tokensLeftSealed: 928, checksum: expect.any(String) },
      fraud: { records: N, recordsOpened: 500, tokensOpened: 928, tokensLeftSealed: 800, checksum: expect.any(String) },
      analytics: { records: N, recordsOpened: 0, tokensOpened: 0, tokensLeftSealed: 1728, checksum: checksum([]).slice(0, 12) },
    });
  });

  it('records that fail for any other reason still go to the dead-letter topic, per reader, byte for byte', async () => {
    const topic = uniqueTopic('payments-audiences-bad');
    const dlqs = { ledger: `${topic}.ledger.dlq`, fraud: `${topic}.fraud.dlq`, analytics: `${topic}.analytics.dlq` };
    await createTopics(admin, [topic, ...Object.values(dlqs)]);
    const writer = createKafkaCodec({ keys: { pci, pii }, topics: { [topic]: { mode: 'fields', policy: POLICY } } });
    const seal = (e: Event) => JSON.parse(String(writer.encode(topic, { value: e }).value)) as Record<string, unknown>;
    const marker = { [HEADER_MARKER]: '1' };
    const one = seal(event(1));
    const two = seal(event(2));
    const movedPii = { ...two, customer: one.customer }; // evt-0001's pii tokens in evt-0002: bound to another id
    const plaintextCard = { ...two, card: event(2).card }; // a sender that did not seal
    const records = [
      { key: 'good-1', value: JSON.stringify(one), headers: marker },
      { key: 'moved-pii', value: JSON.stringify(movedPii), headers: marker },
      { key: 'plaintext-card', value: JSON.stringify(plaintextCard), headers: marker },
      { key: 'not-json', value: 'not json {', headers: marker },
      { key: 'good-3', value: JSON.stringify(seal(event(3))), headers: marker },
    ];
    await rawProducer.send({ topic, acks: -1, messages: records });

    const readers: Reader[] = [
      { name: 'ledger', audiences: ['pci'], keys: { pci }, batch: true, got: [] },
      { name: 'fraud', audiences: ['pii'], keys: { pii }, batch: false, got: [] },
      { name: 'analytics', audiences: [], keys: {}, batch: true, got: [] },
    ];
    await Promise.all(readers.map((r) => start(r, topic, dlqs[r.name as keyof typeof dlqs])));
    const expected = {
      ledger: { handled: ['good-1', 'moved-pii', 'good-3'], dead: { 'plaintext-card': 'ERR_PLAINTEXT_FIELD', 'not-json': 'ERR_TOKEN_MALFORMED' } },
      fraud: { handled: ['good-1', 'good-3'], dead: { 'moved-pii': 'ERR_CONTEXT_MISMATCH', 'plaintext-card': 'ERR_PLAINTEXT_FIELD', 'not-json': 'ERR_TOKEN_MALFORMED' } },
      analytics: { handled: ['good-1', 'moved-pii', 'good-3'], dead: { 'plaintext-card': 'ERR_PLAINTEXT_FIELD', 'not-json': 'ERR_TOKEN_MALFORMED' } },
    };
    await waitFor(() => readers.every((r) => r.codec!.stats.deadLettered >= Object.keys(expected[r.name as keyof typeof expected].dead).length && r.got.length >= expected[r.name as keyof typeof expected].handled.length), 'every reader to settle the 5 records');
    for (const r of readers) await r.consumer!.disconnect();

    for (const r of readers) {
      const want = expected[r.name as keyof typeof expected];
      expect(r.got.map((m) => m.key!.toString()), r.name).toEqual(want.handled);
      const dead = await readRaw(kafka, dlqs[r.name as keyof typeof dlqs], Object.keys(want.dead).length);
      expect(Object.fromEntries(dead.map((m) => [m.key!.toString(), m.headers![HEADER_ERROR]!.toString()])), r.name).toEqual(want.dead);
      for (const m of dead) expect(m.value!.toString()).toBe(records.find((x) => x.key === m.key!.toString())!.value);
      expect(r.codec!.stats, r.name).toMatchObject({ deadLettered: Object.keys(want.dead).length, skipped: 0, failed: 0 });
    }
    // The reader that cannot check a moved token hands it on sealed, as it arrived.
    const moved = readers[0]!.got.find((m) => m.key!.toString() === 'moved-pii')!;
    expect(moved.wireseal.sealed).toEqual(['customer.ssn', 'customer.dob']);
    expect(at(moved.wireseal.doc, 'customer.ssn')).toBe(at(one, 'customer.ssn'));
  });
});
