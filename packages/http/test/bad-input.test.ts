// The bad-input matrix, sent with a raw HTTP client to real Express and
// Fastify servers: each case asserts the status, the problem's code, that the
// handler did not run and that nothing sensitive came back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { KeySet, encryptFields, FieldPolicy, seal } from '@wireseal/core';
import { POLICY, raw, startExpress, startFastify } from './support/servers.ts';
import type { RawResponse, Running } from './support/servers.ts';

const keys = KeySet.generate({ kid: 'srv-2026-11' });
const stranger = KeySet.generate({ kid: 'stranger' });
const policy = FieldPolicy.parse(POLICY);
const PAN = '4111111111111111';
const doc = { card: { number: PAN, cvv: '737' }, customer: { ssn: '078-05-1120' }, amount: 3 };
const now = (): number => Math.floor(Date.now() / 1000);
const JSON_H = { 'content-type': 'application/json' };
const JOSE_H = { 'content-type': 'application/jose' };
/** Tokens a client seals bind the request direction (bindDirection, the default). */
const REQ = { 'wireseal-http': 'request' };
const wholeToken = (k = keys, iat: number | null = now()): string =>
  seal(k, JSON.stringify(doc), { cty: 'application/json', context: REQ, ...(iat === null ? {} : { iat }) });

function flipTag(token: string): string {
  const parts = token.split('.');
  const tag = Buffer.from(parts[4]!, 'base64url');
  tag[0]! ^= 0x01;
  parts[4] = tag.toString('base64url');
  return parts.join('.');
}

/** Sends a body with chunked transfer encoding (no content-length), in pieces. */
function chunked(url: string, path: string, headers: Record<string, string>, pieces: string[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, url);
    const req = http.request({ host: u.hostname, port: u.port, path, method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    for (const p of pieces) req.write(p);
    req.end();
  });
}

interface Case {
  name: string;
  path: string;
  send: (url: string) => Promise<RawResponse>;
  status: number;
  code: string;
  /** Strings that must not come back. */
  secret?: string[];
}

const post = (path: string, headers: Record<string, string>, body: string | (() => string)) => (url: string) =>
  raw(url, 'POST', path, headers, typeof body === 'function' ? body() : body);

const fieldsWith = (mutate: (sealed: any) => void) => () => {
  const sealed = encryptFields(keys, doc, policy, { context: REQ }) as any;
  mutate(sealed);
  return JSON.stringify(sealed);
};

