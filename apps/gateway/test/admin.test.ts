// The admin API: bearer token (401 and nothing changes without the right one), a service's
// settings with exactly the file's members and its ETag, changes validated by the file's own
// validator (unknown key id, key material, bad policy: 422 naming the field, file unchanged byte
// for byte), If-Match (428 without, 412 when stale, also under two concurrent PUTs), persisted
// and loaded before the answer (checked at a real upstream), and one audit line per accepted change.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { FieldPolicy, KeySet, encryptFields } from '@wireseal/core';
import { DIRECTION_CONTEXT_KEY } from '@wireseal/http';
import { keyView, serviceEtag, startGateway } from '@wireseal-apps/gateway';
import type { AuditEntry, Gateway, GatewayEvent } from '@wireseal-apps/gateway';
import { recordingUpstream, tearDown } from './helpers.ts';
import type { Hit } from './helpers.ts';

const TOKEN = 'test-admin-token-0123456789';
const store = KeySet.generate({ kid: 'svc-a' }).addKey({ kid: 'svc-b' }).addKey({ kid: 'card-1' }).addKey({ kid: 'bank-1' });
const secrets = store.toJwks().keys.map((k) => k.k);
const REQUEST = { [DIRECTION_CONTEXT_KEY]: 'request' };
const order = { id: 'o-1', card: { number: '4000001234567899' }, note: 'plain' };

const hits: Hit[] = [];
let upstream: http.Server;
let upstreamUrl: string;
let dir: string;
let configFile: string;
let auditFile: string;
let gateway: Gateway;
let admin: string;
const events: GatewayEvent[] = [];

const ordersService = (): Record<string, unknown> => ({
  name: 'orders', routePrefix: '/orders', upstream: upstreamUrl, enabled: true, keyId: 'svc-a', mode: 'fields', policy: ['card.number'], description: 'orders from the shop',
});
const cardsService = (): Record<string, unknown> => ({
  name: 'cards', routePrefix: '/cards', upstream: upstreamUrl, enabled: true, mode: 'fields',
  policy: { audiences: { card: ['card.number'], bank: ['account.iban'] } }, keyring: { card: 'card-1', bank: 'bank-1' },
});

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };
async function api(method: string, p: string, init: { body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; type: string; etag: string | null; body: Record<string, unknown>; text: string }> {
  const res = await fetch(`${admin}/admin/api/${p}`, {
    method,
    headers: { ...auth, ...(init.body !== undefined ? json : {}), ...init.headers },
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', etag: res.headers.get('etag'), body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
}
const get = async (name: string): Promise<{ service: Record<string, unknown>; etag: string }> => {
  const r = await api('GET', `services/${name}`);
  assert.equal(r.status, 200);
  return { service: r.body, etag: r.etag! };
};
const auditLines = (): AuditEntry[] => (fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEntry) : []);

/** Asserts a refusal: the status, problem+json with the code (and the field), and the config file unchanged byte for byte. */
async function refused(res: Promise<Awaited<ReturnType<typeof api>>>, status: number, code: string, field?: string | null): Promise<Record<string, unknown>> {
  const bytes = fs.readFileSync(configFile);
  const version = gateway.version();
  const lines = auditLines().length;
  const r = await res;
  assert.equal(r.status, status, r.text);
  assert.equal(r.type, 'application/problem+json');
  assert.equal(r.body.code, code);
  assert.equal(r.body.status, status);
  if (field !== undefined) assert.equal(r.body.field, field);
  assert.ok(fs.readFileSync(configFile).equals(bytes), 'the config file changed');
  assert.equal(gateway.version(), version, 'the gateway loaded a new version');
  assert.equal(auditLines().length, lines, 'the audit log grew');
  for (const k of secrets) assert.ok(!r.text.includes(k), 'key material in the answer');
  return r.body;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-gateway-admin-'));
  configFile = path.join(dir, 'gateway.json');
  auditFile = path.join(dir, 'audit.jsonl');
  ({ server: upstream, url: upstreamUrl } = await recordingUpstream(hits));
  fs.writeFileSync(configFile, JSON.stringify({ services: [ordersService(), cardsService()] }, null, 2));
  gateway = await startGateway({ configFile, keys: store, watchIntervalMs: 100, admin: { token: TOKEN, auditFile }, onEvent: (e) => events.push(e) });
  admin = gateway.adminUrl!;
});

after(async () => {
  await tearDown(gateway, upstream, dir);
});

describe('admin listener', () => {
  test('listens on loopback, apart from the proxy; no admin option, no listener', async () => {
    assert.match(admin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(admin, gateway.url);
    const proxied = await fetch(`${gateway.url}/admin/api/services`, { headers: auth });
    assert.equal(proxied.status, 404); // the proxy listener has no admin API
    await proxied.body?.cancel();
    const plain = await startGateway({ configFile, keys: store });
    try {
      assert.equal(plain.adminUrl, undefined);
    } finally {
      await plain.stop();
    }
    await assert.rejects(startGateway({ configFile, keys: store, admin: { token: 'short' } }), /at least 16 characters/);
  });

  test('a missing, wrong or malformed token gets 401 on every endpoint, and a PUT changes nothing', async () => {
    const { service, etag } = await get('orders');
    for (const authorization of [undefined, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, TOKEN, `Basic ${TOKEN}`, `bearer  ${TOKEN}`]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      for (const p of ['services', 'services/orders', 'keys', 'stats', 'audit']) {
        const res = await fetch(`${admin}/admin/api/${p}`, { headers });
        assert.equal(res.status, 401, `${p} with ${authorization}`);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="wireseal-gateway-admin"');
        assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED');
      }
      await refused(fetch(`${admin}/admin/api/services/orders`, { method: 'PUT', headers: { ...headers, ...json, 'if-match': etag }, body: JSON.stringify({ ...service, enabled: false }) })
        .then(async (r) => ({ status: r.status, type: r.headers.get('content-type') ?? '', etag: null, text: '', body: (await r.json()) as Record<string, unknown> })), 401, 'UNAUTHORIZED');
    }
  });

  test('GET a service: exactly the file\'s members, and its ETag', async () => {
    const r = await api('GET', 'services/orders');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, (JSON.parse(fs.readFileSync(configFile, 'utf8')) as { services: unknown[] }).services[0]);
    assert.equal(r.etag, serviceEtag(r.body));
    const list = await api('GET', 'services');
    assert.deepEqual((list.body.services as Array<{ service: { name: string } }>).map((s) => s.service.name), ['orders', 'cards']);
    assert.deepEqual(list.body.wire, { alg: 'A256KW', enc: 'A256GCM' });
    await refused(api('GET', 'services/nope'), 404, 'SERVICE_NOT_FOUND');
    await refused(api('DELETE', 'services/orders'), 405, 'METHOD_NOT_ALLOWED');
  });

  test('GET keys: kids, roles and who uses them; never key material', async () => {
    const r = await api('GET', 'keys');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      keys: [
        { kid: 'svc-a', role: 'primary', usedBy: [{ service: 'orders', as: 'key' }] },
        { kid: 'svc-b', role: 'decrypt-only', usedBy: [] },
        { kid: 'card-1', role: 'decrypt-only', usedBy: [{ service: 'cards', audience: 'card', as: 'key' }] },
        { kid: 'bank-1', role: 'decrypt-only', usedBy: [{ service: 'cards', audience: 'bank', as: 'key' }] },
      ],
    });
    for (const k of secrets) assert.ok(!r.text.includes(k));
  });
});

