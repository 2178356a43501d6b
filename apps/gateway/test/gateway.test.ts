import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { KeySet, decodeProtectedHeader, decryptFields, encryptFields, FieldPolicy, open, seal } from '@wireseal/core';
import { DIRECTION_CONTEXT_KEY } from '@wireseal/http';
import { createFetch } from '@wireseal/http/fetch';
import { keyView, startGateway } from '@wireseal-apps/gateway';
import type { Gateway, GatewayEvent } from '@wireseal-apps/gateway';
import { listenUpstream, tearDown } from './helpers.ts';

// The gateway's key store: one of the keys is the store's own primary (irrelevant to services).
let store = KeySet.generate({ kid: 'svc-a' });
store = store.addKey({ kid: 'svc-b' }).addKey({ kid: 'svc-c' });
// The keys of a service whose policy has two audiences: card and bank, one key each (bank changes keys below).
store = store.addKey({ kid: 'cards-card-1' }).addKey({ kid: 'cards-bank-1' }).addKey({ kid: 'cards-bank-2' });
const keyA = keyView(store, 'svc-a');
const keyB = keyView(store, 'svc-b');
const cardKey = keyView(store, 'cards-card-1');
const bank1 = keyView(store, 'cards-bank-1');
const bank2 = keyView(store, 'cards-bank-2');
// @wireseal/http binds every shared-key token to the way it travels; tokens made here with the
// core directly name the direction themselves, as a peer without the package would.
const REQUEST = { [DIRECTION_CONTEXT_KEY]: 'request' };
const RESPONSE = { [DIRECTION_CONTEXT_KEY]: 'response' };

interface Hit { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }
const hits: Hit[] = [];
let upstream: http.Server;
let upstreamUrl: string;
let dir: string;
let configFile: string;
let gateway: Gateway;
const events: GatewayEvent[] = [];

