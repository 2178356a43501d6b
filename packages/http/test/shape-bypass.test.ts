// A policy path whose intermediate member has the wrong shape is not a way
// around strict mode: {"accounts":{"0":{"iban":"DE.."}}} against
// accounts[*].iban holds a plaintext IBAN where the policy wants an array of
// sealed values. Express and Fastify refuse it (422 ERR_PLAINTEXT_FIELD, the
// handler never runs); the fetch client refuses such an answer. (The rule
// itself is the core's decryptFields in strict mode.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeySet } from '@wireseal/core';
import { createFetch } from '@wireseal/http/fetch';
import { raw, serveExpress, serveFastify } from './support/servers.ts';
import type { Running, TestRoutes } from './support/servers.ts';

const keys = KeySet.generate({ kid: 'shape-1' });
const POLICY = ['accounts[*].iban'];
const IBAN = 'DE89370400440532013000';
const bypass = JSON.stringify({ accounts: { 0: { iban: IBAN } } });
const ROUTES: TestRoutes = {
  strict: { method: 'POST', path: '/accounts', mode: 'fields', policy: POLICY },
};

describe.each([
  ['express', serveExpress],
  ['fastify', serveFastify],
] as const)('%s: the shape bypass on a strict fields route', (_name, serve) => {
  let server: Running;
  beforeAll(async () => {
    server = await serve({ routes: ROUTES, adapter: { keys }, answer: (_path, body) => body });
  });
  afterAll(() => server.close());

  it('an object where accounts[*] wants an array → 422 ERR_PLAINTEXT_FIELD, handler never runs', async () => {
    const res = await raw(server.url, 'POST', '/accounts', { 'content-type': 'application/json' }, bypass);
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 422, code: 'ERR_PLAINTEXT_FIELD' });
    expect(res.text).not.toContain(IBAN);
    expect(server.calls.get('/accounts') ?? 0).toBe(0);
    expect(server.failures.at(-1)).toEqual({ code: 'ERR_PLAINTEXT_FIELD', status: 422, phase: 'request' });
  });

  it('the same body as application/merge-patch+json', async () => {
    const res = await raw(server.url, 'POST', '/accounts', { 'content-type': 'application/merge-patch+json' }, bypass);
    expect(res.json()).toMatchObject({ status: 422, code: 'ERR_PLAINTEXT_FIELD' });
    expect(server.calls.get('/accounts') ?? 0).toBe(0);
  });
});

describe('fetch client: the shape bypass in an answer', () => {
  let server: http.Server;
  let url = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(bypass);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is refused with ERR_PLAINTEXT_FIELD on a required route', async () => {
    const sfetch = createFetch({ keys, mode: 'fields', policy: POLICY });
    await expect(sfetch(`${url}/accounts`, { method: 'POST', body: JSON.stringify({ accounts: [] }) })).rejects.toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
  });
});
