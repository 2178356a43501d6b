// Real Express, Fastify and node:http servers on loopback with the same routes.
import { afterAll, beforeAll, describe } from 'vitest';
import express from 'express';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeySet } from '@wireseal/core';
import type { KeyProvider } from '@wireseal/core';
import { KeySourceError } from '@wireseal/core/errors';
import type { HttpCodecOptions, RouteOptions, WiresealRequestInfo } from '@wireseal/http';
import { wiresealMiddleware, wiresealInfo } from '@wireseal/http/express';
import { wiresealFastify } from '@wireseal/http/fastify';
import type { FetchLike } from '@wireseal/http/fetch';

export const POLICY = ['card.number', 'card.cvv', 'customer.ssn'];

/** A provider whose key source is down: current() throws ERR_KEY_SOURCE. */
export const brokenProvider: KeyProvider = {
  ready: () => Promise.resolve(),
  current: () => {
    throw new KeySourceError('secrets manager unreachable: connect ECONNREFUSED 127.0.0.1:1 (arn:aws:secretsmanager:eu-west-1:123:secret:keys)');
  },
  close: () => undefined,
};

export const ROUTES: TestRoutes = {
  fields: { method: 'POST', path: '/fields', mode: 'fields', policy: POLICY },
  fieldsOptional: { method: 'POST', path: '/fields-optional', mode: 'fields', policy: POLICY, encryption: 'optional' },
  fieldsCtx: {
    method: 'POST',
    path: '/fields-ctx',
    mode: 'fields',
    policy: POLICY,
    context: { route: 'POST /fields-ctx' },
    responseContext: { route: 'POST /fields-ctx', direction: 'response' },
  },
  fieldsSmall: { method: 'POST', path: '/fields-small', mode: 'fields', policy: POLICY, maxBodyBytes: 2048 },
  keyless: { method: 'POST', path: '/keyless', mode: 'fields', policy: POLICY, keys: brokenProvider },
  whole: { method: 'POST', path: '/whole', mode: 'whole' },
  wholeOptional: { method: 'POST', path: '/whole-optional', mode: 'whole', encryption: 'optional' },
  wholeGet: { method: 'GET', path: '/whole-get', mode: 'whole' },
  wholeSmall: { method: 'POST', path: '/whole-small', mode: 'whole', maxBodyBytes: 2048 },
};

export interface Running {
  name: 'express' | 'fastify';
  url: string;
  /** Handler runs per route path. */
  calls: Map<string, number>;
  /** wireseal failures reported through onError. */
  failures: Array<{ code: string; status: number; phase: string }>;
  close(): Promise<void>;
}

/** A test route table: each route's options with its method and path. */
export type TestRoutes = Record<string, RouteOptions & { method: 'GET' | 'POST'; path: string }>;

/** What a handler answers, given its route path, the body, the request's content type and how it was protected. */
export type Answer = (path: string, body: unknown, contentType: string | undefined, info: WiresealRequestInfo | undefined) => unknown;

/** What a test server runs: its routes, the adapter's options (onError is added) and its handlers' answer. */
export interface ServerSetup {
  routes: TestRoutes;
  adapter: Omit<HttpCodecOptions, 'onError'>;
  answer: Answer;
}

/** What every handler here answers: the body it received (so policy paths are sealed again) plus how it arrived. */
function answer(path: string, body: unknown, contentType: string | undefined, info: WiresealRequestInfo | undefined): unknown {
  const sealed = info?.sealed;
  if (path === '/whole-get') return { secret: 'top secret reading', sealed };
  const doc = body !== null && typeof body === 'object' && !Array.isArray(body) && !(body instanceof Uint8Array) ? body : { value: typeof body === 'string' ? body : String(body) };
  return { ...(doc as object), handledBy: path, receivedType: contentType ?? null, sealed: sealed ?? null };
}

/** Express on loopback with `setup`'s routes. */
export async function serveExpress(setup: ServerSetup): Promise<Running> {
  const calls = new Map<string, number>();
  const failures: Running['failures'] = [];
  const ws = wiresealMiddleware({ ...setup.adapter, onError: (_e, i) => failures.push({ code: i.code, status: i.status, phase: i.phase }) });
  const app = express();
  for (const r of Object.values(setup.routes)) {
    const { method, path, ...options } = r;
    const handler = (req: express.Request, res: express.Response): void => {
      calls.set(path, (calls.get(path) ?? 0) + 1);
      res.json(setup.answer(path, req.body, req.headers['content-type'], wiresealInfo(req)));
    };
    // Plaintext requests on optional routes are parsed by the app's usual parsers.
    if (method === 'GET') app.get(path, ws.route(options), handler);
    else app.post(path, ws.route(options), express.json(), express.text(), handler);
  }
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name: 'express',
    url: `http://127.0.0.1:${port}`,
    calls,
    failures,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Fastify on loopback with `setup`'s routes. */
export async function serveFastify(setup: ServerSetup): Promise<Running> {
  const calls = new Map<string, number>();
  const failures: Running['failures'] = [];
  const app: FastifyInstance = Fastify({ logger: false });
  await app.register(wiresealFastify, { ...setup.adapter, onError: (_e, i) => failures.push({ code: i.code, status: i.status, phase: i.phase }) });
  for (const r of Object.values(setup.routes)) {
    const { method, path, ...options } = r;
    app.route({
      method,
      url: path,
      config: { wireseal: options },
      handler: async (request) => {
        calls.set(path, (calls.get(path) ?? 0) + 1);
        return setup.answer(path, request.body, request.headers['content-type'], request.wireseal ?? undefined);
      },
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { name: 'fastify', url: `http://127.0.0.1:${port}`, calls, failures, close: () => app.close() };
}

/** Declares `tests` twice, against Express and against Fastify serving `setup`; `server()` is the one running. */
export function onEachServer(title: string, setup: ServerSetup, tests: (server: () => Running) => void): void {
  describe.each([
    ['express', serveExpress],
    ['fastify', serveFastify],
  ] as const)(`%s: ${title}`, (_name, serve) => {
    let running: Running;
    beforeAll(async () => {
      running = await serve(setup);
    });
    afterAll(() => running.close());
    tests(() => running);
  });
}

export const startExpress = (keys: KeySet): Promise<Running> => serveExpress({ routes: ROUTES, adapter: { keys }, answer });
export const startFastify = (keys: KeySet): Promise<Running> => serveFastify({ routes: ROUTES, adapter: { keys }, answer });

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: Buffer;
  text: string;
  json(): any;
}

/** A raw HTTP/1.1 request with exactly these headers and bytes (no wireseal, no fetch). */
export function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** One exchange as it crossed the wire. */
export interface Wire {
  method: string;
  url: string;
  requestHeaders: Headers;
  requestBody: string | undefined;
  status: number;
  responseType: string | null;
  responseBody: string;
}

/** globalThis.fetch, recording what actually crossed the wire. */
export function recorder(): { fetch: FetchLike; wire: Wire[] } {
  const wire: Wire[] = [];
  return {
    wire,
    fetch: async (input, init) => {
      const res = await globalThis.fetch(input, init);
      const body = init?.body;
      wire.push({
        method: init?.method ?? 'GET',
        url: String(input),
        requestHeaders: new Headers(init?.headers),
        requestBody: typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body).toString('latin1') : undefined,
        status: res.status,
        responseType: res.headers.get('content-type'),
        responseBody: await res.clone().text(),
      });
      return res;
    },
  };
}
