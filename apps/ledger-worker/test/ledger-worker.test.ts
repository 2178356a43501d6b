import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FieldPolicy, KeySet, PrivateKeySet, PublicKeySet, encryptFields, refreshingProvider } from '@wireseal/core';
import type { CombinedKeySourceHealth } from '@wireseal/core';
import { kafkaAvailable, startKafka } from '@wireseal-tooling/local-kafka';
import { eventKeys, publishEvents, sampleEvent, tamper, waitForRecords } from '@wireseal-apps/shared/event-testing';
import { Kafka, logLevel } from 'kafkajs';
import { EVENT_POLICY, startLedgerWorker } from '@wireseal-apps/ledger-worker';
import type { LedgerWorker } from '@wireseal-apps/ledger-worker';

const avail = kafkaAvailable();
// The ledger holds the pci audience's private key; the producer holds its public key and the pii key.
const { pciReader, writer } = eventKeys();
const policy = FieldPolicy.parse(EVENT_POLICY);
const topic = 'payments.authorized';
let broker: Awaited<ReturnType<typeof startKafka>>;
let worker: LedgerWorker;
let dir: string;
// The pci keys through a provider (as from a file or Secrets Manager) whose clock the probe test moves.
let now = 1_000_000;
const pciProvider = refreshingProvider({ source: 'pci test keys', load: async () => pciReader, maxStaleMs: 60_000, now: () => now });

