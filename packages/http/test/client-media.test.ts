// The fetch client on a fields route that requires encryption, both ways:
// a request body that is not JSON (text/plain, a form, FormData, a typed Blob)
// is refused before anything is sent, and +json bodies are sealed per the
// policy; a 2xx response that is not JSON is refused, and +json responses get
// the strict check. The client applies the same document limits as the
// adapters. A real node:http server counts what reaches it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FieldPolicy, KeySet, decryptFields, encryptFields, seal } from '@wireseal/core';
import { UnsupportedMediaTypeError } from '@wireseal/http';
import { createFetch } from '@wireseal/http/fetch';

const keys = KeySet.generate({ kid: 'cm-1' });
const POLICY = ['card.number'];
const policy = FieldPolicy.parse(POLICY);
const PAN = '4111111111111111';
const doc = { card: { number: PAN }, id: 'p-1' };
const TOKEN = /^eyJ[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/;
const REQ = { 'wireseal-http': 'request' };
const RES = { 'wireseal-http': 'response' };
const now = (): number => Math.floor(Date.now() / 1000);

let answer: { status: number; type?: string; body: string } = { status: 200, type: 'application/json', body: '{}' };
const received: Array<{ type: string | undefined; body: string }> = [];
let server: http.Server;
let url = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ type: req.headers['content-type'], body: Buffer.concat(chunks).toString() });
      res.writeHead(answer.status, answer.type === undefined ? {} : { 'content-type': answer.type });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const sealedAnswer = (d: unknown = doc): string => JSON.stringify(encryptFields(keys, d as never, policy, { context: RES }));
const required = createFetch({ keys, mode: 'fields', policy: POLICY });
const optional = createFetch({ keys, mode: 'fields', policy: POLICY, encryption: 'optional' });

function form(): FormData {
  const f = new FormData();
  f.set('card.number', PAN);
  return f;
}

describe('fetch client, outgoing, required fields route: not JSON → refused before sending', () => {
  it.each([
    ['a string typed text/plain', () => ({ headers: { 'content-type': 'text/plain' }, body: JSON.stringify(doc) })],
    ['a string typed application/xml', () => ({ headers: { 'content-type': 'application/xml' }, body: `<n>${PAN}</n>` })],
    ['URLSearchParams', () => ({ body: new URLSearchParams({ 'card.number': PAN }) })],
    ['FormData', () => ({ body: form() })],
    ['a Blob typed text/plain', () => ({ body: new Blob([JSON.stringify(doc)], { type: 'text/plain' }) })],
    ['bytes with an explicit text/plain', () => ({ headers: { 'content-type': 'text/plain' }, body: new TextEncoder().encode(JSON.stringify(doc)) })],
  ] as Array<[string, () => RequestInit]>)('%s', async (_name, init) => {
    const before = received.length;
    const err = await required(`${url}/pay`, { method: 'POST', ...init() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(err).toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });
    expect(String((err as Error).message)).not.toContain(PAN);
    expect(received.length).toBe(before); // nothing went on the wire
  });

  it('a Request object typed text/plain', async () => {
    const before = received.length;
    const req = new Request(`${url}/pay`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(doc) });
    await expect(required(req)).rejects.toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });
    expect(received.length).toBe(before);
  });

  it('the same bodies go out as they are on an optional route (plaintext is allowed there), with their own type', async () => {
    answer = { status: 200, type: 'application/json', body: '{}' };
    await optional(`${url}/pay`, { method: 'POST', body: new URLSearchParams({ a: '1' }) });
    expect(received.at(-1)).toEqual({ type: 'application/x-www-form-urlencoded;charset=UTF-8', body: 'a=1' });
  });
});

