import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FieldPolicy, KeySet, PrivateKeySet, PublicKeySet, contextDigest, decodeProtectedHeader, decryptFields, encryptFields } from '@wireseal/core';
import { DIRECTION_CONTEXT_KEY } from '@wireseal/http';
import { createFetch } from '@wireseal/http/fetch';
import { kafkaAvailable, startKafka } from '@wireseal-tooling/local-kafka';
import { Kafka, logLevel } from 'kafkajs';
import { EVENT_POLICY, PAYMENT_POLICY, startPaymentsApi } from '@wireseal-apps/payments-api';
import type { PaymentsApi } from '@wireseal-apps/payments-api';

const keys = KeySet.generate({ kid: 'payments-test' });
const policy = FieldPolicy.parse(PAYMENT_POLICY);
// @wireseal/http binds every shared-key token to the way it travels; requests sealed here with the
// core directly name the direction themselves, as a peer without the package would.
const REQUEST = { [DIRECTION_CONTEXT_KEY]: 'request' };

function payment(i: number, number = '4000001234567899') {
  return {
    id: `pay_test_${i}`,
    merchant: 'acme-books',
    amount: { value: 1250 + i, currency: 'EUR' },
    card: { number, cvv: '737', expiry: '03/30', holder: 'Ada Lovelace' },
    customer: { name: 'Ada Lovelace', email: 'ada@example.com', ssn: `900-12-${String(1000 + i)}` },
  };
}

