// On a route that requires encryption, every 2xx body leaves sealed per the
// policy or does not leave at all, whichever way the handler writes it:
// Express res.send/res.json/res.end/res.write/pipe, Fastify reply.send of a
// string, Buffer, object, Node or web stream or web Response, reply.type, and
// reply.hijack() with writes to reply.raw. JSON (application/json and every
// application/*+json) is sealed per the policy; anything else is a 500 problem,
// reported to onError without the body. Real servers on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import Fastify from 'fastify';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { FieldPolicy, KeySet, decryptFields } from '@wireseal/core';
import type { RouteOptions } from '@wireseal/http';
import { wiresealMiddleware } from '@wireseal/http/express';
import { wiresealFastify } from '@wireseal/http/fastify';
import { raw } from './support/servers.ts';
import type { RawResponse } from './support/servers.ts';

const keys = KeySet.generate({ kid: 'resp-1' });
const POLICY = ['card.number'];
const PAN = '4111111111111111';
const doc = { card: { number: PAN, brand: 'visa' }, id: 'p-1' };
const docText = JSON.stringify(doc);
const TOKEN = /^eyJ[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/;
const RES = { 'wireseal-http': 'response' };
const required: RouteOptions = { mode: 'fields', policy: POLICY };
const optional: RouteOptions = { mode: 'fields', policy: POLICY, encryption: 'optional' };

interface Server {
  url: string;
  calls: Map<string, number>;
  failures: Array<{ code: string; status: number; phase: string; message: string }>;
  close(): Promise<void>;
}

type Write = (res: express.Response) => void;

/** Express handlers: each writes the plaintext document its own way. */
const EXPRESS: Record<string, Write> = {
  '/send-text': (res) => res.type('text/plain').send(`card ${PAN}`),
  '/send-string': (res) => res.send(docText), // Express labels it text/html
  '/send-buffer': (res) => res.send(Buffer.from(docText)), // application/octet-stream
  '/end-bare': (res) => res.end(docText), // no content type at all
  '/write-chunks': (res) => {
    res.write(docText.slice(0, 10));
    res.write(Buffer.from(docText.slice(10)));
    res.end();
  },
  '/pipe-text': (res) => {
    res.type('text/plain');
    Readable.from([docText.slice(0, 5), docText.slice(5)]).pipe(res);
  },
  '/writehead-text': (res) => {
    res.writeHead(201, { 'content-type': 'text/plain' });
    res.end(docText);
  },
  '/vnd-json': (res) => res.type('application/vnd.api+json').send(docText),
  '/merge-patch': (res) => {
    res.setHeader('content-type', 'application/merge-patch+json; charset=utf-8');
    res.end(docText);
  },
  '/json': (res) => res.json(doc),
  '/not-found-text': (res) => res.status(404).type('text/plain').send('no such payment'),
};

type Send = (reply: import('fastify').FastifyReply) => unknown;

/** Fastify handlers: each sends the plaintext document its own way. */
const FASTIFY: Record<string, Send> = {
  '/send-text': (reply) => reply.type('text/plain').send(`card ${PAN}`),
  '/send-string': (reply) => reply.send(docText), // Fastify labels it text/plain
  '/send-buffer': (reply) => reply.send(Buffer.from(docText)), // application/octet-stream
  '/node-stream': (reply) => reply.type('text/plain').send(Readable.from([docText.slice(0, 5), docText.slice(5)])),
  '/node-stream-json': (reply) => reply.type('application/json').send(Readable.from([docText.slice(0, 5), docText.slice(5)])),
  '/web-stream': (reply) => reply.send(new Response(docText).body), // a web ReadableStream, no content type
  '/web-response': (reply) => reply.send(new Response(docText, { status: 200, headers: { 'content-type': 'text/plain' } })),
  '/web-response-json': (reply) => reply.send(new Response(docText, { status: 201, headers: { 'content-type': 'application/json', 'x-kept': 'yes' } })),
  '/hijack-bare': (reply) => {
    reply.hijack();
    reply.raw.end(docText);
  },
  '/hijack-json': (reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/json' });
    reply.raw.write(docText.slice(0, 7));
    reply.raw.end(docText.slice(7));
  },
  '/vnd-json': (reply) => reply.type('application/vnd.api+json').send(doc), // an object: Fastify serialises it as JSON
  '/merge-patch': (reply) => reply.type('application/merge-patch+json').send(docText),
  '/json': (reply) => reply.send(doc),
  '/not-found-text': (reply) => reply.code(404).type('text/plain').send('no such payment'),
};

function recorder(): Pick<Server, 'calls' | 'failures'> & { onError: (err: unknown, info: { code: string; status: number; phase: string }) => void } {
  const calls = new Map<string, number>();
  const failures: Server['failures'] = [];
  return {
    calls,
    failures,
    onError: (err, info) => failures.push({ code: info.code, status: info.status, phase: info.phase, message: String((err as Error).message) }),
  };
}

async function startExpress(): Promise<Server> {
  const rec = recorder();
  const ws = wiresealMiddleware({ keys, onError: rec.onError });
  const app = express();
  for (const [path, write] of Object.entries(EXPRESS)) {
    const handler = (_req: express.Request, res: express.Response): void => {
      rec.calls.set(path, (rec.calls.get(path) ?? 0) + 1);
      write(res);
    };
    app.get(path, ws.route(required), handler);
    app.get(`/optional${path}`, ws.route(optional), handler);
  }
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ...rec,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function startFastify(): Promise<Server> {
  const rec = recorder();
  const app = Fastify();
  await app.register(wiresealFastify, { keys, onError: rec.onError });
  for (const [path, send] of Object.entries(FASTIFY)) {
    const handler = async (_req: unknown, reply: import('fastify').FastifyReply): Promise<unknown> => {
      rec.calls.set(path, (rec.calls.get(path) ?? 0) + 1);
      return send(reply);
    };
    app.get(path, { config: { wireseal: required } }, handler);
    app.get(`/optional${path}`, { config: { wireseal: optional } }, handler);
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, ...rec, close: () => app.close() };
}

/** A refused response: a 500 problem, the handler ran once, nothing of the body left, the reason reported without it. */
async function expectRefused(server: Server, path: string): Promise<void> {
  const before = server.failures.length;
  const res = await raw(server.url, 'GET', path, {});
  expect(res.status, path).toBe(500);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ status: 500, code: 'ERR_ALG_UNSUPPORTED' });
  expect(res.text).not.toContain(PAN);
  expect(res.text).not.toContain('visa');
  expect(server.calls.get(path)).toBe(1);
  const reported = server.failures.slice(before);
  expect(reported.map(({ code, status, phase }) => ({ code, status, phase }))).toEqual([{ code: 'ERR_ALG_UNSUPPORTED', status: 500, phase: 'response' }]);
  expect(reported[0]!.message).not.toContain(PAN);
}