function writeConfig(services: unknown[]): void {
  const tmp = `${configFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ services }, null, 2));
  fs.renameSync(tmp, configFile);
}

const AUDIENCE_POLICY = { audiences: { card: ['card.number'], bank: ['account.iban'] }, bind: ['id'] };

/** The services; `overrides` apply to "orders", `cards` to "cards" (a member set to undefined is removed). */
function services(overrides: Record<string, unknown> = {}, cards: Record<string, unknown> = {}): unknown[] {
  return [
    { name: 'orders', routePrefix: '/orders', upstream: upstreamUrl, enabled: true, keyId: 'svc-a', mode: 'fields', policy: ['card.number', 'account.iban'], ...overrides },
    { name: 'reports', routePrefix: '/reports', upstream: `${upstreamUrl}/api`, enabled: true, keyId: 'svc-a', mode: 'whole' },
    { name: 'cards', routePrefix: '/cards', upstream: upstreamUrl, enabled: true, mode: 'fields', policy: AUDIENCE_POLICY, keyring: { card: 'cards-card-1', bank: 'cards-bank-1' }, ...cards },
  ];
}

/** Waits until the gateway, on its own (file watch), has loaded a configuration newer than `version`. */
async function waitForVersion(version: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (gateway.version() <= version) {
    if (Date.now() > until) throw new Error(`configuration version ${version + 1} was not loaded within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitForEvent(type: GatewayEvent['type'], after: number): Promise<GatewayEvent> {
  const until = Date.now() + 10_000;
  for (;;) {
    const e = events.slice(after).find((x) => x.type === type);
    if (e) return e;
    if (Date.now() > until) throw new Error(`no ${type} event within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const order = { id: 'o-1', card: { number: '4000001234567899', expiry: '12/30' }, account: { iban: 'DE89370400440532013000' }, note: 'plain' };
const policy = FieldPolicy.parse(['card.number', 'account.iban']);
const audiencePolicy = FieldPolicy.parse(AUDIENCE_POLICY);
const postJson = (url: string, body: unknown): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-gateway-'));
  configFile = path.join(dir, 'gateway.json');
  ({ server: upstream, url: upstreamUrl } = await listenUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url?.endsWith('/raw')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', etag: '"abc"' }).end(body);
        return;
      }
      const doc = body.length > 0 ? JSON.parse(body.toString('utf8')) : null;
      const answer = JSON.stringify({ id: doc?.id, received: doc, account: { iban: 'GB82WEST12345698765432' }, path: req.url });
      res.writeHead(201, { 'content-type': 'application/json', etag: '"v1"' }).end(answer);
    });
  }));
  writeConfig(services());
  gateway = await startGateway({ configFile, keys: store, watchIntervalMs: 100, onEvent: (e) => events.push(e) });
});

after(async () => {
  await tearDown(gateway, upstream, dir);
});

describe('enabled service, fields mode', () => {
  test('opens the sealed request, forwards plaintext, seals the response', async () => {
    const sfetch = createFetch({ keys: keyA, mode: 'fields', policy: ['card.number', 'account.iban'] });
    const before = hits.length;
    const res = await sfetch(`${gateway.url}/orders/v1/orders?x=1`, { method: 'POST', body: JSON.stringify(order) });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { received: typeof order; account: { iban: string }; path: string };
    assert.deepEqual(body.received, order);
    assert.equal(body.account.iban, 'GB82WEST12345698765432');
    assert.equal(hits.length, before + 1);
    const hit = hits.at(-1)!;
    assert.equal(hit.url, '/v1/orders?x=1'); // prefix stripped, query kept
    assert.deepEqual(JSON.parse(hit.body.toString('utf8')), order); // upstream saw plaintext
    assert.equal(hit.headers['content-type'], 'application/json');
    assert.equal(hit.headers['content-length'], String(hit.body.length));
    assert.equal(hit.headers.wireseal, undefined);
  });

  test('the response crosses the wire sealed with the service key (no ETag)', async () => {
    const sealed = encryptFields(keyA, order, policy, { context: REQUEST });
    const res = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sealed) });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('etag'), null);
    const raw = (await res.json()) as { account: { iban: string } };
    assert.match(raw.account.iban, /^eyJ[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(decodeProtectedHeader(raw.account.iban).kid, 'svc-a');
    assert.equal((decryptFields(keyA, raw, policy, { context: RESPONSE }).doc as { account: { iban: string } }).account.iban, 'GB82WEST12345698765432');
  });

  test('a tampered token is refused with problem+json and never reaches the upstream', async () => {
    const sealed = encryptFields(keyA, order, policy, { context: REQUEST }) as { card: { number: string } };
    const t = sealed.card.number;
    const i = t.lastIndexOf('.') - 3; // inside the ciphertext
    sealed.card.number = t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
    const before = hits.length;
    const res = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sealed) });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = (await res.json()) as { code: string; status: number };
    assert.equal(problem.code, 'ERR_DECRYPT');
    assert.equal(problem.status, 400);
    assert.equal(hits.length, before, 'upstream was called');
    assert.equal(gateway.stats().orders!.refusedByCode.ERR_DECRYPT, 1);
  });

  test('plaintext, wrong media type and tokens under another key are refused, upstream untouched', async () => {
    const before = hits.length;
    const plain = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
    assert.equal(plain.status, 422);
    assert.equal(((await plain.json()) as { code: string }).code, 'ERR_PLAINTEXT_FIELD');
    const text = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(text.status, 415);
    await text.body?.cancel();
    const other = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encryptFields(keyB, order, policy, { context: REQUEST })) });
    assert.equal(other.status, 400);
    assert.equal(((await other.json()) as { code: string }).code, 'ERR_KEY_UNKNOWN');
    assert.equal(hits.length, before);
  });

  test('an unknown path is a 404 problem', async () => {
    const res = await fetch(`${gateway.url}/nope/x`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'ROUTE_NOT_FOUND');
  });
});

describe('enabled service, fields mode with an audience keyring', () => {
  test('opens each audience with its own key, forwards plaintext, seals the answer per audience', async () => {
    const sfetch = createFetch({ keys: { card: cardKey, bank: bank1 }, mode: 'fields', policy: AUDIENCE_POLICY });
    const before = hits.length;
    const res = await sfetch(`${gateway.url}/cards/v1/charge`, { method: 'POST', body: JSON.stringify(order) });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { received: typeof order; account: { iban: string } };
    assert.deepEqual(body.received, order);
    assert.equal(body.account.iban, 'GB82WEST12345698765432');
    assert.equal(hits.length, before + 1);
    assert.deepEqual(JSON.parse(hits.at(-1)!.body.toString('utf8')), order); // upstream saw plaintext
    assert.equal(gateway.stats().cards!.decrypted, 1);

    // On the wire, the answer's account.iban is sealed with the bank audience's key.
    const raw = (await (await postJson(`${gateway.url}/cards/x`, encryptFields({ card: cardKey, bank: bank1 }, order, audiencePolicy, { context: REQUEST }))).json()) as { id: string; account: { iban: string } };
    assert.equal(decodeProtectedHeader(raw.account.iban).kid, 'cards-bank-1');
    assert.equal(decodeProtectedHeader(raw.account.iban).alg, 'A256KW');
    assert.equal(raw.id, 'o-1'); // bound into the answer's tokens (bind: id)
  });

  test('a token under another key than its audience\'s is refused (ERR_KEY_UNKNOWN), upstream untouched', async () => {
    const before = hits.length;
    // The bank field sealed with the card audience's key: the gateway's bank audience does not hold it.
    const res = await postJson(`${gateway.url}/cards/x`, encryptFields({ card: cardKey, bank: cardKey }, order, audiencePolicy, { context: REQUEST }));
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, 'ERR_KEY_UNKNOWN');
    // A token moved into another record does not open (bind: id).
    const other = encryptFields({ card: cardKey, bank: bank1 }, { ...order, id: 'o-2' }, audiencePolicy, { context: REQUEST }) as typeof order;
    const moved = encryptFields({ card: cardKey, bank: bank1 }, order, audiencePolicy, { context: REQUEST }) as typeof order;
    moved.card.number = other.card.number;
    const res2 = await postJson(`${gateway.url}/cards/x`, moved);
    assert.equal(res2.status, 400);
    assert.equal(((await res2.json()) as { code: string }).code, 'ERR_CONTEXT_MISMATCH');
    assert.equal(hits.length, before);
  });

  test('the admin endpoint shows the keyring by key ids only', async () => {
    const admin = (await (await fetch(`${gateway.url}/_gateway/config`)).json()) as { services: Array<{ name: string; keyId?: string; keyring?: unknown }> };
    const cards = admin.services.find((s) => s.name === 'cards')!;
    assert.equal(cards.keyId, undefined);
    assert.deepEqual(cards.keyring, { card: { keyId: 'cards-card-1', acceptKeyIds: [] }, bank: { keyId: 'cards-bank-1', acceptKeyIds: [] } });
  });
});

describe('enabled service, whole mode', () => {
  test('opens application/jose, forwards the inner media type, seals the response to application/jose', async () => {
    const sfetch = createFetch({ keys: keyA, mode: 'whole' });
    const res = await sfetch(`${gateway.url}/reports/daily`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ day: '2026-11-01' }) });
    assert.equal(res.status, 201);
    assert.deepEqual(((await res.json()) as { received: unknown }).received, { day: '2026-11-01' });
    const hit = hits.at(-1)!;
    assert.equal(hit.url, '/api/daily');
    assert.equal(hit.headers['content-type'], 'application/json');
    assert.equal(hit.headers.accept, undefined); // application/jose is for the gateway, not the upstream
    assert.deepEqual(JSON.parse(hit.body.toString('utf8')), { day: '2026-11-01' });

    const token = seal(keyA, JSON.stringify({ day: 'x' }), { cty: 'application/json', iat: Math.floor(Date.now() / 1000), context: REQUEST });
    const raw = await fetch(`${gateway.url}/reports/daily`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: token });
    assert.equal(raw.headers.get('content-type'), 'application/jose');
    const sealedAnswer = await raw.text();
    assert.equal(decodeProtectedHeader(sealedAnswer).kid, 'svc-a');
    assert.equal(JSON.parse(new TextDecoder().decode(open(keyA, sealedAnswer, { context: RESPONSE }))).path, '/api/daily');
  });
});

describe('configuration changes apply without a restart', () => {
  test('disabling a service passes bytes through untouched, both ways', async () => {
    const v = gateway.version();
    writeConfig(services({ enabled: false }));
    await waitForVersion(v);
    const sealedText = JSON.stringify(encryptFields(keyA, order, policy, { context: REQUEST }));
    const before = hits.length;
    const res = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sealedText });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('etag'), '"v1"'); // the upstream's headers, untouched
    const answer = (await res.json()) as { received: unknown; account: { iban: string } };
    assert.equal(answer.account.iban, 'GB82WEST12345698765432'); // response not sealed
    assert.equal(hits.length, before + 1);
    assert.equal(hits.at(-1)!.body.toString('utf8'), sealedText); // request bytes untouched: tokens still in it
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    const bin = await fetch(`${gateway.url}/orders/raw`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    assert.deepEqual(Buffer.from(await bin.arrayBuffer()), bytes);
    assert.equal(gateway.stats().orders!.untouched, 2);
  });

  test('enabling it again seals again', async () => {
    const v = gateway.version();
    writeConfig(services());
    await waitForVersion(v);
    const before = hits.length;
    const res = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
    assert.equal(res.status, 422);
    await res.body?.cancel();
    assert.equal(hits.length, before);
  });

  test('changing keyId switches the key: old-key tokens refused, new-key tokens accepted, responses under the new key', async () => {
    const v = gateway.version();
    writeConfig(services({ keyId: 'svc-b' }));
    await waitForVersion(v);
    const before = hits.length;
    const oldKey = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encryptFields(keyA, order, policy, { context: REQUEST })) });
    assert.equal(oldKey.status, 400);
    assert.equal(((await oldKey.json()) as { code: string }).code, 'ERR_KEY_UNKNOWN');
    assert.equal(hits.length, before);
    const newKey = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encryptFields(keyB, order, policy, { context: REQUEST })) });
    assert.equal(newKey.status, 201);
    const raw = (await newKey.json()) as { account: { iban: string } };
    assert.equal(decodeProtectedHeader(raw.account.iban).kid, 'svc-b');
    assert.equal(hits.length, before + 1);
    assert.equal(gateway.services().find((s) => s.name === 'orders')!.keyId, 'svc-b');
  });

  test('acceptKeyIds keeps the previous key opening during a key change', async () => {
    const v = gateway.version();
    writeConfig(services({ keyId: 'svc-b', acceptKeyIds: ['svc-a'] }));
    await waitForVersion(v);
    for (const k of [keyA, keyB]) {
      const res = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encryptFields(k, order, policy, { context: REQUEST })) });
      assert.equal(res.status, 201);
      const raw = (await res.json()) as { account: { iban: string } };
      assert.equal(decodeProtectedHeader(raw.account.iban).kid, 'svc-b'); // always sealed with keyId
    }
  });

  test('a bad file is rejected and the last good configuration stays in force', async () => {
    const cases: Array<[string, () => void]> = [
      ['not JSON', () => { fs.writeFileSync(`${configFile}.tmp`, '{ "services": ['); fs.renameSync(`${configFile}.tmp`, configFile); }],
      ['unknown key id', () => writeConfig(services({ keyId: 'svc-zz' }))],
      ['key material in the file', () => writeConfig(services({ k: 'AAAA' }))],
      ['bad mode', () => writeConfig(services({ mode: 'both' }))],
      ['bad policy', () => writeConfig(services({ policy: ['a..b'] }))],
      ['duplicate prefix', () => writeConfig([...services(), { name: 'dup', routePrefix: '/orders', upstream: upstreamUrl, enabled: false, keyId: 'svc-a', mode: 'whole' }])],
    ];
    const version = gateway.version();
    for (const [what, write] of cases) {
      const n = events.length;
      write();
      const e = await waitForEvent('config-rejected', n);
      assert.equal(e.type === 'config-rejected' && e.code, 'ERR_POLICY_INVALID', what);
      assert.equal(e.type === 'config-rejected' && e.keptVersion, version, what);
      if (what === 'key material in the file') assert.doesNotMatch((e as { message: string }).message, /AAAA/);
    }
    assert.equal(gateway.version(), version);
    const res = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encryptFields(keyB, order, policy, { context: REQUEST })) });
    assert.equal(res.status, 201); // still the last good configuration (svc-b)
    await res.body?.cancel();
    const admin = (await (await fetch(`${gateway.url}/_gateway/config`)).json()) as { version: number; lastError: { code: string } | null };
    assert.equal(admin.version, version);
    assert.equal(admin.lastError?.code, 'ERR_POLICY_INVALID');
  });

  test('one audience changes keys without a restart: acceptKeyIds in its keyring entry keeps the old key opening', async () => {
    const v = gateway.version();
    writeConfig(services({ keyId: 'svc-b' }, { keyring: { card: 'cards-card-1', bank: { keyId: 'cards-bank-2', acceptKeyIds: ['cards-bank-1'] } } }));
    await waitForVersion(v);
    for (const bank of [bank1, bank2]) {
      const res = await postJson(`${gateway.url}/cards/x`, encryptFields({ card: cardKey, bank }, order, audiencePolicy, { context: REQUEST }));
      assert.equal(res.status, 201);
      const raw = (await res.json()) as { account: { iban: string } };
      assert.equal(decodeProtectedHeader(raw.account.iban).kid, 'cards-bank-2'); // sealed with the audience's keyId only
      assert.equal((decryptFields({ card: cardKey, bank: bank2 }, raw, audiencePolicy, { context: RESPONSE }).doc as typeof order).account.iban, 'GB82WEST12345698765432');
    }
    const v2 = gateway.version();
    writeConfig(services({ keyId: 'svc-b' }, { keyring: { card: 'cards-card-1', bank: 'cards-bank-2' } }));
    await waitForVersion(v2);
    const old = await postJson(`${gateway.url}/cards/x`, encryptFields({ card: cardKey, bank: bank1 }, order, audiencePolicy, { context: REQUEST }));
    assert.equal(old.status, 400);
    assert.equal(((await old.json()) as { code: string }).code, 'ERR_KEY_UNKNOWN');
  });

  test('a keyring that does not match the policy or the key store is rejected, saying what is wrong', async () => {
    const ring = { card: 'cards-card-1', bank: 'cards-bank-2' };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ keyring: { ...ring, pii: 'cards-bank-1' } }, /services\[2\] \(cards\): keyring names audience "pii", which the policy does not have \(card, bank\)/],
      [{ keyring: { ...ring, bank: 'cards-bank-9' } }, /services\[2\] \(cards\): keyring\.bank names a key id the key store does not hold/],
      [{ keyring: { ...ring, bank: { keyId: 'cards-bank-2', acceptKeyIds: ['nope'] } } }, /keyring\.bank\.acceptKeyIds names a key id the key store does not hold/],
      [{ keyring: { card: 'cards-card-1' } }, /keyring lacks the policy's audience bank/],
      [{ keyring: ring, keyId: 'svc-a' }, /keyId and keyring exclude each other/],
      [{ keyring: ring, acceptKeyIds: ['svc-a'] }, /acceptKeyIds goes inside the keyring entry/],
      [{ keyring: undefined, keyId: 'svc-a' }, /the policy has audiences card, bank: name a key per audience with keyring instead of keyId/],
      [{ keyring: { ...ring, bank: { keyId: 'cards-bank-2', k: 'QUFBQQ' } } }, /keyring\.bank: "k" is not allowed/],
      [{ keyring: { ...ring, bank: 7 } }, /keyring\.bank must be a key id/],
      [{ keyring: ring, mode: 'whole', policy: undefined }, /a keyring only applies to fields mode/],
    ];
    const version = gateway.version();
    for (const [cards, message] of cases) {
      const n = events.length;
      writeConfig(services({ keyId: 'svc-b' }, cards));
      const e = await waitForEvent('config-rejected', n);
      assert.equal(e.type === 'config-rejected' && e.code, 'ERR_POLICY_INVALID', String(message));
      assert.match((e as { message: string }).message, message);
      assert.doesNotMatch((e as { message: string }).message, /QUFBQQ/);
    }
    assert.equal(gateway.version(), version);
    const res = await postJson(`${gateway.url}/cards/x`, encryptFields({ card: cardKey, bank: bank2 }, order, audiencePolicy, { context: REQUEST }));
    assert.equal(res.status, 201); // the last good configuration still serves
    await res.body?.cancel();
  });

  test('a gateway does not start on an invalid configuration', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ services: [{ name: 'x', routePrefix: '/x', upstream: upstreamUrl, enabled: true, keyId: 'nope', mode: 'whole' }] }));
    await assert.rejects(startGateway({ configFile: bad, keys: store }), (err: { code?: string }) => err.code === 'ERR_POLICY_INVALID');
  });
});
