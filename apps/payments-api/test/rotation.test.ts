// The rotation procedure of docs/operations.md, run against a live
// payments-api and a sealing client that each read their own copy of the key
// set file (as two deployments would): payments keep flowing through every
// step, and the one shortcut the procedure forbids fails as it says.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeySet, decodeProtectedHeader, fileKeyProvider } from '@wireseal/core';
import type { FileKeyProvider } from '@wireseal/core';
import { createFetch } from '@wireseal/http/fetch';
import { PAYMENT_POLICY, startPaymentsApi } from '@wireseal-apps/payments-api';
import type { PaymentsApi } from '@wireseal-apps/payments-api';

let dir: string;
let api: PaymentsApi;
let serverKeys: FileKeyProvider;
let clientKeys: FileKeyProvider;
const serverFile = (): string => path.join(dir, 'payments-api.keys.json');
const clientFile = (): string => path.join(dir, 'checkout.keys.json');

/** "Roll out" a key set to one service: atomic write, then wait until its provider has it in force. */
async function rollOut(file: string, provider: FileKeyProvider, keys: KeySet): Promise<void> {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(keys.toJwks()), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  const want = JSON.stringify(keys.list());
  const until = Date.now() + 10_000;
  while (JSON.stringify(provider.current().list()) !== want) {
    assert.ok(Date.now() < until, `${path.basename(file)} was not reloaded`);
    await provider.check();
    await new Promise((r) => setTimeout(r, 10));
  }
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-rotation-'));
  const first = KeySet.generate({ kid: '2026-05' });
  for (const f of [serverFile(), clientFile()]) fs.writeFileSync(f, JSON.stringify(first.toJwks()), { mode: 0o600 });
  serverKeys = fileKeyProvider({ path: serverFile(), intervalMs: 25 });
  clientKeys = fileKeyProvider({ path: clientFile(), intervalMs: 25 });
  await Promise.all([serverKeys.ready(), clientKeys.ready()]);
  api = await startPaymentsApi({ keys: serverKeys });
});
after(async () => {
  await api?.stop();
  serverKeys?.close();
  clientKeys?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function payment() {
  n++;
  return {
    id: `pay_rot_${n}`, merchant: 'acme-books', amount: { value: 100 + n, currency: 'EUR' },
    card: { number: '4000001234567899', cvv: '737', expiry: '03/30' }, customer: { name: 'Ada Lovelace', ssn: '900-12-3456' },
  };
}

test('add → roll out → promote → roll out → retire/remove: no payment fails, and both kids were in use', async () => {
  const sentKids: string[] = [];
  const capture = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    sentKids.push(decodeProtectedHeader(JSON.parse(String(init?.body)).card.number).kid ?? '?');
    return fetch(input, init);
  };
  const sfetch = createFetch({ keys: clientKeys, mode: 'fields', policy: PAYMENT_POLICY, fetch: capture });
  const statuses: number[] = [];
  let running = true;
  const traffic = (async () => {
    while (running) {
      const res = await sfetch(`${api.url}/payments`, { method: 'POST', body: JSON.stringify(payment()) });
      statuses.push(res.status);
      await res.body?.cancel();
    }
  })();
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 150));

  let keys = KeySet.fromJwks(fs.readFileSync(serverFile(), 'utf8'));
  await pause();
  // 1. Add the new key decrypt-only and roll it out to every service.
  keys = keys.addKey({ kid: '2026-11' });
  await rollOut(serverFile(), serverKeys, keys);
  await rollOut(clientFile(), clientKeys, keys);
  await pause();
  // 2. Promote it (the old primary becomes decrypt-only) and roll that out.
  keys = keys.promote('2026-11');
  await rollOut(clientFile(), clientKeys, keys); // the writer first: the reader already holds 2026-11
  await rollOut(serverFile(), serverKeys, keys);
  await pause();
  // 3-4. Nothing sealed with 2026-05 is in flight any more (nothing stored here): remove it everywhere.
  keys = keys.remove('2026-05');
  await rollOut(serverFile(), serverKeys, keys);
  await rollOut(clientFile(), clientKeys, keys);
  await pause();
  running = false;
  await traffic;

  assert.ok(statuses.length >= 20, `only ${statuses.length} payments were sent`);
  assert.deepEqual(statuses.filter((s) => s !== 201), [], 'a payment failed during the rotation');
  assert.equal(sentKids[0], '2026-05');
  assert.equal(sentKids.at(-1), '2026-11');
  assert.ok(sentKids.includes('2026-05') && sentKids.includes('2026-11'));
  assert.deepEqual(api.stats().refusedByCode, {});
});

test('skipping step 1 (promoting a key the readers do not hold yet) breaks them with ERR_KEY_UNKNOWN', async () => {
  const keys = KeySet.fromJwks(fs.readFileSync(clientFile(), 'utf8')).addKey({ kid: '2027-05' }).promote('2027-05');
  await rollOut(clientFile(), clientKeys, keys); // the writer only
  const sfetch = createFetch({ keys: clientKeys, mode: 'fields', policy: PAYMENT_POLICY });
  const res = await sfetch(`${api.url}/payments`, { method: 'POST', body: JSON.stringify(payment()) });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { code: string }).code, 'ERR_KEY_UNKNOWN');
});