const post = (api: PaymentsApi, body: unknown): Promise<Response> =>
  fetch(`${api.url}/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('HTTP (no Kafka)', () => {
  let api: PaymentsApi;
  before(async () => { api = await startPaymentsApi({ keys }); });
  after(() => api.stop());

  test('a sealed payment is opened, validated and authorized', async () => {
    const sfetch = createFetch({ keys, mode: 'fields', policy: PAYMENT_POLICY });
    const res = await sfetch(`${api.url}/payments`, { method: 'POST', body: JSON.stringify(payment(1)) });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { id: string; status: string; card: { last4: string }; published: boolean };
    assert.deepEqual([body.id, body.status, body.card.last4, body.published], ['pay_test_1', 'authorized', '7899', false]);
    const s = api.stats();
    assert.deepEqual([s.received, s.fieldsDecrypted, s.authorized, s.published], [1, 3, 1, 0]);
  });

  test('plaintext, tampered and cut-and-pasted tokens are refused before the handler', async () => {
    const before = api.stats().received;
    const plain = await post(api, payment(2));
    assert.equal(plain.status, 422);
    assert.match(plain.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(((await plain.json()) as { code: string }).code, 'ERR_PLAINTEXT_FIELD');

    const sealed = encryptFields(keys, payment(3), policy, { context: REQUEST }) as ReturnType<typeof payment>;
    const tampered = structuredClone(sealed);
    const t = tampered.card.number;
    const i = t.lastIndexOf('.') - 2;
    tampered.card.number = t.slice(0, i) + (t[i] === 'x' ? 'y' : 'x') + t.slice(i + 1);
    const bad = await post(api, tampered);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'ERR_DECRYPT');

    const pasted = structuredClone(sealed);
    pasted.card.number = sealed.card.cvv; // a valid token, from another field
    const moved = await post(api, pasted);
    assert.equal(moved.status, 400);
    assert.equal(((await moved.json()) as { code: string }).code, 'ERR_FIELD_MISMATCH');

    const otherKeys = KeySet.generate({ kid: 'someone-else' });
    const foreign = await post(api, encryptFields(otherKeys, payment(4), policy, { context: REQUEST }));
    assert.equal(foreign.status, 400);
    assert.equal(((await foreign.json()) as { code: string }).code, 'ERR_KEY_UNKNOWN');

    assert.equal(api.stats().received, before, 'the handler ran for a refused request');
    assert.deepEqual(api.stats().refusedByCode, { ERR_PLAINTEXT_FIELD: 1, ERR_DECRYPT: 1, ERR_FIELD_MISMATCH: 1, ERR_KEY_UNKNOWN: 1 });
  });

  test('an invalid card number is refused by validation without echoing it', async () => {
    const res = await post(api, encryptFields(keys, payment(5, '4000001234567890'), policy, { context: REQUEST }));
    assert.equal(res.status, 422);
    const text = await res.text();
    assert.equal(JSON.parse(text).code, 'PAYMENT_INVALID');
    assert.match(JSON.parse(text).detail, /card\.number/);
    assert.ok(!text.includes('4000001234567890'));
  });

  test('POST /payouts is plaintext (it sits behind the gateway) and checks the IBAN', async () => {
    const ok = await fetch(`${api.url}/payouts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ partner: 'acme', amount: { value: 100, currency: 'EUR' }, beneficiary: { name: 'X', iban: 'DE89370400440532013000' } }) });
    assert.equal(ok.status, 201);
    assert.equal(((await ok.json()) as { beneficiary: { iban: string } }).beneficiary.iban, 'DE89370400440532013000');
    const bad = await fetch(`${api.url}/payouts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ partner: 'acme', amount: { value: 100, currency: 'EUR' }, beneficiary: { name: 'X', iban: 'DE89370400440532013001' } }) });
    assert.equal(bad.status, 422);
    assert.equal(((await bad.json()) as { detail: string }).detail, 'invalid or missing: beneficiary.iban');
  });
});

const avail = kafkaAvailable();
describe('publishing payment.authorized to Kafka', { skip: avail.ok ? false : avail.reason }, () => {
  let broker: Awaited<ReturnType<typeof startKafka>>;
  let api: PaymentsApi;
  const topic = 'payments.authorized.test';
  // The event keyring: pci sealed to an X25519 key whose private half only the ledger holds; pii shared.
  const pciReader = PrivateKeySet.generate({ kid: 'pci-test', type: 'X25519' });
  const pciWriter = PublicKeySet.of(pciReader);
  const pii = KeySet.generate({ kid: 'pii-test' });
  before(async () => {
    broker = await startKafka();
    api = await startPaymentsApi({ keys, kafka: { brokers: broker.brokers, topic, keys: { pci: pciWriter, pii } } });
  });
  after(async () => {
    await api?.stop();
    await broker?.stop();
  });

  test('events carry the card number sealed for pci and the SSN for pii, bound to the topic and the event id; no CVV, the rest readable', async () => {
    const sfetch = createFetch({ keys, mode: 'fields', policy: PAYMENT_POLICY });
    const sent = [1, 2, 3, 4, 5].map((i) => payment(i, ['4000001234567899', '4000000000000002', '4000001111111118', '4000000000000010', '4000000000000028'][i - 1]));
    for (const p of sent) {
      const res = await sfetch(`${api.url}/payments`, { method: 'POST', body: JSON.stringify(p) });
      assert.equal(res.status, 201, await res.clone().text());
      assert.equal(((await res.json()) as { published: boolean }).published, true);
    }
    assert.equal(api.stats().published, 5);

    const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `raw-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const records: Array<{ key: string; value: string; headers: Record<string, string> }> = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          records.push({ key: String(message.key), value: message.value!.toString('utf8'), headers });
          if (records.length === sent.length) resolve();
        },
      });
    });
    await consumer.disconnect();

    const eventPolicy = FieldPolicy.parse(EVENT_POLICY);
    const docs = records.map((r) => JSON.parse(r.value) as { card: { number: string; cvv?: string; last4: string }; customer: { ssn: string }; amount: { value: number } });
    for (const [i, r] of records.entries()) {
      const p = sent[i]!;
      const doc = docs[i]!;
      assert.equal(r.key, p.id);
      assert.equal(r.headers.wireseal, '1');
      assert.equal(r.headers['event-type'], 'payment.authorized');
      assert.ok(!r.value.includes(p.card.number) && !r.value.includes(p.customer.ssn), 'plaintext PII in a record');
      assert.equal(doc.card.cvv, undefined);
      assert.equal(doc.card.last4, p.card.number.slice(-4));
      assert.equal(doc.amount.value, p.amount.value);
      const wsc = contextDigest({ topic, $id: JSON.stringify(p.id) }); // the topic, and the event id (bind)
      const card = decodeProtectedHeader(doc.card.number);
      assert.deepEqual([card.alg, card.wsf, card.wsc, card.kid], ['ECDH-ES+A256KW', 'card.number', wsc, 'pci-test']);
      const ssn = decodeProtectedHeader(doc.customer.ssn);
      assert.deepEqual([ssn.wsf, ssn.wsc, ssn.kid], ['customer.ssn', wsc, 'pii-test']);

      // Each reader opens its own audience; the other field reaches it as the token it was.
      const ledger = decryptFields({ pci: pciReader }, doc, eventPolicy, { context: { topic } });
      assert.equal((ledger.doc as typeof doc).card.number, p.card.number);
      assert.equal((ledger.doc as typeof doc).customer.ssn, doc.customer.ssn);
      assert.deepEqual(ledger.sealed, ['customer.ssn']);
      const fraud = decryptFields({ pii }, doc, eventPolicy, { context: { topic } });
      assert.equal((fraud.doc as typeof doc).customer.ssn, p.customer.ssn);
      assert.deepEqual(fraud.sealed, ['card.number']);
      // payments-api's own keyring (the pci public key) opens the SSN, never the card number.
      const own = decryptFields({ pci: pciWriter, pii }, doc, eventPolicy, { context: { topic } });
      assert.deepEqual([own.decrypted, own.sealed], [['customer.ssn'], ['card.number']]);
      assert.equal((own.doc as typeof doc).card.number, doc.card.number);
      assert.throws(() => decryptFields({ pci: pciReader, pii }, doc, eventPolicy, { context: { topic: 'elsewhere' } }), (e: { code?: string }) => e.code === 'ERR_CONTEXT_MISMATCH');
    }
    // A card token copied into another event does not open there (bound to the event id).
    const moved = structuredClone(docs[1]!);
    moved.card.number = docs[0]!.card.number;
    assert.throws(() => decryptFields({ pci: pciReader }, moved, eventPolicy, { context: { topic } }), (e: { code?: string }) => e.code === 'ERR_CONTEXT_MISMATCH');

    // It tried to open its first event itself: the card number stayed sealed.
    assert.deepEqual(api.stats().ownEventCheck, { id: sent[0]!.id, opened: ['customer.ssn'], stayedSealed: ['card.number'] });
  });
});
