// Fastify specifics: errors that are not wireseal's reach your error handlers,
// schemas validate plaintext, responses that cannot be sealed are not sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { KeySet } from '@wireseal/core';
import { WiresealError } from '@wireseal/core/errors';
import { wiresealFastify } from '@wireseal/http/fastify';
import { createFetch } from '@wireseal/http/fetch';

const keys = KeySet.generate({ kid: 'f-1' });
const POLICY = ['card.number'];
let app: FastifyInstance;
let url = '';
const routes = { '/boom': { mode: 'fields', policy: POLICY }, '/own': { mode: 'fields', policy: POLICY }, '/typed': { mode: 'fields', policy: POLICY }, '/bad-json': { mode: 'fields', policy: POLICY } } as const;

beforeAll(async () => {
  app = Fastify();
  await app.register(wiresealFastify, { keys });
  app.setErrorHandler((err: Error, _req, reply) => reply.code(418).send({ handledBy: 'instance', message: err.message }));
  app.post('/boom', { config: { wireseal: routes['/boom'] } }, async (req) => {
    // A WiresealError from the handler's own work (say, a stored field) is the app's, not a bad request.
    if ((req.body as { card: { number: string } }).card.number === '0000000000000000') throw new WiresealError('ERR_DECRYPT', 'stored value');
    throw new Error('handler failed');
  });
  app.post(
    '/own',
    {
      config: { wireseal: routes['/own'] },
      errorHandler: (err, _req, reply) => reply.code(409).send({ handledBy: 'route', message: err.message }),
    },
    async () => {
      throw new Error('conflict');
    },
  );
  app.post(
    '/typed',
    {
      config: { wireseal: routes['/typed'] },
      // The schema sees the plaintext: a 16-digit string.
      schema: { body: { type: 'object', required: ['card'], properties: { card: { type: 'object', properties: { number: { type: 'string', pattern: '^[0-9]{16}$' } } } } } },
    },
    async (req) => req.body,
  );
  app.post('/bad-json', { config: { wireseal: routes['/bad-json'] } }, async (_req, reply) => reply.type('application/json').send('{"card": {"number": "4111'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(() => app.close());

const sfetch = createFetch({ keys, routes: routes as never });
const body = JSON.stringify({ card: { number: '4111111111111111' } });

describe('fastify adapter', () => {
  it('hands non-wireseal errors to the instance error handler', async () => {
    const res = await sfetch(`${url}/boom`, { method: 'POST', body });
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual({ handledBy: 'instance', message: 'handler failed' });
    const own = await sfetch(`${url}/boom`, { method: 'POST', body: JSON.stringify({ card: { number: '0000000000000000' } }) });
    expect(own.status).toBe(418);
    expect(await own.json()).toEqual({ handledBy: 'instance', message: 'stored value' });
  });

  it("keeps a route's own error handler", async () => {
    const res = await sfetch(`${url}/own`, { method: 'POST', body });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ handledBy: 'route', message: 'conflict' });
  });

  it('validates the schema against the plaintext', async () => {
    const ok = await sfetch(`${url}/typed`, { method: 'POST', body });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ card: { number: '4111111111111111' } });
    const bad = await sfetch(`${url}/typed`, { method: 'POST', body: JSON.stringify({ card: { number: '12' } }) });
    expect(bad.status).toBe(418); // schema failure → instance error handler, as without wireseal
  });

  it('answers 500 instead of sending a response it cannot seal', async () => {
    const res = await sfetch(`${url}/bad-json`, { method: 'POST', body });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('4111');
    expect(JSON.parse(text)).toMatchObject({ code: 'ERR_TOKEN_MALFORMED', status: 500 });
  });
});
