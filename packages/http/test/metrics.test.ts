// Metrics through the OpenTelemetry API, read with the SDK: a real Fastify
// server and the fetch client, each with its own meter provider, exchange a
// known mix of good, plaintext (optional route: passed through) and poison
// requests, and a key promotion half-way. The counts are exact, by outcome,
// code and kid, and no attribute carries a URL, a path or a token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { testMeters } from '@wireseal-tooling/vitest-config/metrics';
import type { KeyProvider } from '@wireseal/core';
import { FieldPolicy, KeySet, encryptFields } from '@wireseal/core';
import { wiresealFastify } from '@wireseal/http/fastify';
import { createFetch } from '@wireseal/http/fetch';

const A = KeySet.generateKey({ kid: 'metrics-A', primary: true });
const B = KeySet.generateKey({ kid: 'metrics-B' });
const beforePromotion = KeySet.fromJwks({ keys: [A, B] });
const afterPromotion = KeySet.fromJwks({ keys: [{ ...A, key_ops: ['decrypt'] }, { ...B, key_ops: ['encrypt', 'decrypt'] }] });
const PATHS = ['card.number', 'card.cvv'];
const POLICY = FieldPolicy.parse(PATHS);
const REQUEST = { 'wireseal-http': 'request' };
const doc = (n: number) => ({ id: `p-${n}`, card: { number: `4111-0000-0000-${String(n).padStart(4, '0')}`, cvv: '737' }, amount: n });

