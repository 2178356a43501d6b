import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FieldPolicy, KeySet, decodeProtectedHeader, decryptFields, encryptFields } from '@wireseal/core';
import { DIRECTION_CONTEXT_KEY } from '@wireseal/http';
import { CHECKOUT_POLICY, createCheckout, generatePayments, luhnValid, runCheckout } from '@wireseal-apps/checkout';

const keys = KeySet.generate({ kid: 'checkout-test' });
const policy = FieldPolicy.parse(CHECKOUT_POLICY);
// The client binds each token to the way it travels (@wireseal/http, bindDirection); this stand-in
// uses the core directly, so it names the direction itself.
const REQUEST = { [DIRECTION_CONTEXT_KEY]: 'request' };
const RESPONSE = { [DIRECTION_CONTEXT_KEY]: 'response' };
const received: string[] = [];
let server: http.Server;
let url: string;

before(async () => {
  // A stand-in payments-api that records the bytes as they arrived.
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      received.push(text);
      const doc = decryptFields(keys, JSON.parse(text), policy, { context: REQUEST }).doc as { id: string; card: { number: string } };
      if (doc.id.endsWith('000002')) {
        res.writeHead(422, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status: 422, code: 'PAYMENT_INVALID' }));
        return;
      }
      // The response carries a sealed field too: the client must open it.
      const answer = encryptFields(keys, { id: doc.id, card: { number: doc.card.number } }, policy, { context: RESPONSE });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('generated payments are deterministic, Luhn-valid and distinct', () => {
  const a = generatePayments(500, 'seed-1');
  assert.deepEqual(generatePayments(500, 'seed-1'), a);
  assert.notDeepEqual(generatePayments(5, 'seed-2'), a.slice(0, 5));
  assert.equal(a.length, 500);
  assert.ok(a.every((p) => luhnValid(p.card.number) && p.card.number.length === 16));
  assert.ok(a.every((p) => /^9\d{2}-\d{2}-\d{4}$/.test(p.customer.ssn) && /^\d{3}$/.test(p.card.cvv)));
  assert.equal(new Set(a.map((p) => p.card.number)).size, 500);
  assert.equal(new Set(a.map((p) => p.customer.ssn)).size, 500);
  assert.equal(new Set(a.map((p) => p.id)).size, 500);
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('4111111111111112'), false);
});

test('card number, CVV and SSN leave the client as field tokens; the rest stays readable', async () => {
  const [payment] = generatePayments(1, 'wire');
  const checkout = createCheckout({ paymentsUrl: url, keys });
  const result = await checkout.pay(payment!);
  assert.equal(result.status, 201);
  assert.equal(result.ok, true);
  assert.deepEqual(result.body, { id: payment!.id, card: { number: payment!.card.number } }); // response opened
  const wire = JSON.parse(received.at(-1)!) as typeof payment & {};
  for (const [path, token] of [['card.number', wire.card.number], ['card.cvv', wire.card.cvv], ['customer.ssn', wire.customer.ssn]] as const) {
    assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/, path);
    const header = decodeProtectedHeader(token);
    assert.equal(header.wsf, path);
    assert.equal(header.kid, 'checkout-test');
    assert.equal(header.alg, 'A256KW');
  }
  assert.equal(wire.id, payment!.id);
  assert.deepEqual(wire.amount, payment!.amount);
  assert.equal(wire.card.expiry, payment!.card.expiry);
  assert.equal(wire.customer.name, payment!.customer.name);
  for (const secret of [payment!.card.number, payment!.customer.ssn]) assert.ok(!received.at(-1)!.includes(secret));
  assert.deepEqual(decryptFields(keys, wire, policy, { context: REQUEST }).doc, payment);
});

test('runCheckout counts authorized and refused payments; network failures are reported, not thrown', async () => {
  const payments = generatePayments(20, 'run');
  const summary = await runCheckout(createCheckout({ paymentsUrl: url, keys }), payments, 4);
  assert.equal(summary.sent, 20);
  assert.equal(summary.authorized, 19);
  assert.deepEqual(summary.refused, { PAYMENT_INVALID: 1 });
  const down = await createCheckout({ paymentsUrl: 'http://127.0.0.1:1', keys }).pay(payments[0]!);
  assert.equal(down.ok, false);
  assert.equal(down.status, 0);
  assert.equal(down.code, 'ERR_NETWORK');
});
