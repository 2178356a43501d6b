// requireMatch on a fields route: a body that lacks a required policy path is
// refused by whoever seals it (the client, before anything is sent; the
// server, for its answer) and by whoever opens it (the server, before the
// handler runs). Paths that match nothing are reported in info.unmatched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeySet, encryptFields, FieldPolicy } from '@wireseal/core';
import { createFetch } from '@wireseal/http/fetch';
import { raw, serveExpress, serveFastify } from './support/servers.ts';
import type { Running, TestRoutes } from './support/servers.ts';

const keys = KeySet.generate({ kid: 'require-1' });
const POLICY = ['card.number', 'customer.ssn'];
const ROUTES: TestRoutes = {
  required: { method: 'POST', path: '/pay', mode: 'fields', policy: POLICY, requireMatch: ['card.number'] },
  answer: { method: 'POST', path: '/answer', mode: 'fields', policy: POLICY, responseRequireMatch: true },
  loose: { method: 'POST', path: '/loose', mode: 'fields', policy: POLICY },
};
const sealedRequest = (doc: unknown) =>
  JSON.stringify(encryptFields(keys, doc, FieldPolicy.parse(POLICY), { context: { 'wireseal-http': 'request' } }));

describe.each([
  ['express', serveExpress],
  ['fastify', serveFastify],
] as const)('%s: requireMatch', (_name, serve) => {
  let server: Running;
  beforeAll(async () => {
    server = await serve({ routes: ROUTES, adapter: { keys }, answer: (path, body, _type, info) => (path === '/loose' ? { info } : body) });
  });
  afterAll(() => server.close());

  it('a request without a required path → 422 ERR_FIELD_MISSING, handler never runs', async () => {
    const res = await raw(server.url, 'POST', '/pay', { 'content-type': 'application/json' }, sealedRequest({ customer: { ssn: '078' } }));
    expect(res.status).toBe(422);
    expect(res.json()).toMatchObject({ code: 'ERR_FIELD_MISSING' });
    expect(server.calls.get('/pay') ?? 0).toBe(0);
    const ok = await raw(server.url, 'POST', '/pay', { 'content-type': 'application/json' }, sealedRequest({ card: { number: '4111' } }));
    expect(ok.status).toBe(200);
  });

  it('an answer without a required path is never sent: a problem instead', async () => {
    const res = await raw(server.url, 'POST', '/answer', { 'content-type': 'application/json' }, sealedRequest({ card: { number: '4111' } }));
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'ERR_FIELD_MISSING' });
    expect(res.text).not.toContain('4111');
    expect(server.failures.at(-1)).toMatchObject({ code: 'ERR_FIELD_MISSING', phase: 'response' });
  });

  it('paths that matched nothing are reported to the handler in info.unmatched', async () => {
    const res = await raw(server.url, 'POST', '/loose', { 'content-type': 'application/json' }, sealedRequest({ card: { number: '4111' } }));
    expect(res.status).toBe(200);
    expect((res.json() as { info: { unmatched: string[]; decrypted: string[] } }).info).toMatchObject({ unmatched: ['customer.ssn'], decrypted: ['card.number'] });
  });
});

describe('fetch client: requireMatch', () => {
  let server: Running;
  beforeAll(async () => {
    server = await serveExpress({ routes: ROUTES, adapter: { keys }, answer: (_path, body) => body });
  });
  afterAll(() => server.close());

  it('refuses to send a body without a required path (nothing reaches the server); sends one with it', async () => {
    const sfetch = createFetch({ keys, routes: { 'POST /pay': { mode: 'fields', policy: POLICY, requireMatch: ['card.number'] } } });
    await expect(sfetch(`${server.url}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customer: { ssn: '078' } }) })).rejects.toMatchObject({ code: 'ERR_FIELD_MISSING' });
    expect(server.calls.get('/pay') ?? 0).toBe(0);
    const res = await sfetch(`${server.url}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ card: { number: '4111' } }) });
    expect(res.status).toBe(200);
    expect(server.calls.get('/pay')).toBe(1);
  });

  it('a requireMatch that names no policy path is ERR_POLICY_INVALID when the route is compiled', () => {
    expect(() => createFetch({ keys, routes: { 'POST /x': { mode: 'fields', policy: POLICY, requireMatch: ['card.numbr'] } } })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
  });
});
