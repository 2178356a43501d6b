// The extension point for whole-payload profiles (public-key JWE and HPKE
// plug in here): a second profile, keyed by its own media type and reading
// binary bodies, next to application/jose on Express and Fastify.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import Fastify from 'fastify';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeySet, seal } from '@wireseal/core';
import { sharedKeyJose } from '@wireseal/http';
import type { PayloadProfile } from '@wireseal/http';
import { wiresealMiddleware } from '@wireseal/http/express';
import { wiresealFastify } from '@wireseal/http/fastify';
import { raw } from './support/servers.ts';

const keys = KeySet.generate({ kid: 'p-1' });
const jose = sharedKeyJose();
const TYPE = 'application/x-wireseal-test';

/** Binary framing: a 1-byte sender id, then the JWE token's bytes. The sender id is the state the response needs. */
const testProfile: PayloadProfile = {
  mediaType: TYPE,
  bodyAs: 'bytes',
  async open(body, ctx) {
    expect(body).toBeInstanceOf(Uint8Array);
    const bytes = body as Uint8Array;
    const opened = await jose.open(bytes.subarray(1), ctx);
    return { ...opened, state: { sender: bytes[0] } };
  },
  async seal(plaintext, contentType, ctx) {
    const sealed = await jose.seal(plaintext, contentType, ctx);
    return { body: Buffer.concat([Buffer.from([0xfe]), Buffer.from(sealed.body as string)]), headers: { 'x-sealed-for': String((ctx.state as { sender: number }).sender) } };
  },
};

const frame = (sender: number, token: string): Buffer => Buffer.concat([Buffer.from([sender]), Buffer.from(token)]);
const now = (): number => Math.floor(Date.now() / 1000);
// A custom profile gets the route's context with the direction entry (bindDirection, the default).
const REQ = { 'wireseal-http': 'request' };
const RES = { 'wireseal-http': 'response' };

async function startBoth(): Promise<Array<{ name: string; url: string; close: () => Promise<void> }>> {
  const ex = express();
  const ws = wiresealMiddleware({ keys, profiles: [jose, testProfile] });
  ex.post('/w', ws.route({ mode: 'whole' }), (req, res) => {
    res.json({ got: req.body, type: req.headers['content-type'] });
  });
  const server = http.createServer(ex);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const fa = Fastify();
  await fa.register(wiresealFastify, { keys, profiles: [jose, testProfile] });
  fa.post('/w', { config: { wireseal: { mode: 'whole' } } }, async (req) => ({ got: req.body, type: req.headers['content-type'] }));
  await fa.listen({ port: 0, host: '127.0.0.1' });
  return [
    {
      name: 'express',
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
    },
    { name: 'fastify', url: `http://127.0.0.1:${(fa.server.address() as AddressInfo).port}`, close: () => fa.close() },
  ];
}

let servers: Awaited<ReturnType<typeof startBoth>>;
beforeAll(async () => {
  servers = await startBoth();
});
afterAll(async () => {
  for (const s of servers) await s.close();
});

describe('a second whole-payload profile', () => {
  it('is chosen by media type, reads bytes, and seals the response with its own state and headers', async () => {
    for (const s of servers) {
      const token = seal(keys, '{"n":1}', { cty: 'application/json', iat: now(), context: REQ });
      const res = await raw(s.url, 'POST', '/w', { 'content-type': TYPE }, frame(7, token));
      expect(res.status, s.name).toBe(200);
      expect(res.headers['content-type']).toBe(TYPE);
      expect(res.headers['x-sealed-for']).toBe('7');
      const body = res.bytes;
      const opened = await jose.open(body.subarray(1), { keys, context: RES, alg: 'A256KW', head: { method: 'POST', path: '/w', headers: {} }, now: Date.now() });
      expect(body[0]).toBe(0xfe);
      expect(JSON.parse(new TextDecoder().decode(opened.plaintext))).toEqual({ got: { n: 1 }, type: 'application/json' });
    }
  });

  it('keeps application/jose working beside it, and 415 names both', async () => {
    for (const s of servers) {
      const ok = await raw(s.url, 'POST', '/w', { 'content-type': 'application/jose' }, seal(keys, 'hi', { cty: 'text/plain', iat: now(), context: REQ }));
      expect(ok.status, s.name).toBe(200);
      expect(ok.headers['content-type']).toBe('application/jose');
      const bad = await raw(s.url, 'POST', '/w', { 'content-type': 'text/plain' }, 'hi');
      expect(bad.status).toBe(415);
      expect(bad.json().code).toBe('ERR_ALG_UNSUPPORTED');
      expect(bad.json().detail).toContain(TYPE);
    }
  });
});
