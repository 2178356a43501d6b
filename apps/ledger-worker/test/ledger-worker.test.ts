import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FieldPolicy, KeySet, encryptFields } from '@wireseal/core';
import { createKafkaCodec, wiresealProducer } from '@wireseal/kafka';
import { kafkaAvailable, startKafka } from '@wireseal-tooling/local-kafka';
import { Kafka, logLevel } from 'kafkajs';
import { EVENT_POLICY, startLedgerWorker } from '@wireseal-apps/ledger-worker';
import type { LedgerWorker } from '@wireseal-apps/ledger-worker';

const avail = kafkaAvailable();
const keys = KeySet.generate({ kid: 'ledger-test' });
const policy = FieldPolicy.parse(EVENT_POLICY);
const topic = 'payments.authorized';
let broker: Awaited<ReturnType<typeof startKafka>>;
let worker: LedgerWorker;
let dir: string;

function luhn(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0 && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

function event(i: number) {
  const number = luhn(`400000${String(100_000_000 + i)}`);
  return {
    type: 'payment.authorized', id: `pay_${i}`, occurredAt: '2026-11-22T10:00:00.000Z', merchant: 'acme-books',
    amount: { value: 1000 + i, currency: 'EUR' }, authorization: { code: 'A1B2C3D4' },
    card: { number, last4: number.slice(-4), expiry: '03/30' }, customer: { name: 'Ada Lovelace', ssn: `900-11-${1000 + i}` },
  };
}

before(async () => {
  if (!avail.ok) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-ledger-'));
  broker = await startKafka();
  worker = await startLedgerWorker({ keys, brokers: broker.brokers, ledgerFile: path.join(dir, 'ledger.jsonl') });
});
after(async () => {
  await worker?.stop();
  await broker?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('good events reach the ledger, bad records the dead-letter topic, intact and with their codes', { skip: avail.ok ? false : avail.reason }, async () => {
  const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
  const raw = kafka.producer();
  const producer = wiresealProducer(raw, createKafkaCodec({ keys, topics: { [topic]: { mode: 'fields', policy: EVENT_POLICY } } }));
  await producer.connect();
  const events = Array.from({ length: 20 }, (_, i) => event(i));
  await producer.send({ topic, messages: events.map((e) => ({ key: e.id, value: e })) });

  // Poison: each fails in its own way and must land in the DLQ byte for byte.
  const sealed = encryptFields(keys, event(100), policy, { context: { topic } }) as ReturnType<typeof event>;
  const tampered = structuredClone(sealed);
  const t = tampered.card.number;
  const i = t.lastIndexOf('.') - 2;
  tampered.card.number = t.slice(0, i) + (t[i] === 'x' ? 'y' : 'x') + t.slice(i + 1);
  const poison: Array<[string, string]> = [
    ['ERR_DECRYPT', JSON.stringify(tampered)],
    ['ERR_CONTEXT_MISMATCH', JSON.stringify(encryptFields(keys, event(101), policy, { context: { topic: 'payments.refunded' } }))],
    ['ERR_KEY_UNKNOWN', JSON.stringify(encryptFields(KeySet.generate({ kid: 'rogue' }), event(102), policy, { context: { topic } }))],
    ['ERR_TOKEN_MALFORMED', 'this is not JSON'],
    ['ERR_PLAINTEXT_FIELD', JSON.stringify(event(103))],
  ];
  await raw.send({ topic, messages: poison.map(([code, value]) => ({ key: code, value, headers: { wireseal: '1' } })) });
  await producer.disconnect();

  const until = Date.now() + 60_000;
  while (worker.stats().appended + worker.stats().deadLettered < 25) {
    assert.ok(Date.now() < until, `timed out: ${JSON.stringify(worker.stats())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stats = worker.stats();
  assert.deepEqual([stats.appended, stats.verified, stats.decrypted, stats.deadLettered], [20, 20, 20, 5]);
  assert.deepEqual(stats.deadLetteredByCode, { ERR_DECRYPT: 1, ERR_CONTEXT_MISMATCH: 1, ERR_KEY_UNKNOWN: 1, ERR_TOKEN_MALFORMED: 1, ERR_PLAINTEXT_FIELD: 1 });
  const served = (await (await fetch(`${worker.url}/stats`)).json()) as { appended: number };
  assert.equal(served.appended, 20);

  const ledgerText = fs.readFileSync(path.join(dir, 'ledger.jsonl'), 'utf8');
  const lines = ledgerText.trim().split('\n').map((l) => JSON.parse(l) as { id: string; card: string; verified: boolean });
  assert.deepEqual(lines.map((l) => l.id), events.map((e) => e.id));
  assert.ok(lines.every((l, k) => l.verified && l.card === `**** ${events[k]!.card.last4}`));
  for (const e of events) assert.ok(!ledgerText.includes(e.card.number) && !ledgerText.includes(e.customer.ssn), 'PII in the ledger');
  assert.equal(fs.statSync(path.join(dir, 'ledger.jsonl')).mode & 0o777, 0o600);

  const consumer = kafka.consumer({ groupId: `dlq-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [worker.dlqTopic], fromBeginning: true });
  const dead: Array<{ code: string; key: string; value: string; source: string }> = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        dead.push({ code: String(message.headers!['wireseal-error']), key: String(message.key), value: message.value!.toString('utf8'), source: String(message.headers!['wireseal-source-topic']) });
        if (dead.length === poison.length) resolve();
      },
    });
  });
  await consumer.disconnect();
  assert.deepEqual(dead.map((d) => d.code), poison.map(([code]) => code));
  assert.deepEqual(dead.map((d) => d.key), poison.map(([code]) => code));
  assert.deepEqual(dead.map((d) => d.value), poison.map(([, value]) => value));
  assert.ok(dead.every((d) => d.source === topic));
});