describe('fetch client, outgoing: +json and typed JSON bodies are JSON, sealed per the policy', () => {
  it.each([
    ['application/merge-patch+json', () => ({ headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify(doc) }), 'application/merge-patch+json'],
    ['application/vnd.api+json; charset=utf-8', () => ({ headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' }, body: JSON.stringify(doc) }), 'application/vnd.api+json; charset=utf-8'],
    ['a Blob typed application/json', () => ({ body: new Blob([JSON.stringify(doc)], { type: 'application/json' }) }), 'application/json'],
    ['a Blob typed application/problem+json', () => ({ body: new Blob([JSON.stringify(doc)], { type: 'application/problem+json' }) }), 'application/problem+json'],
  ] as Array<[string, () => RequestInit, string]>)('%s', async (_name, init, type) => {
    answer = { status: 200, type: 'application/json', body: sealedAnswer() };
    const res = await required(`${url}/pay`, { method: 'POST', ...init() });
    expect(res.status).toBe(200);
    const sent = received.at(-1)!;
    expect(sent.type).toBe(type);
    expect(sent.body).not.toContain(PAN);
    const onWire = JSON.parse(sent.body);
    expect(onWire.card.number).toMatch(TOKEN);
    expect(decryptFields(keys, onWire, policy, { context: REQ }).doc).toEqual(doc);
  });
});

describe('fetch client, incoming, required fields route', () => {
  const call = () => required(`${url}/pay`, { method: 'POST', body: JSON.stringify(doc) });

  it.each([
    ['text/plain', 'text/plain', JSON.stringify(doc)],
    ['no content type', undefined, JSON.stringify(doc)],
    ['text/html', 'text/html', `<p>${PAN}</p>`],
    ['application/octet-stream', 'application/octet-stream', JSON.stringify(doc)],
  ])('a 2xx answer typed %s is refused: the strict check cannot apply to it', async (_name, type, body) => {
    answer = { status: 200, ...(type === undefined ? {} : { type }), body };
    await expect(call()).rejects.toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
  });

  it('a whole-payload token on a fields route is not a fields answer', async () => {
    answer = { status: 200, type: 'application/jose', body: seal(keys, JSON.stringify(doc), { cty: 'application/json', iat: now(), context: RES }) };
    await expect(call()).rejects.toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
  });

  it.each(['application/vnd.api+json', 'application/merge-patch+json; charset=utf-8', 'application/problem+json'])(
    'a 2xx %s answer gets the strict check: a forged plaintext value is refused, a sealed one opens',
    async (type) => {
      answer = { status: 200, type, body: JSON.stringify(doc) };
      await expect(call()).rejects.toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
      answer = { status: 200, type, body: sealedAnswer() };
      const res = await call();
      expect(res.headers.get('content-type')).toBe(type);
      expect(await res.json()).toEqual(doc);
    },
  );

  it('error answers pass: a non-2xx text body, a problem document', async () => {
    answer = { status: 404, type: 'text/plain', body: 'no such route' };
    const notFound = await call();
    expect(notFound.status).toBe(404);
    expect(await notFound.text()).toBe('no such route');
    answer = { status: 422, type: 'application/problem+json', body: '{"code":"ERR_PLAINTEXT_FIELD","status":422}' };
    const problem = await call();
    expect(problem.status).toBe(422);
    expect((await problem.json()).code).toBe('ERR_PLAINTEXT_FIELD');
  });

  it('an empty 2xx answer passes', async () => {
    answer = { status: 200, type: 'text/plain', body: '' };
    expect((await call()).status).toBe(200);
  });

  it('optional routes pass non-JSON answers as they are', async () => {
    answer = { status: 200, type: 'text/plain', body: 'hello' };
    expect(await (await optional(`${url}/pay`, { method: 'POST', body: JSON.stringify(doc) })).text()).toBe('hello');
  });

  it('whole mode: a 2xx problem document is not a sealed answer either', async () => {
    const whole = createFetch({ keys, mode: 'whole' });
    answer = { status: 200, type: 'application/problem+json', body: JSON.stringify({ status: 200, secret: PAN }) };
    await expect(whole(`${url}/w`, { method: 'POST', body: 'x' })).rejects.toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
  });
});

describe('fetch client: document limits', () => {
  const nest = (depth: number): unknown => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = { n: v };
    return v;
  };

  it('applies documentLimits to the answers it opens and the bodies it seals', async () => {
    const limited = createFetch({ keys, mode: 'fields', policy: POLICY, documentLimits: { maxDepth: 4 } });
    answer = { status: 200, type: 'application/json', body: sealedAnswer({ ...doc, deep: nest(6) }) };
    await expect(limited(`${url}/pay`, { method: 'POST', body: JSON.stringify(doc) })).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    const before = received.length;
    await expect(limited(`${url}/pay`, { method: 'POST', body: JSON.stringify({ ...doc, deep: nest(6) }) })).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    expect(received.length).toBe(before);
    const few = createFetch({ keys, mode: 'fields', policy: ['items[*]'], documentLimits: { maxTokens: 3 } });
    answer = { status: 200, type: 'application/json', body: JSON.stringify(encryptFields(keys, { items: [1, 2, 3, 4] }, FieldPolicy.parse(['items[*]']), { context: RES })) };
    await expect(few(`${url}/pay`, { method: 'POST', body: '{}' })).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
  });

  it('uses the adapters\' defaults otherwise (depth 64)', async () => {
    answer = { status: 200, type: 'application/json', body: JSON.stringify({ deep: nest(70) }) };
    await expect(required(`${url}/pay`, { method: 'POST', body: JSON.stringify(doc) })).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
  });
});
