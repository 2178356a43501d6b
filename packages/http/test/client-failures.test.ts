// The fetch client refuses responses that do not open: tampered, foreign key,
// stale, or plaintext where the route requires a sealed body. The server here
// is a bare node:http server that answers whatever the test scripted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeySet, encryptFields, FieldPolicy, seal } from '@wireseal/core';
import { createFetch } from '@wireseal/http/fetch';

const keys = KeySet.generate({ kid: 'c-1' });
const now = (): number => Math.floor(Date.now() / 1000);
/** A server's tokens bind the response direction (bindDirection, the default). */
const RES = { 'wireseal-http': 'response' };
let next: { status: number; type: string; body: string } = { status: 200, type: 'text/plain', body: '' };
const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
let server: http.Server;
let url = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(next.status, { 'content-type': next.type });
      res.end(next.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const whole = createFetch({ keys, mode: 'whole' });
const fields = createFetch({ keys, mode: 'fields', policy: ['secret'] });

describe('fetch client: responses that must not open', () => {
  it('opens a good sealed response and restores its content type', async () => {
    next = { status: 200, type: 'application/jose', body: seal(keys, '{"ok":true}', { cty: 'application/json', iat: now(), context: RES }) };
    const res = await whole(`${url}/x`, { method: 'POST', body: new Uint8Array([0, 1, 2]) });
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ ok: true });
    expect(res.url).toBe(`${url}/x`);
    const sent = received.at(-1)!;
    expect(sent.headers['content-type']).toBe('application/jose');
    expect(sent.headers.wireseal).toBe('1');
    expect(JSON.parse(Buffer.from(sent.body.split('.')[0]!, 'base64url').toString()).cty).toBe('application/octet-stream');
  });

  it.each([
    ['tampered', () => seal(keys, '{}', { cty: 'application/json', iat: now(), context: RES }).replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`), 'ERR_DECRYPT'],
    ['sealed under a foreign key', () => seal(KeySet.generate({ kid: 'other' }), '{}', { iat: now(), context: RES }), 'ERR_KEY_UNKNOWN'],
    ['stale', () => seal(keys, '{}', { iat: now() - 3600, context: RES }), 'ERR_STALE'],
    ['without iat', () => seal(keys, '{}', { context: RES }), 'ERR_STALE'],
    ['garbage', () => 'not-a-token', 'ERR_TOKEN_MALFORMED'],
  ])('rejects a %s whole response', async (_name, make, code) => {
    next = { status: 200, type: 'application/jose', body: make() };
    await expect(whole(`${url}/x`, { method: 'POST', body: 'hi' })).rejects.toMatchObject({ code });
  });

  it('rejects a plaintext 200 on a required whole route but passes problems through', async () => {
    next = { status: 200, type: 'application/json', body: '{"leak":true}' };
    await expect(whole(`${url}/x`, { method: 'POST', body: 'hi' })).rejects.toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
    next = { status: 400, type: 'application/problem+json', body: '{"code":"ERR_DECRYPT","status":400}' };
    const res = await whole(`${url}/x`, { method: 'POST', body: 'hi' });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('ERR_DECRYPT');
  });

  it('fields: strict on required routes, migrate on optional ones', async () => {
    next = { status: 200, type: 'application/json', body: JSON.stringify({ secret: 'plain' }) };
    await expect(fields(`${url}/x`, { method: 'POST', body: '{"secret":"s"}' })).rejects.toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
    const optional = createFetch({ keys, mode: 'fields', policy: ['secret'], encryption: 'optional' });
    expect(await (await optional(`${url}/x`, { method: 'POST', body: '{"secret":"s"}' })).json()).toEqual({ secret: 'plain' });
    next = { status: 200, type: 'application/json', body: JSON.stringify(encryptFields(keys, { secret: [1, 'two'] }, FieldPolicy.parse(['secret']), { context: RES })) };
    expect(await (await fields(`${url}/x`, { method: 'POST', body: '{"secret":"s"}' })).json()).toEqual({ secret: [1, 'two'] });
  });

  it('fields: refuses a request body that is not JSON', async () => {
    await expect(fields(`${url}/x`, { method: 'POST', body: 'not json' })).rejects.toMatchObject({ code: 'ERR_TOKEN_MALFORMED' });
  });

  it('accepts a Request object and other body types', async () => {
    next = { status: 200, type: 'application/jose', body: seal(keys, 'ok', { cty: 'text/plain', iat: now(), context: RES }) };
    const res = await whole(new Request(`${url}/y`, { method: 'PUT', body: new URLSearchParams({ a: '1' }) }));
    expect(await res.text()).toBe('ok');
    const sent = received.at(-1)!;
    const header = JSON.parse(Buffer.from(sent.body.split('.')[0]!, 'base64url').toString());
    expect(header.cty).toBe('application/x-www-form-urlencoded;charset=UTF-8');
  });
});