before(async () => {
  if (!avail.ok) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-ledger-'));
  broker = await startKafka();
  await pciProvider.ready();
  worker = await startLedgerWorker({ keys: { pci: pciProvider }, brokers: broker.brokers, ledgerFile: path.join(dir, 'ledger.jsonl'), handledFile: path.join(dir, 'handled.jsonl') });
});
after(async () => {
  await worker?.stop();
  await pciProvider.close();
  await broker?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test(`on ${process.env.WIRESEAL_KAFKA_CLIENT ?? 'kafkajs'}: good events reach the ledger with the SSN left sealed, bad records the dead-letter topic, intact and with their codes`, { skip: avail.ok ? false : avail.reason }, async () => {
  assert.equal(worker.client, process.env.WIRESEAL_KAFKA_CLIENT ?? 'kafkajs'); // the package script runs this file on each client
  type Event = ReturnType<typeof sampleEvent>;
  const events = Array.from({ length: 20 }, (_, i) => sampleEvent(i));
  const seal = (e: Event, keys: typeof writer = writer, t = topic): Event => encryptFields(keys, e, policy, { context: { topic: t } }) as Event;
  // A tampered SSN: the ledger cannot open it, so it cannot tell; it is handed on sealed, appended.
  const badSsn = seal(sampleEvent(20));
  badSsn.customer.ssn = tamper(badSsn.customer.ssn);
  // Poison: each fails in its own way and must land in the DLQ byte for byte.
  const badCard = seal(sampleEvent(100));
  badCard.card.number = tamper(badCard.card.number);
  const moved = seal(sampleEvent(101));
  moved.card.number = seal(sampleEvent(102)).card.number; // a valid token of another event (bound to its id)
  const rogue = { pci: PublicKeySet.of(PrivateKeySet.generate({ kid: 'rogue', type: 'X25519' })), pii: KeySet.generate({ kid: 'rogue-pii' }) };
  const poison: Array<[string, string, string]> = [
    ['tampered', 'ERR_DECRYPT', JSON.stringify(badCard)],
    ['other-topic', 'ERR_CONTEXT_MISMATCH', JSON.stringify(seal(sampleEvent(103), writer, 'payments.refunded'))],
    ['other-event', 'ERR_CONTEXT_MISMATCH', JSON.stringify(moved)],
    ['rogue-key', 'ERR_KEY_UNKNOWN', JSON.stringify(seal(sampleEvent(104), rogue))],
    ['not-json', 'ERR_TOKEN_MALFORMED', 'this is not JSON'],
    ['plaintext', 'ERR_PLAINTEXT_FIELD', JSON.stringify(sampleEvent(105))],
  ];
  await publishEvents(broker.brokers, topic, writer, events, [{ key: badSsn.id, value: JSON.stringify(badSsn) }, ...poison.map(([key, , value]) => ({ key, value }))]);

  await waitForRecords(() => worker.stats(), 27);
  const stats = worker.stats();
  assert.deepEqual([stats.appended, stats.verified, stats.handled, stats.decrypted, stats.deadLettered], [21, 21, 21, 21, 6]);
  assert.deepEqual([stats.openedByPath, stats.sealedByPath, stats.tokensLeftSealed], [{ 'card.number': 21 }, { 'customer.ssn': 21 }, 21]);
  assert.deepEqual(stats.deadLetteredByCode, { ERR_DECRYPT: 1, ERR_CONTEXT_MISMATCH: 2, ERR_KEY_UNKNOWN: 1, ERR_TOKEN_MALFORMED: 1, ERR_PLAINTEXT_FIELD: 1 });
  const served = (await (await fetch(`${worker.url}/stats`)).json()) as { appended: number };
  assert.equal(served.appended, 21);

  const all = [...events, sampleEvent(20)];
  const ledgerText = fs.readFileSync(path.join(dir, 'ledger.jsonl'), 'utf8');
  const lines = ledgerText.trim().split('\n').map((l) => JSON.parse(l) as { id: string; card: string; verified: boolean });
  assert.deepEqual(lines.map((l) => l.id), all.map((e) => e.id));
  assert.ok(lines.every((l, k) => l.verified && l.card === `**** ${all[k]!.card.last4}`));
  for (const e of all) assert.ok(!ledgerText.includes(e.card.number) && !ledgerText.includes(e.customer.ssn), 'PII in the ledger');
  assert.equal(fs.statSync(path.join(dir, 'ledger.jsonl')).mode & 0o777, 0o600);
  // What the handler was given: card numbers opened, SSNs still tokens.
  const handled = fs.readFileSync(path.join(dir, 'handled.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event);
  assert.deepEqual(handled.map((d) => d.card.number), all.map((e) => e.card.number));
  assert.ok(handled.every((d, k) => d.customer.ssn.startsWith('eyJ') && !d.customer.ssn.includes(all[k]!.customer.ssn)));
  assert.equal(handled[20]!.customer.ssn, badSsn.customer.ssn); // handed on byte for byte

  const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
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
  assert.deepEqual(dead.map((d) => d.key), poison.map(([key]) => key));
  assert.deepEqual(dead.map((d) => d.code), poison.map(([, code]) => code));
  assert.deepEqual(dead.map((d) => d.value), poison.map(([, , value]) => value));
  assert.ok(dead.every((d) => d.source === topic));
});

test('/healthz answers while it runs; /readyz is 503 with the pci source\'s health once its keys are stale, 200 again after a refresh', { skip: avail.ok ? false : avail.reason }, async () => {
  const get = async (p: string) => {
    const res = await fetch(`${worker.url}${p}`);
    return { status: res.status, body: (await res.json()) as CombinedKeySourceHealth & { ok?: boolean } };
  };
  assert.deepEqual(await get('/healthz'), { status: 200, body: { ok: true } });
  const ready = await get('/readyz');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.ready, true);

  now += 60_001;
  const stale = await get('/readyz');
  assert.equal(stale.status, 503);
  assert.deepEqual([stale.body.ready, stale.body.state, stale.body.unready], [false, 'stale', ['keys']]);
  const keys = stale.body.sources.keys as CombinedKeySourceHealth;
  assert.deepEqual(keys.unready, ['pci']);
  assert.equal(keys.sources.pci!.source, 'pci test keys');
  assert.equal(keys.sources.pci!.stale, true);
  const d = String(pciReader.toPrivateJwks().keys[0]!.d);
  assert.ok(!JSON.stringify(stale.body).includes(d.slice(0, 16)), 'key bytes in /readyz');
  assert.equal((await get('/healthz')).status, 200);

  await pciProvider.refresh();
  assert.equal((await get('/readyz')).status, 200);
});