describe('metrics over HTTP (Fastify + fetch client)', () => {
  let current = beforePromotion;
  const provider: KeyProvider = { ready: () => Promise.resolve(), current: () => current, close: () => undefined };
  const server = testMeters();
  const client = testMeters();
  let app: FastifyInstance;
  let base: string;
  const statuses: number[] = [];

  const post = async (body: string): Promise<number> => {
    const res = await fetch(`${base}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
    return res.status;
  };

  beforeAll(async () => {
    app = Fastify();
    await app.register(wiresealFastify, { keys: provider, meterProvider: server.meterProvider });
    const route = { mode: 'fields', policy: PATHS, encryption: 'optional', maxBodyBytes: 4096 } as const;
    app.post('/pay', { config: { wireseal: route } }, async (req) => ({ accepted: true, card: (req.body as { card: unknown }).card }));
    app.post('/report', { config: { wireseal: { mode: 'whole' } } }, async (req) => ({ got: (req.body as { id: string }).id }));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    const sfetch = createFetch({ keys: provider, meterProvider: client.meterProvider, routes: { 'POST /pay': route, 'POST /report': { mode: 'whole' } } });
    const send = async (path: string, body: unknown) => {
      const res = await sfetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await res.json();
      statuses.push(res.status);
    };

    // Three good requests sealed under A (two values each), answered sealed.
    for (let i = 0; i < 3; i++) await send('/pay', doc(i));
    // Two plaintext requests on the optional route: passed through, answered in plaintext.
    for (let i = 3; i < 5; i++) statuses.push(await post(JSON.stringify(doc(i))));
    // Poison: an unknown kid, a token moved to another field, a tampered token, bad JSON, too large.
    const rogue = encryptFields(KeySet.generate({ kid: 'rogue' }), doc(5), POLICY, { context: REQUEST });
    statuses.push(await post(JSON.stringify(rogue)));
    const moved = encryptFields(current, doc(6), POLICY, { context: REQUEST }) as ReturnType<typeof doc>;
    statuses.push(await post(JSON.stringify({ ...moved, card: { number: moved.card.cvv, cvv: moved.card.number } })));
    const tampered = encryptFields(current, doc(7), POLICY, { context: REQUEST }) as ReturnType<typeof doc>;
    const parts = tampered.card.number.split('.');
    parts[3] = (parts[3]![0] === 'A' ? 'B' : 'A') + parts[3]!.slice(1);
    statuses.push(await post(JSON.stringify({ ...tampered, card: { ...tampered.card, number: parts.join('.') } })));
    statuses.push(await post('{"card": '));
    statuses.push(await post(JSON.stringify({ ...doc(8), pad: 'x'.repeat(5000) })));
    // Promote B (both sides refresh), then two more good requests and one whole payload.
    current = afterPromotion;
    for (let i = 9; i < 11; i++) await send('/pay', doc(i));
    await send('/report', { id: 'r-1' });
  });

  afterAll(async () => {
    await app?.close();
    await server.shutdown();
    await client.shutdown();
  });

  it('answers as expected (sanity)', () => {
    expect(statuses).toEqual([200, 200, 200, 200, 200, 400, 400, 400, 400, 413, 200, 200, 200]);
  });

  it('counts the documents the server opened, passed through and rejected, by code', async () => {
    const open = { package: '@wireseal/http', operation: 'open', direction: 'request' };
    expect(await server.total('wireseal.records', { ...open, mode: 'fields', outcome: 'opened' })).toBe(5);
    expect(await server.total('wireseal.records', { ...open, mode: 'fields', outcome: 'passed_through' })).toBe(2);
    expect(await server.total('wireseal.records', { ...open, mode: 'whole', outcome: 'opened', kid: 'metrics-B' })).toBe(1);
    expect(await server.total('wireseal.records', { ...open, outcome: 'rejected' })).toBe(5);
    for (const code of ['ERR_KEY_UNKNOWN', 'ERR_FIELD_MISMATCH', 'ERR_DECRYPT', 'ERR_TOKEN_MALFORMED', 'ERR_LIMIT_EXCEEDED']) {
      expect(await server.total('wireseal.records', { ...open, mode: 'fields', outcome: 'rejected', code }), code).toBe(1);
    }
    expect(await server.total('wireseal.values', { ...open, outcome: 'opened', audience: 'default' })).toBe(10);
    expect(await server.total('wireseal.values', { ...open, outcome: 'passed_through', audience: 'default' })).toBe(4);
    expect(await server.total('wireseal.open.duration', { ...open, mode: 'fields', outcome: 'opened' })).toBe(5);
    // Rejected inside the codec (3) are timed; bad JSON and too large were refused by Fastify before it.
    expect(await server.total('wireseal.open.duration', { ...open, outcome: 'rejected' })).toBe(3);
  });

  it('splits the counts by kid at the promotion, on both sides', async () => {
    const open = { operation: 'open', direction: 'request', mode: 'fields' };
    expect(await server.total('wireseal.records', { ...open, outcome: 'opened', kid: 'metrics-A' })).toBe(3);
    expect(await server.total('wireseal.records', { ...open, outcome: 'opened', kid: 'metrics-B' })).toBe(2);
    expect(await server.total('wireseal.values', { ...open, outcome: 'opened', kid: 'metrics-A' })).toBe(6);
    expect(await server.total('wireseal.values', { ...open, outcome: 'opened', kid: 'metrics-B' })).toBe(4);
    // The server sealed its five answers; the client sealed five requests and opened five answers.
    const sealResponse = { operation: 'seal', direction: 'response', mode: 'fields', outcome: 'sealed' };
    expect(await server.total('wireseal.records', { ...sealResponse, kid: 'metrics-A' })).toBe(3);
    expect(await server.total('wireseal.records', { ...sealResponse, kid: 'metrics-B' })).toBe(2);
    expect(await server.total('wireseal.values', { ...sealResponse, audience: 'default', kid: 'metrics-B' })).toBe(4);
    const sealRequest = { package: '@wireseal/http', operation: 'seal', direction: 'request', mode: 'fields', outcome: 'sealed' };
    expect(await client.total('wireseal.values', { ...sealRequest, kid: 'metrics-A' })).toBe(6);
    expect(await client.total('wireseal.values', { ...sealRequest, kid: 'metrics-B' })).toBe(4);
    expect(await client.total('wireseal.records', { ...sealRequest, kid: 'metrics-B' })).toBe(2);
    expect(await client.total('wireseal.records', { operation: 'open', direction: 'response', mode: 'fields', outcome: 'opened' })).toBe(5);
    expect(await client.total('wireseal.records', { operation: 'seal', direction: 'request', mode: 'whole', outcome: 'sealed', kid: 'metrics-B' })).toBe(1);
    expect(await client.total('wireseal.records', { operation: 'open', direction: 'response', mode: 'whole', outcome: 'opened', kid: 'metrics-B' })).toBe(1);
    expect(await client.total('wireseal.records', { outcome: 'rejected' })).toBe(0);
    expect(await client.total('wireseal.seal.duration', { direction: 'request' })).toBe(6);
  });

  it('keeps attributes bounded: no URL, path, token or record id', async () => {
    const allowed = new Set(['package', 'mode', 'operation', 'direction', 'outcome', 'audience', 'kid', 'code']);
    for (const meters of [server, client]) {
      for (const name of ['wireseal.values', 'wireseal.records', 'wireseal.seal.duration', 'wireseal.open.duration']) {
        for (const p of await meters.points(name)) {
          for (const [k, v] of Object.entries(p.attributes)) {
            expect(allowed.has(k), k).toBe(true);
            if (k !== 'package') expect(String(v)).not.toMatch(/\/|eyJ|p-\d|card\./);
          }
        }
      }
    }
  });
});
