import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kafkaAvailable, startKafka } from '@wireseal-tooling/local-kafka';
import { eventKeys, publishEvents, sampleEvent, waitForRecords } from '@wireseal-apps/shared/event-testing';
import { startAnalytics } from '@wireseal-apps/analytics';
import type { Analytics } from '@wireseal-apps/analytics';

const avail = kafkaAvailable();
const { writer } = eventKeys();
const topic = 'payments.authorized';
let broker: Awaited<ReturnType<typeof startKafka>>;
let analytics: Analytics;
let dir: string;

before(async () => {
  if (!avail.ok) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-analytics-'));
  broker = await startKafka();
  analytics = await startAnalytics({ brokers: broker.brokers, handledFile: path.join(dir, 'handled.jsonl') });
});
after(async () => {
  await analytics?.stop();
  await broker?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('with no keys it aggregates the plaintext fields; every sealed field reaches it sealed; only a record that is not JSON fails', { skip: avail.ok ? false : avail.reason }, async () => {
  // Merchants alternate; every third payment is in USD; amounts 100, 200, ... 600.
  const events = Array.from({ length: 6 }, (_, i) => sampleEvent(i, { merchant: i % 2 ? 'north-coffee' : 'acme-books', amount: { value: 100 * (i + 1), currency: i % 3 ? 'EUR' : 'USD' } }));
  await publishEvents(broker.brokers, topic, writer, events, [{ key: 'not-json', value: '{"type":"payment.authorized", truncated' }]);

  await waitForRecords(() => analytics.stats(), 7);
  const stats = analytics.stats();
  assert.deepEqual([stats.handled, stats.decrypted, stats.leftSealed, stats.tokensOpened, stats.tokensLeftSealed, stats.deadLettered], [6, 0, 6, 0, 12, 1]);
  assert.deepEqual([stats.openedByPath, stats.sealedByPath], [{}, { 'card.number': 6, 'customer.ssn': 6 }]);
  assert.deepEqual(stats.deadLetteredByCode, { ERR_TOKEN_MALFORMED: 1 });
  assert.equal(analytics.dlqTopic, `${topic}.analytics.dlq`);
  assert.deepEqual(stats.byMerchant, {
    'acme-books': { USD: { payments: 1, amount: 100 }, EUR: { payments: 2, amount: 300 + 500 } },
    'north-coffee': { EUR: { payments: 2, amount: 200 + 600 }, USD: { payments: 1, amount: 400 } },
  });
  const handled = fs.readFileSync(path.join(dir, 'handled.jsonl'), 'utf8');
  assert.equal(handled.trim().split('\n').length, 6);
  for (const e of events) assert.ok(!handled.includes(e.card.number) && !handled.includes(e.customer.ssn), 'plaintext in the analytics output');
});
