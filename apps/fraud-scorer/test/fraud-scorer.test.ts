import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FieldPolicy, encryptFields } from '@wireseal/core';
import { kafkaAvailable, startKafka } from '@wireseal-tooling/local-kafka';
import { eventKeys, publishEvents, sampleEvent, tamper, waitForRecords } from '@wireseal-apps/shared/event-testing';
import { EVENT_POLICY } from '@wireseal-apps/shared/payment-events';
import { fraudRules, startFraudScorer } from '@wireseal-apps/fraud-scorer';
import type { FraudScorer } from '@wireseal-apps/fraud-scorer';

const avail = kafkaAvailable();
// The producer holds the pci public key and the pii key; the scorer holds pii only.
const { pii, writer } = eventKeys();
const policy = FieldPolicy.parse(EVENT_POLICY);
const topic = 'payments.authorized';
let broker: Awaited<ReturnType<typeof startKafka>>;
let scorer: FraudScorer;
let dir: string;
type Event = ReturnType<typeof sampleEvent>;
const large = (i: number): Event => sampleEvent(i, { amount: { value: 45_000, currency: 'EUR' } });

test('the rules: a large amount, one SSN with several cards, an SSN it cannot read', () => {
  const score = fraudRules();
  assert.deepEqual(score(sampleEvent(1)), { score: 0, reasons: [] });
  assert.deepEqual(score(large(2)), { score: 40, reasons: ['high-amount'] });
  const again = { ...sampleEvent(3), customer: sampleEvent(1).customer }; // event 1's SSN, another card
  assert.deepEqual(score(again), { score: 50, reasons: ['ssn-many-cards'] });
  assert.deepEqual(score({ ...sampleEvent(4), customer: { ssn: 'eyJhbGciOi.x.y.z.w' } }), { score: 30, reasons: ['ssn-unreadable'] });
});

before(async () => {
  if (!avail.ok) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-fraud-'));
  broker = await startKafka();
  scorer = await startFraudScorer({ keys: { pii }, brokers: broker.brokers, handledFile: path.join(dir, 'handled.jsonl') });
});
after(async () => {
  await scorer?.stop();
  await broker?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('it opens the SSN, scores, and hands the card number on sealed; what it cannot open it cannot check', { skip: avail.ok ? false : avail.reason }, async () => {
  const events = Array.from({ length: 10 }, (_, i) => (i === 9 ? large(i) : sampleEvent(i)));
  const seal = (e: Event): Event => encryptFields(writer, e, policy, { context: { topic } }) as Event;
  // A tampered card number: pci, which the scorer cannot open, so it cannot tell. Handed on.
  const badCard = seal(sampleEvent(10));
  badCard.card.number = tamper(badCard.card.number);
  // A tampered SSN: its own audience. Dead-lettered.
  const badSsn = seal(sampleEvent(11));
  badSsn.customer.ssn = tamper(badSsn.customer.ssn);
  await publishEvents(broker.brokers, topic, writer, events, [badCard, badSsn].map((d) => ({ key: d.id, value: JSON.stringify(d) })));

  await waitForRecords(() => scorer.stats(), 12);
  const stats = scorer.stats();
  assert.deepEqual([stats.handled, stats.scored, stats.decrypted, stats.deadLettered], [11, 11, 11, 1]);
  assert.deepEqual([stats.openedByPath, stats.sealedByPath], [{ 'customer.ssn': 11 }, { 'card.number': 11 }]);
  assert.deepEqual(stats.deadLetteredByCode, { ERR_DECRYPT: 1 });
  assert.deepEqual(stats.byReason, { 'high-amount': 1 });
  assert.equal(scorer.dlqTopic, `${topic}.fraud-scorer.dlq`);

  const all = [...events, sampleEvent(10)];
  const handled = fs.readFileSync(path.join(dir, 'handled.jsonl'), 'utf8');
  const docs = handled.trim().split('\n').map((l) => JSON.parse(l) as Event);
  assert.deepEqual(docs.map((d) => d.customer.ssn), all.map((e) => e.customer.ssn));
  for (const e of all) assert.ok(!handled.includes(e.card.number), 'a card number in the scorer\'s output');
  assert.equal(docs[10]!.card.number, badCard.card.number); // handed on byte for byte
});