const cases: Case[] = [
  { name: 'wrong content type (text/plain) on a whole route', path: '/whole', send: post('/whole', { 'content-type': 'text/plain' }, 'hello'), status: 415, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'wrong content type (application/xml) on a whole route', path: '/whole', send: post('/whole', { 'content-type': 'application/xml' }, '<a/>'), status: 415, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'wrong content type (application/jose) on a fields route', path: '/fields', send: post('/fields', JOSE_H, () => wholeToken()), status: 415, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'garbage body on a whole route', path: '/whole', send: post('/whole', JOSE_H, 'this is not a token at all'), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'garbage JSON on a fields route', path: '/fields', send: post('/fields', JSON_H, '{"card": {"number": '), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'empty body on a whole route', path: '/whole', send: post('/whole', { ...JOSE_H, 'content-length': '0' }, ''), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'truncated token (tag cut short)', path: '/whole', send: post('/whole', JOSE_H, () => wholeToken().slice(0, -6)), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'truncated token (three segments)', path: '/whole', send: post('/whole', JOSE_H, () => wholeToken().split('.').slice(0, 3).join('.')), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'truncated field token', path: '/fields', send: post('/fields', JSON_H, fieldsWith((s) => (s.card.number = s.card.number.slice(0, -6)))), status: 400, code: 'ERR_TOKEN_MALFORMED', secret: [PAN] },
  // Cut so short it no longer has five segments: it is not a token, so it counts as plaintext.
  { name: 'field token cut to a non-token', path: '/fields', send: post('/fields', JSON_H, fieldsWith((s) => (s.card.number = s.card.number.slice(0, 40)))), status: 422, code: 'ERR_PLAINTEXT_FIELD' },
  { name: 'flipped tag byte (whole)', path: '/whole', send: post('/whole', JOSE_H, () => flipTag(wholeToken())), status: 400, code: 'ERR_DECRYPT' },
  { name: 'flipped tag byte (field)', path: '/fields', send: post('/fields', JSON_H, fieldsWith((s) => (s.card.number = flipTag(s.card.number)))), status: 400, code: 'ERR_DECRYPT' },
  { name: 'unknown kid (whole)', path: '/whole', send: post('/whole', JOSE_H, () => wholeToken(stranger)), status: 400, code: 'ERR_KEY_UNKNOWN', secret: ['srv-2026-11', 'stranger'] },
  {
    name: 'unknown kid (field)',
    path: '/fields',
    send: post('/fields', JSON_H, () => JSON.stringify(encryptFields(stranger, doc, policy, { context: REQ }))),
    status: 400,
    code: 'ERR_KEY_UNKNOWN',
    secret: ['srv-2026-11', 'stranger'],
  },
  { name: 'iat too old', path: '/whole', send: post('/whole', JOSE_H, () => wholeToken(keys, now() - 600)), status: 400, code: 'ERR_STALE' },
  { name: 'iat too far in the future', path: '/whole', send: post('/whole', JOSE_H, () => wholeToken(keys, now() + 600)), status: 400, code: 'ERR_STALE' },
  { name: 'no iat', path: '/whole', send: post('/whole', JOSE_H, () => wholeToken(keys, null)), status: 400, code: 'ERR_STALE' },
  { name: 'plaintext field on a required route', path: '/fields', send: post('/fields', JSON_H, JSON.stringify(doc)), status: 422, code: 'ERR_PLAINTEXT_FIELD', secret: [PAN] },
  {
    name: 'one plaintext field among tokens on a required route',
    path: '/fields',
    send: post('/fields', JSON_H, fieldsWith((s) => (s.customer.ssn = '078-05-1120'))),
    status: 422,
    code: 'ERR_PLAINTEXT_FIELD',
    secret: ['078-05-1120'],
  },
  {
    name: 'oversized body (whole, content-length)',
    path: '/whole-small',
    send: post('/whole-small', JOSE_H, () => seal(keys, 'x'.repeat(3000), { cty: 'text/plain', iat: now(), context: REQ })),
    status: 413,
    code: 'ERR_LIMIT_EXCEEDED',
  },
  { name: 'oversized body (fields, content-length)', path: '/fields-small', send: post('/fields-small', JSON_H, JSON.stringify({ pad: 'x'.repeat(3000) })), status: 413, code: 'ERR_LIMIT_EXCEEDED' },
  {
    name: 'oversized body (fields, chunked, no content-length)',
    path: '/fields-small',
    send: (url) => chunked(url, '/fields-small', JSON_H, ['{"pad":"', 'x'.repeat(1500), 'x'.repeat(1500), '"}']),
    status: 413,
    code: 'ERR_LIMIT_EXCEEDED',
  },
  {
    name: 'token for another field',
    path: '/fields',
    send: post('/fields', JSON_H, fieldsWith((s) => (s.card.number = s.card.cvv))),
    status: 400,
    code: 'ERR_FIELD_MISMATCH',
  },
  {
    name: 'field token sent as a whole payload',
    path: '/whole',
    send: post('/whole', JOSE_H, () => (encryptFields(keys, doc, policy, { context: REQ }) as any).card.number),
    status: 400,
    code: 'ERR_FIELD_MISMATCH',
  },
  { name: 'field tokens without the route context', path: '/fields-ctx', send: post('/fields-ctx', JSON_H, fieldsWith(() => undefined)), status: 400, code: 'ERR_CONTEXT_MISMATCH' },
  {
    name: 'token with a cty that is not a media type',
    path: '/whole',
    send: post('/whole', JOSE_H, () => seal(keys, '{}', { cty: 'text/html\r\nx-injected: 1', iat: now(), context: REQ })),
    status: 400,
    code: 'ERR_TOKEN_MALFORMED',
  },
  { name: 'key source down', path: '/keyless', send: post('/keyless', JSON_H, fieldsWith(() => undefined)), status: 503, code: 'ERR_KEY_SOURCE', secret: ['arn:aws', 'ECONNREFUSED'] },
];

describe.each([
  ['express', startExpress],
  ['fastify', startFastify],
] as const)('%s: bad input', (_name, start) => {
  let server: Running;
  beforeAll(async () => {
    server = await start(keys);
  });
  afterAll(() => server.close());

  it.each(cases)('$name → $status $code', async (c) => {
    const before = server.calls.get(c.path) ?? 0;
    const failuresBefore = server.failures.length;
    const res = await c.send(server.url);
    expect(res.status).toBe(c.status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
    const problem = res.json();
    expect(problem).toMatchObject({ status: c.status, code: c.code, type: `urn:wireseal:error:${c.code}` });
    expect(typeof problem.title).toBe('string');
    expect(problem.detail).toMatch(/^[\x20-\x7e]{1,300}$/);
    expect(server.calls.get(c.path) ?? 0).toBe(before);
    for (const s of c.secret ?? []) expect(res.text).not.toContain(s);
    expect(res.headers['x-injected']).toBeUndefined();
    expect(server.failures.slice(failuresBefore)).toEqual([{ code: c.code, status: c.status, phase: 'request' }]);
  });

  it('a replayed token is refused and the handler runs once', async () => {
    const before = server.calls.get('/whole') ?? 0;
    const token = wholeToken();
    const first = await raw(server.url, 'POST', '/whole', JOSE_H, token);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/jose');
    const again = await raw(server.url, 'POST', '/whole', JOSE_H, token);
    expect(again.status).toBe(400);
    expect(again.json()).toMatchObject({ code: 'ERR_REPLAY', status: 400 });
    expect(server.calls.get('/whole')).toBe(before + 1);
  });

  it('plaintext clients on required routes get a problem, not the handler', async () => {
    const before = server.calls.get('/fields') ?? 0;
    const res = await fetch(`${server.url}/fields`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) });
    expect(res.status).toBe(422);
    expect((await res.json()).code).toBe('ERR_PLAINTEXT_FIELD');
    expect(server.calls.get('/fields') ?? 0).toBe(before);
  });
});
