// The connect-style middleware on a plain node:http server (no Express):
// a route table, handlers that use writeHead/write/end, and fail-closed
// response sealing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { compactDecrypt } from 'jose';
import { KeySet, seal } from '@wireseal/core';
import { wiresealMiddleware, wiresealInfo } from '@wireseal/http/express';
import { createFetch } from '@wireseal/http/fetch';
import { raw } from './support/servers.ts';

const keys = KeySet.generate({ kid: 'node-1' });
const rawKey = new Uint8Array(Buffer.from(keys.toJwks().keys[0]!.k, 'base64url'));
const POLICY = ['account.iban'];
let url = '';
let server: http.Server;
const seen: unknown[] = [];

beforeAll(async () => {
  const ws = wiresealMiddleware({ keys });
  const mw = ws.routes({
    'POST /accounts': { mode: 'fields', policy: POLICY },
    '/report': { mode: 'whole' },
    'POST /broken': { mode: 'fields', policy: POLICY },
  });
  server = http.createServer((req, res) => {
    mw(req, res, (err) => {
      if (err) {
        res.statusCode = 500;
        res.end('unexpected');
        return;
      }
      const body = (req as { body?: unknown }).body;
      seen.push({ path: req.url, body, info: wiresealInfo(req) });
      if (req.url === '/report') {
        // Headers via writeHead, body in several writes.
        res.writeHead(201, 'Made', { 'content-type': 'text/csv', 'x-rows': '2' });
        res.write('iban,amount\n');
        res.write(Buffer.from('DE89370400440532013000,12\n'));
        res.end();
        return;
      }
      if (req.url === '/broken') {
        // Labelled JSON, but it is not: the codec must refuse to send it unsealed.
        res.setHeader('content-type', 'application/json');
        res.end('{"account": {"iban": "DE89370400440532013000"');
        return;
      }
      if (req.url === '/plain') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ account: { iban: 'visible' } }));
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('plain node:http', () => {
  it('opens fields and seals the response', async () => {
    const sfetch = createFetch({ keys, routes: { 'POST /accounts': { mode: 'fields', policy: POLICY } } });
    const res = await sfetch(`${url}/accounts`, { method: 'POST', body: JSON.stringify({ account: { iban: 'DE89370400440532013000', owner: 'Ann' } }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ account: { iban: 'DE89370400440532013000', owner: 'Ann' } });
    expect(seen.at(-1)).toMatchObject({ info: { mode: 'fields', sealed: true, decrypted: ['account.iban'] } });
  });

  it('seals a response written with writeHead and several writes, keeping status and headers', async () => {
    const token = seal(keys, 'q=1', { cty: 'text/plain', iat: Math.floor(Date.now() / 1000), context: { 'wireseal-http': 'request' } });
    const res = await raw(url, 'POST', '/report', { 'content-type': 'application/jose' }, token);
    expect(res.status).toBe(201);
    expect(res.headers['x-rows']).toBe('2');
    expect(res.headers['content-type']).toBe('application/jose');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
    const opened = await compactDecrypt(res.text, rawKey);
    expect(opened.protectedHeader.cty).toBe('text/csv');
    expect(new TextDecoder().decode(opened.plaintext)).toBe('iban,amount\nDE89370400440532013000,12\n');
    expect(seen.at(-1)).toMatchObject({ body: 'q=1', info: { contentType: 'text/plain' } });
  });

  it('answers 500 instead of sending a response it cannot seal', async () => {
    const sfetch = createFetch({ keys, routes: { 'POST /broken': { mode: 'fields', policy: POLICY } } });
    const res = await sfetch(`${url}/broken`, { method: 'POST', body: JSON.stringify({ account: { iban: 'x' } }) });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('DE89');
    expect(JSON.parse(text)).toMatchObject({ status: 500, code: 'ERR_TOKEN_MALFORMED' });
  });

  it('leaves routes outside the table alone', async () => {
    const res = await raw(url, 'POST', '/plain', { 'content-type': 'application/json' }, '{}');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ account: { iban: 'visible' } });
  });
});