describe('changing a service', () => {
  test('a toggle is persisted, in force for the next request (no restart), and audited', async () => {
    const { service, etag } = await get('orders');
    const v = gateway.version();
    const r = await api('PUT', 'services/orders', { body: { ...service, enabled: false }, headers: { 'if-match': etag } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { service: { ...service, enabled: false }, version: v + 1, changed: ['enabled'] });
    assert.equal(r.etag, serviceEtag({ ...service, enabled: false }));
    assert.notEqual(r.etag, etag);
    assert.equal(gateway.version(), v + 1);
    const onDisk = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { services: Array<Record<string, unknown>> };
    assert.deepEqual(onDisk.services, [{ ...service, enabled: false }, cardsService()]);
    // Plaintext passes through untouched now, byte for byte, at the real upstream.
    const raw = '{"card":{"number":"4000001234567899"},  "note":"plain"}';
    const before = hits.length;
    const res = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: json, body: raw });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(hits.length, before + 1);
    assert.equal(hits.at(-1)!.body.toString('utf8'), raw);
    const last = auditLines().at(-1)!;
    assert.equal(last.service, 'orders');
    assert.equal(last.version, v + 1);
    assert.deepEqual(last.changes, [{ member: 'enabled', from: true, to: false }]);
    assert.ok(!Number.isNaN(Date.parse(last.time)));
    assert.deepEqual(((await api('GET', 'audit')).body.entries as AuditEntry[]).at(-1), last);
    assert.ok(events.some((e) => e.type === 'admin-change' && e.service === 'orders'));

    // And back on: plaintext is refused (4xx) and never forwarded.
    const again = await get('orders');
    assert.equal((await api('PUT', 'services/orders', { body: { ...again.service, enabled: true }, headers: { 'if-match': again.etag } })).status, 200);
    const before2 = hits.length;
    const refusedPlain = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: json, body: raw });
    assert.equal(refusedPlain.status, 422);
    assert.equal(((await refusedPlain.json()) as { code: string }).code, 'ERR_PLAINTEXT_FIELD');
    assert.equal(hits.length, before2);
  });

  test('a key change: the new key opens, the old one only while accepted', async () => {
    const { service, etag } = await get('orders');
    const policy = FieldPolicy.parse(['card.number']);
    const sealedWith = (kid: string): string => JSON.stringify(encryptFields(keyView(store, kid), order, policy, { context: REQUEST }));
    const post = async (body: string): Promise<number> => {
      const res = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: json, body });
      await res.body?.cancel();
      return res.status;
    };
    const r1 = await api('PUT', 'services/orders', { body: { ...service, keyId: 'svc-b', acceptKeyIds: ['svc-a'] }, headers: { 'if-match': etag } });
    assert.equal(r1.status, 200, r1.text);
    assert.deepEqual(r1.body.changed, ['keyId', 'acceptKeyIds']);
    assert.equal(await post(sealedWith('svc-b')), 200);
    assert.equal(await post(sealedWith('svc-a')), 200);
    const r2 = await api('PUT', 'services/orders', { body: { ...service, keyId: 'svc-b', acceptKeyIds: [] }, headers: { 'if-match': r1.etag! } });
    assert.equal(r2.status, 200, r2.text);
    assert.equal(await post(sealedWith('svc-b')), 200);
    const before = hits.length;
    assert.equal(await post(sealedWith('svc-a')), 400);
    assert.equal(hits.length, before);
    assert.deepEqual(auditLines().at(-1)!.changes, [{ member: 'acceptKeyIds', from: ['svc-a'], to: [] }]);
  });

  test('a bad change is a 422 problem naming the field, and nothing changes', async () => {
    const { service, etag } = await get('orders');
    const put = (body: unknown): ReturnType<typeof api> => api('PUT', 'services/orders', { body, headers: { 'if-match': etag } });
    await refused(put({ ...service, keyId: 'nope' }), 422, 'ERR_POLICY_INVALID', 'keyId');
    await refused(put({ ...service, acceptKeyIds: ['nope'] }), 422, 'ERR_POLICY_INVALID', 'acceptKeyIds');
    const bad = await refused(put({ ...service, policy: ['card..number'] }), 422, 'ERR_POLICY_INVALID', 'policy');
    assert.match(String(bad.detail), /policy/);
    await refused(put({ ...service, policy: ['card.number', 'card'] }), 422, 'ERR_POLICY_INVALID', 'policy');
    await refused(put({ ...service, mode: 'sideways' }), 422, 'ERR_POLICY_INVALID', 'mode');
    await refused(put({ ...service, encryption: 'maybe' }), 422, 'ERR_POLICY_INVALID', 'encryption');
    await refused(put({ ...service, enabled: 'yes' }), 422, 'ERR_POLICY_INVALID', 'enabled');
    await refused(put({ ...service, routePrefix: '/cards' }), 422, 'ERR_POLICY_INVALID', 'routePrefix');
    await refused(put({ ...service, name: 'renamed' }), 422, 'ERR_POLICY_INVALID', 'name');
    await refused(put({ ...service, colour: 'blue' }), 422, 'ERR_POLICY_INVALID', 'colour');
    await refused(put([service]), 422, 'ERR_POLICY_INVALID');
    await refused(api('PUT', 'services/orders', { body: '{"name":', headers: { 'if-match': etag } }), 400, 'INVALID_JSON');
    await refused(api('PUT', 'services/orders', { body: JSON.stringify(service), headers: { 'if-match': etag, 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await refused(api('PUT', 'services/orders', { body: { ...service, description: 'x'.repeat(70_000) }, headers: { 'if-match': etag } }), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('key material in the body is refused, by member name or by the key bytes themselves, and never echoed', async () => {
    const { service, etag } = await get('orders');
    const put = (body: unknown): ReturnType<typeof api> => api('PUT', 'services/orders', { body, headers: { 'if-match': etag } });
    const k = secrets[1]!;
    await refused(put({ ...service, k }), 422, 'KEY_MATERIAL_REFUSED', 'k');
    await refused(put({ ...service, jwk: { kty: 'oct', kid: 'svc-b', k } }), 422, 'KEY_MATERIAL_REFUSED', 'jwk.k');
    await refused(put({ ...service, secret: 'x' }), 422, 'KEY_MATERIAL_REFUSED', 'secret');
    await refused(put({ ...service, description: `the key is ${k}` }), 422, 'KEY_MATERIAL_REFUSED', 'description');
    await refused(put({ ...service, keyId: k }), 422, 'KEY_MATERIAL_REFUSED', 'keyId');
    const cards = await get('cards');
    await refused(api('PUT', 'services/cards', { body: { ...cards.service, keyring: { card: 'card-1', bank: { keyId: 'bank-1', k } } }, headers: { 'if-match': cards.etag } }), 422, 'KEY_MATERIAL_REFUSED');
    await refused(api('PUT', 'services/cards', { body: { ...cards.service, keyring: { card: 'card-1', bank: { keyId: 'bank-1', key: 'x' } } }, headers: { 'if-match': cards.etag } }), 422, 'KEY_MATERIAL_REFUSED', 'keyring.bank.key');
    await refused(api('PUT', 'services/cards', { body: { ...cards.service, keyring: { card: 'card-1', bank: 'nope' } }, headers: { 'if-match': cards.etag } }), 422, 'ERR_POLICY_INVALID', 'keyring.bank');
  });

  test('If-Match: required (428), a stale ETag gets 412 with the current one, and of two concurrent PUTs one wins', async () => {
    const { service, etag } = await get('orders');
    await refused(api('PUT', 'services/orders', { body: { ...service, enabled: false } }), 428, 'PRECONDITION_REQUIRED');
    const lines = auditLines().length;
    const [a, b] = await Promise.all([
      api('PUT', 'services/orders', { body: { ...service, description: 'first' }, headers: { 'if-match': etag } }),
      api('PUT', 'services/orders', { body: { ...service, description: 'second' }, headers: { 'if-match': etag } }),
    ]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [200, 412]);
    const [won, lost] = a.status === 200 ? [a, b] : [b, a];
    assert.equal(lost.body.code, 'PRECONDITION_FAILED');
    assert.equal(lost.type, 'application/problem+json');
    assert.equal(lost.etag, won.etag, 'the 412 carries the current ETag');
    const onDisk = (JSON.parse(fs.readFileSync(configFile, 'utf8')) as { services: Array<{ description: string }> }).services[0]!;
    assert.equal(onDisk.description, (won.body.service as { description: string }).description);
    assert.equal(auditLines().length, lines + 1);
    // The loser retries with the ETag it was given: accepted.
    const retry = await api('PUT', 'services/orders', { body: { ...(won.body.service as object), description: 'third' }, headers: { 'if-match': lost.etag! } });
    assert.equal(retry.status, 200);
    // Another service's change does not make this one's ETag stale.
    const cards = await get('cards');
    const other = await api('PUT', 'services/cards', { body: { ...cards.service, enabled: false }, headers: { 'if-match': cards.etag } });
    assert.equal(other.status, 200);
    const orders = await get('orders');
    assert.equal(orders.etag, retry.etag);
  });

  test('a hand edit is picked up before a change; a broken file blocks changes (409) until fixed', async () => {
    const { service, etag } = await get('orders');
    const text = fs.readFileSync(configFile, 'utf8');
    fs.writeFileSync(configFile, '{ "services": [ broken');
    await refused(api('PUT', 'services/orders', { body: { ...service, enabled: false }, headers: { 'if-match': etag } }), 409, 'CONFIG_NOT_LOADED');
    fs.writeFileSync(configFile, text);
    const r = await api('PUT', 'services/orders', { body: { ...service, enabled: false }, headers: { 'if-match': etag } });
    assert.equal(r.status, 200, r.text);
  });

  test('the audit log: one line per accepted change, ids only, nothing for a change that changes nothing', async () => {
    const { service, etag } = await get('orders');
    const lines = auditLines().length;
    const same = await api('PUT', 'services/orders', { body: service, headers: { 'if-match': etag } });
    assert.equal(same.status, 200);
    assert.deepEqual(same.body.changed, []);
    assert.equal(auditLines().length, lines);
    const accepted = events.filter((e) => e.type === 'admin-change').length;
    assert.equal(auditLines().length, accepted);
    const text = fs.readFileSync(auditFile, 'utf8');
    for (const k of secrets) assert.ok(!text.includes(k));
    assert.ok(!text.includes('4000001234567899'));
    assert.equal((fs.statSync(auditFile).mode & 0o777).toString(8), '600');
    for (const line of auditLines()) assert.deepEqual(Object.keys(line), ['time', 'service', 'version', 'changes']);
  });
});

describe('console page', () => {
  test('served at /admin/ with a strict Content-Security-Policy, no token needed for the static page, nothing else served', async () => {
    const res = await fetch(`${admin}/admin/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.doesNotMatch(html, /<script>|<style>| on\w+=/i, 'inline script, style or handler');
    for (const p of ['app.js', 'api.js', 'dom.js', 'settings.js', 'style.css']) {
      const r = await fetch(`${admin}/admin/${p}`);
      assert.equal(r.status, 200, p);
      const body = await r.text();
      assert.doesNotMatch(body, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/, p);
    }
    for (const p of ['../src/admin.ts', '%2e%2e/package.json', 'sub/app.js', 'app.js%00', 'missing.js']) {
      const r = await fetch(`${admin}/admin/${p}`);
      assert.equal(r.status, 404, p);
      await r.body?.cancel();
    }
  });
});