/** A sealed JSON response: the policy field is a token (bound to the response direction), the rest readable. */
function expectSealed(res: RawResponse, contentType: RegExp, status = 200): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(contentType);
  expect(res.text).not.toContain(PAN);
  const body = res.json();
  expect(body.card.number).toMatch(TOKEN);
  expect(body.card.brand).toBe('visa');
  expect(decryptFields(keys, body, FieldPolicy.parse(POLICY), { context: RES }).doc).toEqual(doc);
}

describe('express: a required fields route sends no 2xx body unsealed', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startExpress();
  });
  afterAll(() => server.close());

  it.each(['/send-text', '/send-string', '/send-buffer', '/end-bare', '/write-chunks', '/pipe-text', '/writehead-text'])(
    '%s: not JSON → 500 problem, body dropped',
    (path) => expectRefused(server, path),
  );

  it.each([
    ['/vnd-json', /^application\/vnd\.api\+json/],
    ['/merge-patch', /^application\/merge-patch\+json/],
    ['/json', /^application\/json/],
  ] as const)('%s: JSON → sealed per the policy, its type kept', async (path, type) => {
    expectSealed(await raw(server.url, 'GET', path, {}), type);
  });

  it('leaves a non-2xx text body alone, and non-JSON bodies on optional routes', async () => {
    const notFound = await raw(server.url, 'GET', '/not-found-text', {});
    expect(notFound.status).toBe(404);
    expect(notFound.text).toBe('no such payment');
    const plain = await raw(server.url, 'GET', '/optional/send-text', {});
    expect(plain.status).toBe(200);
    expect(plain.text).toBe(`card ${PAN}`);
  });
});

describe('fastify: a required fields route sends no 2xx body unsealed', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startFastify();
  });
  afterAll(() => server.close());

  it.each(['/send-text', '/send-string', '/send-buffer', '/node-stream', '/web-stream', '/web-response', '/hijack-bare'])(
    '%s: not JSON → 500 problem, body dropped',
    (path) => expectRefused(server, path),
  );

  it.each([
    ['/vnd-json', /^application\/vnd\.api\+json/, 200],
    ['/merge-patch', /^application\/merge-patch\+json/, 200],
    ['/json', /^application\/json/, 200],
    ['/node-stream-json', /^application\/json/, 200],
    ['/hijack-json', /^application\/json/, 200],
    ['/web-response-json', /^application\/json/, 201],
  ] as const)('%s: JSON → sealed per the policy, its type kept', async (path, type, status) => {
    const res = await raw(server.url, 'GET', path, {});
    expectSealed(res, type, status);
    if (path === '/web-response-json') expect(res.headers['x-kept']).toBe('yes');
  });

  it('leaves a non-2xx text body alone, and non-JSON bodies on optional routes', async () => {
    const notFound = await raw(server.url, 'GET', '/not-found-text', {});
    expect(notFound.status).toBe(404);
    expect(notFound.text).toBe('no such payment');
    for (const path of ['/optional/send-text', '/optional/web-response', '/optional/hijack-bare']) {
      const plain = await raw(server.url, 'GET', path, {});
      expect(plain.status, path).toBe(200);
      expect(plain.text, path).toContain(PAN);
    }
  });
});
