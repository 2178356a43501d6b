// reencrypt --topic against a real Kafka broker, on both clients (kafkajs and
// @platformatic/kafka): field-mode and whole-value
// records re-sealed into a new topic (wsc moves to the new topic), exactly
// once: a second run finds nothing to do and adds nothing; and records of a
// policy with audiences, re-sealed per audience with a keyring file; and scan
// (tokens per kid, --require-absent) on the topics before and after.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaAvailable, startKafka } from '@wireseal-tooling/local-kafka';
import type { KafkaHandle } from '@wireseal-tooling/local-kafka';
import { FieldPolicy, KeySet, PrivateKeySet, decryptFields, encryptFields, open, seal } from '@wireseal/core';
import { errorCode, tempDir, wireseal } from './helpers.ts';

const avail = kafkaAvailable();
const tmp = tempDir();
let broker: KafkaHandle;
let kafka: Kafka;

const keys = KeySet.generate({ kid: 'k1' }).addKey({ kid: 'k2' });
const rotated = keys.promote('k2');
const policy = FieldPolicy.parse({ fields: ['pan', 'owner.name'] });
const keysFile = tmp.path('keys.json');
const policyFile = tmp.path('policy.json');
const suffix = `${process.pid}-${Date.now()}`;
const CLIENTS = ['kafkajs', 'platformatic'] as const;

beforeAll(async () => {
  if (!avail.ok) return;
  writeFileSync(keysFile, JSON.stringify(rotated.toJwks()));
  writeFileSync(policyFile, JSON.stringify(policy.toJSON()));
  broker = await startKafka();
  kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
}, 180_000);
afterAll(async () => {
  await broker?.stop();
  tmp.cleanup();
});

/** sha256 of the documents in id order. */
function checksum(docs: { id: number }[]): string {
  return createHash('sha256').update(JSON.stringify([...docs].sort((a, b) => a.id - b.id))).digest('hex');
}

async function readAll(topic: string, expected: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const got: KafkaMessage[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${got.length} of ${expected} from ${topic}`)), 60_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message);
        if (got.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  // Give a stray duplicate the chance to show up before we stop.
  await new Promise((r) => setTimeout(r, 1500));
  await consumer.disconnect();
  return got;
}

// Every reencrypt --topic test runs on both clients (--client; the whole-value one through WIRESEAL_KAFKA_CLIENT).
describe.skipIf(!avail.ok).each(CLIENTS)('reencrypt --topic on %s (real Kafka)', (client) => {
  const sfx = `${client}-${suffix}`;
  const via = ['--client', client];
  it('re-seals field-mode records into a new topic under the new key and topic, exactly once', async () => {
    const src = `payments-${sfx}`;
    const dst = `payments-v2-${sfx}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: src, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const N = 400;
    const ctx = Object.freeze({ topic: src });
    await producer.send({
      topic: src,
      messages: Array.from({ length: N }, (_, i) => ({
        key: `k${i % 7}`,
        partition: i % 2,
        headers: { wireseal: '1', trace: `t${i}` },
        value: i === 13 ? '{not json' : JSON.stringify(encryptFields(keys, { id: i, pan: `4111-${i}`, owner: { name: `n${i}` } }, policy, { context: ctx })),
      })),
    });
    await producer.disconnect();

    const args = ['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--topic', src, '--to-topic', dst, '--brokers', broker.brokers.join(','), '--reject', tmp.path(`k-${client}.rejects.jsonl`), '--json', ...via];
    const r = await wireseal(args);
    expect(r.code, r.stderr).toBe(4); // record 13 is rejected
    expect(JSON.parse(r.out)).toMatchObject({ status: 'done', client, records: N, written: N - 1, failed: 1, fieldsResealed: 2 * (N - 1), failedByCode: { ERR_INPUT_INVALID: 1 } });
    const rejects = readFileSync(tmp.path(`k-${client}.rejects.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { partition: number; offset: string; code: string });
    expect(rejects).toEqual([expect.objectContaining({ partition: 1, offset: '6', code: 'ERR_INPUT_INVALID' })]);

    const out = await readAll(dst, N - 1);
    expect(out).toHaveLength(N - 1);
    const ids = new Set<number>();
    for (const m of out) {
      const doc = JSON.parse(m.value!.toString()) as { id: number; pan: string };
      expect(JSON.parse(Buffer.from(doc.pan.split('.')[0]!, 'base64url').toString()).kid).toBe('k2');
      // bound to the new topic: opens there, not under the old one
      const opened = decryptFields(rotated, doc, policy, { context: { topic: dst } });
      expect(opened.doc).toEqual({ id: doc.id, pan: `4111-${doc.id}`, owner: { name: `n${doc.id}` } });
      expect(() => decryptFields(rotated, doc, policy, { context: ctx })).toThrow(expect.objectContaining({ code: 'ERR_CONTEXT_MISMATCH' }));
      expect(m.key!.toString()).toBe(`k${doc.id % 7}`);
      expect(m.headers!.trace!.toString()).toBe(`t${doc.id}`);
      expect(m.headers!.wireseal!.toString()).toBe('1');
      ids.add(doc.id);
    }
    expect(ids.size).toBe(N - 1);
    // Same records, same content: the checksum of the opened documents equals that of what was sent.
    const opened = out.map((m) => decryptFields(rotated, JSON.parse(m.value!.toString()), policy, { context: { topic: dst } }).doc as { id: number });
    const sent = Array.from({ length: N }, (_, i) => ({ id: i, pan: `4111-${i}`, owner: { name: `n${i}` } })).filter((d) => d.id !== 13);
    expect(checksum(opened)).toBe(checksum(sent));

    // Per-partition order is kept.
    const p0 = out.filter((m) => (JSON.parse(m.value!.toString()) as { id: number }).id % 2 === 0).map((m) => (JSON.parse(m.value!.toString()) as { id: number }).id);
    expect(p0).toEqual([...p0].sort((a, b) => a - b));

    // A second run resumes from the committed offsets: nothing left, nothing added.
    const again = await wireseal(args);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ records: 0, resumed: true });
    expect(await readAll(dst, N - 1)).toHaveLength(N - 1);
  }, 180_000);

  it('killed (SIGKILL) in the middle of a run, run again, then new records on the other client: every record in the destination exactly once', async () => {
    const src = `crash-${sfx}`;
    const dst = `crash-v2-${sfx}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: src, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const N = 6000;
    const ctx = Object.freeze({ topic: src });
    const docs = Array.from({ length: N }, (_, i) => ({ id: i, pan: `4111-${i}`, owner: { name: `n${i}` } }));
    const producer = kafka.producer();
    await producer.connect();
    for (let from = 0; from < N; from += 1000) {
      await producer.send({ topic: src, acks: -1, messages: docs.slice(from, from + 1000).map((d) => ({ partition: d.id % 2, value: JSON.stringify(encryptFields(keys, d, policy, { context: ctx })) })) });
    }
    await producer.disconnect();
    const args = ['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--topic', src, '--to-topic', dst, '--brokers', broker.brokers.join(','), '--reject', tmp.path(`crash-${client}.rejects.jsonl`), '--json'];
    const other = client === 'kafkajs' ? 'platformatic' : 'kafkajs';
    // Killed once a first transaction committed (a progress line counts records), while later ones are in flight.
    const killed = await wireseal([...args, ...via, '--progress', 'lines', '--progress-interval', '0.02'], {
      onSpawn: (child) => {
        child.stderr!.on('data', (b: Buffer) => {
          if (/reencrypt: [1-9][\d,]* records/.test(b.toString())) child.kill('SIGKILL');
        });
      },
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    // Resumed: the crashed run's open transaction is aborted (same transactional id), the rest read from the group's offsets.
    const again = await wireseal([...args, ...via]);
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.out) as { records: number; resumed: boolean; client: string };
    expect(summary).toMatchObject({ resumed: true, client });
    expect(summary.records).toBeLessThan(N);
    // New records, then a run on the other client: it continues from the same group offsets, into the same destination.
    const more = Array.from({ length: 100 }, (_, i) => ({ id: N + i, pan: `4111-${N + i}`, owner: { name: `n${N + i}` } }));
    const p2 = kafka.producer();
    await p2.connect();
    await p2.send({ topic: src, acks: -1, messages: more.map((d) => ({ partition: d.id % 2, value: JSON.stringify(encryptFields(keys, d, policy, { context: ctx })) })) });
    await p2.disconnect();
    const switched = await wireseal([...args, '--client', other]);
    expect(switched.code, switched.stderr).toBe(0);
    expect(JSON.parse(switched.out)).toMatchObject({ resumed: true, client: other, records: 100, written: 100 });
    const out = await readAll(dst, N + 100);
    expect(out).toHaveLength(N + 100);
    const opened = out.map((m) => decryptFields(rotated, JSON.parse(m.value!.toString()), policy, { context: { topic: dst } }).doc as { id: number });
    expect(new Set(opened.map((d) => d.id)).size).toBe(N + 100);
    expect(checksum(opened)).toBe(checksum([...docs, ...more]));
  }, 240_000);

  it('re-seals whole-value records (wireseal-jwe framing)', async () => {
    const src = `blobs-${sfx}`;
    const dst = `blobs-v2-${sfx}`;
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    const messages = Array.from({ length: 20 }, (_, i) => {
      const token = seal(keys, `blob ${i}`, { cty: 'text/plain', context: { topic: src } });
      const p = token.split('.');
      return { key: `b${i}`, value: Buffer.from(p[3]!, 'base64url'), headers: { wireseal: '1', 'wireseal-jwe': `${p[0]}.${p[1]}.${p[2]}..${p[4]}` } };
    });
    await producer.send({ topic: src, messages });
    await producer.disconnect();
    const r = await wireseal(['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--mode', 'whole', '--topic', src, '--to-topic', dst, '--brokers', broker.brokers.join(','), '--reject', tmp.path(`w-${client}.rejects.jsonl`), '--json'], { env: { WIRESEAL_KAFKA_CLIENT: client } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ client, records: 20, fieldsResealed: 20, resealedByKid: { k1: 20 } });
    const out = await readAll(dst, 20);
    for (const m of out) {
      const frame = m.headers!['wireseal-jwe']!.toString().split('.');
      const token = `${frame[0]}.${frame[1]}.${frame[2]}.${m.value!.toString('base64url')}.${frame[4]}`;
      const header = JSON.parse(Buffer.from(frame[0]!, 'base64url').toString()) as { kid: string; cty: string };
      expect([header.kid, header.cty]).toEqual(['k2', 'text/plain']);
      expect(Buffer.from(open(rotated, token, { context: { topic: dst } })).toString()).toBe(`blob ${m.key!.toString().slice(1)}`);
    }
  }, 120_000);

  it('re-seals records of a policy with audiences per audience, with a keyring file, into the new topic', async () => {
    const src = `split-${sfx}`;
    const dst = `split-v2-${sfx}`;
    const split = FieldPolicy.parse({ audiences: { pci: ['pan'], pii: ['owner.name'] }, bind: ['id'] });
    const pii = PrivateKeySet.generate({ kid: 'pii-1', type: 'P-256' });
    writeFileSync(tmp.path('split-policy.json'), JSON.stringify(split.toJSON()));
    writeFileSync(tmp.path('pii-private.json'), JSON.stringify(pii.toPrivateJwks()));
    writeFileSync(tmp.path('split-ring.json'), JSON.stringify({ audiences: { pci: { keyset: 'keys.json' }, pii: { private: 'pii-private.json' } } }));
    const N = 50;
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({
      topic: src,
      messages: Array.from({ length: N }, (_, i) => ({ key: `s${i}`, value: JSON.stringify(encryptFields({ pci: keys, pii }, { id: i, pan: `4111-${i}`, owner: { name: `n${i}` } }, split, { context: { topic: src } })) })),
    });
    await producer.disconnect();
    const r = await wireseal(['reencrypt', '--policy', tmp.path('split-policy.json'), '--keyring', tmp.path('split-ring.json'), '--topic', src, '--to-topic', dst, '--brokers', broker.brokers.join(','), '--reject', tmp.path(`s-${client}.rejects.jsonl`), '--json', ...via]);
    expect(r.code, r.stderr).toBe(0);
    // Every token moves to the new topic's context: pci under the new primary, pii re-bound under its key.
    expect(JSON.parse(r.out)).toMatchObject({ primaryKids: { pci: 'k2', pii: 'pii-1' }, records: N, written: N, fieldsResealed: 2 * N, leftSealed: 0, resealedByKid: { k1: N, 'pii-1': N } });
    for (const m of await readAll(dst, N)) {
      const doc = JSON.parse(m.value!.toString()) as { id: number; pan: string };
      expect(JSON.parse(Buffer.from(doc.pan.split('.')[0]!, 'base64url').toString()).kid).toBe('k2');
      expect(decryptFields({ pci: rotated, pii }, doc, split, { context: { topic: dst } }).doc).toEqual({ id: doc.id, pan: `4111-${doc.id}`, owner: { name: `n${doc.id}` } });
    }
  }, 120_000);

  it('scan counts tokens per kid on a topic without keys or commits; --require-absent fails on the old topic and passes after reencrypt', async () => {
    const src = `scan-${sfx}`;
    const dst = `scan-v2-${sfx}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: src, numPartitions: 2 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    const ctx = Object.freeze({ topic: src });
    // 30 records under k1 (before the rotation), 20 under k2, one that is not JSON, one tombstone.
    await producer.send({
      topic: src,
      messages: [
        ...Array.from({ length: 50 }, (_, i) => ({ key: `s${i}`, partition: i % 2, value: JSON.stringify(encryptFields(i < 30 ? keys : rotated, { id: i, pan: `4111-${i}`, owner: { name: `n${i}` } }, policy, { context: ctx })) })),
        { key: 'bad', partition: 0, value: '{not json' },
        { key: 'gone', partition: 1, value: null },
      ],
    });
    await producer.disconnect();
    const scan = (topic: string, extra: string[] = []) => wireseal(['scan', '--policy', policyFile, '--topic', topic, '--brokers', broker.brokers.join(','), '--json', ...extra]);

    const before = await scan(src, ['--require-absent', 'k1']);
    expect(before.code, before.stderr).toBe(4);
    expect(JSON.parse(before.out)).toEqual(
      expect.objectContaining({ status: 'done', topic: src, mode: 'fields', records: 52, notJson: 1, tombstones: 1, tokens: 100, tokensByKid: { k1: 60, k2: 40 }, tokensByAlg: { A256KW: 100 }, tokensByAudience: { default: 100 }, plaintext: 0, requireAbsent: { k1: 60 } }),
    );
    expect(before.stderr).toContain('scan: 60 tokens are still sealed under kid "k1" (--require-absent)');
    // A throwaway group: no offsets committed, and deleted afterwards.
    expect((await admin.listGroups()).groups.filter((g) => g.groupId.startsWith('wireseal-scan-'))).toEqual([]);

    const re = await wireseal(['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--topic', src, '--to-topic', dst, '--brokers', broker.brokers.join(','), '--reject', tmp.path(`scan-${client}.rejects.jsonl`), '--json', ...via]);
    expect(re.code, re.stderr).toBe(4); // the record that is not JSON
    expect(JSON.parse(re.out)).toMatchObject({ written: 51, resealedByKid: { k1: 60 } });
    const after = await scan(dst, ['--require-absent', 'k1']);
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.out)).toMatchObject({ records: 51, notJson: 0, tombstones: 1, tokensByKid: { k2: 100 }, requireAbsent: { k1: 0 } });
    // DST was written in transactions: each partition ends in a commit marker, and both scan and reencrypt finish there.
    const again = await wireseal(['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--topic', dst, '--to-topic', `${dst}-again`, '--brokers', broker.brokers.join(','), '--reject', tmp.path(`scan2-${client}.rejects.jsonl`), '--json', ...via]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ records: 51, written: 51 });
    // The old topic still holds them.
    const old = await scan(src, ['--require-absent', 'k1', '--require-absent', 'k0']);
    expect(old.code).toBe(4);
    expect(JSON.parse(old.out)).toMatchObject({ requireAbsent: { k1: 60, k0: 0 } });

    // Whole values: the kid of the wireseal-jwe header; a record without one is plaintext at "$".
    const blobs = `scan-blobs-${sfx}`;
    const p2 = kafka.producer({ allowAutoTopicCreation: true });
    await p2.connect();
    await p2.send({
      topic: blobs,
      messages: [
        ...Array.from({ length: 5 }, (_, i) => {
          const p = seal(i < 3 ? keys : rotated, `blob ${i}`, { context: { topic: blobs } }).split('.');
          return { value: Buffer.from(p[3]!, 'base64url'), headers: { wireseal: '1', 'wireseal-jwe': `${p[0]}.${p[1]}.${p[2]}..${p[4]}` } };
        }),
        { value: 'not sealed' },
        { value: 'bad frame', headers: { 'wireseal-jwe': 'eyJ.x' } },
      ],
    });
    await p2.disconnect();
    const whole = await wireseal(['scan', '--mode', 'whole', '--topic', blobs, '--brokers', broker.brokers.join(','), '--json', '--require-absent', 'k1']);
    expect(whole.code, whole.stderr).toBe(4);
    expect(JSON.parse(whole.out)).toMatchObject({ mode: 'whole', records: 7, tokens: 5, tokensByKid: { k1: 3, k2: 2 }, tokensByAudience: {}, plaintext: 1, plaintextByPath: { $: 1 }, malformed: 1, requireAbsent: { k1: 3 } });
    await admin.disconnect();
  }, 180_000);
});

describe.skipIf(!avail.ok)('Kafka errors (real Kafka)', () => {
  it('scan of a topic that does not exist is ERR_IO (exit 3)', async () => {
    const r = await wireseal(['scan', '--policy', policyFile, '--topic', `missing-${suffix}`, '--brokers', broker.brokers.join(',')]);
    expect([r.code, errorCode(r)]).toEqual([3, 'ERR_IO']);
  }, 60_000);

  it('a broker that does not answer is ERR_IO (exit 3)', async () => {
    const r = await wireseal(['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--topic', 'a', '--to-topic', 'b', '--brokers', '127.0.0.1:9']);
    expect([r.code, errorCode(r)]).toEqual([3, 'ERR_IO']);
  }, 120_000);
});
