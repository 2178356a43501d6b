// Fastify fields routes seal the handler's document as Fastify serializes it
// (one JSON pass). These check that the result is the same as sealing the
// serialized bytes, and that every case where that shortcut would not be the
// same (schemas, custom serializers, hooks that change the payload later,
// failures) still gets the bytes sealed, or a problem, never plaintext.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { FieldPolicy, KeySet, decryptFields } from '@wireseal/core';

/** A JWE compact token (five base64url segments). */
const isToken = (v: unknown): boolean => typeof v === 'string' && /^[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/.test(v);
import { wiresealFastify } from '@wireseal/http/fastify';

const keys = KeySet.generate({ kid: 's-1' });
const POLICY = ['card.number', 'amount'];
const policy = FieldPolicy.parse(POLICY);
const RESPONSE = { 'wireseal-http': 'response' };
const when = new Date('2026-12-04T10:00:00.000Z');
const shared = Object.freeze({ card: Object.freeze({ number: '4111111111111111', brand: 'visa' }), amount: 12999, at: when, skip: undefined });
let app: FastifyInstance;
const errors: string[] = [];

beforeAll(async () => {
  app = Fastify();
  await app.register(wiresealFastify, { keys, onError: (err) => errors.push((err as { code?: string }).code ?? 'other') });
  // Registered after wireseal: runs after its preSerialization hook, on the document.
  app.addHook('preSerialization', async (request, _reply, payload) => {
    if (request.url === '/late-hook') return { ...(payload as object), card: { number: '5555555555554444' } };
    return payload;
  });
  const fields = { wireseal: { mode: 'fields', policy: POLICY } } as const;
  app.post('/plain-object', { config: fields }, async () => shared);
  app.post('/late-hook', { config: fields }, async () => ({ amount: 1 }));
  app.post(
    '/schema',
    {
      config: fields,
      // The schema serializer sees plaintext: it drops `extra` and writes amount as a number.
      schema: { response: { 200: { type: 'object', properties: { card: { type: 'object', properties: { number: { type: 'string' } } }, amount: { type: 'number' } } } } },
    },
    async () => ({ card: { number: '4111111111111111' }, amount: '12999', extra: 'dropped' }),
  );
  app.post('/custom-serializer', { config: fields }, async (_req, reply) => {
    reply.type('application/json').serializer((v: unknown) => JSON.stringify({ wrapped: v, card: { number: '4000000000000002' } }));
    return { amount: 5 };
  });
  app.post('/etag', { config: fields }, async (_req, reply) => {
    reply.header('etag', '"plain"');
    return { amount: 7 };
  });
  app.post('/missing', { config: { wireseal: { mode: 'fields', policy: POLICY, responseRequireMatch: ['card.number'] } } }, async () => ({ amount: 7 }));
  app.post('/created', { config: fields }, async (_req, reply) => reply.code(201).send({ card: { number: '4111111111111111' } }));
  app.post('/not-found', { config: fields }, async (_req, reply) => reply.code(404).type('application/problem+json').send({ title: 'gone', amount: 3 }));
  await app.ready();
});
afterAll(() => app.close());

const post = (url: string) => app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', wireseal: '1' }, payload: '{}' });
const open = (text: string) => decryptFields(keys, JSON.parse(text), policy, { mode: 'migrate', context: RESPONSE });

describe('fastify fields responses: one serialization', () => {
  it('seals the document as JSON.stringify would write it, without changing it', async () => {
    const parse = vi.spyOn(JSON, 'parse');
    const res = await post('/plain-object');
    // The plaintext response was never written out and parsed back.
    expect(parse.mock.calls.filter(([text]) => String(text).includes('visa'))).toEqual([]);
    parse.mockRestore();
    expect(res.statusCode).toBe(200);
    const sent = JSON.parse(res.body) as { card: { number: string }; amount: string; at: string };
    expect(isToken(sent.card.number)).toBe(true);
    expect(isToken(sent.amount)).toBe(true);
    expect(open(res.body).doc).toEqual(JSON.parse(JSON.stringify(shared)));
    expect(sent.at).toBe(when.toISOString());
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(shared.card.number).toBe('4111111111111111');
  });

  it('seals what a later preSerialization hook put in the document', async () => {
    const res = await post('/late-hook');
    const sent = JSON.parse(res.body) as { card: { number: string } };
    expect(isToken(sent.card.number)).toBe(true);
    expect(open(res.body).doc).toEqual({ amount: 1, card: { number: '5555555555554444' } });
  });

  it('lets a response schema serialize the plaintext, then seals the bytes', async () => {
    const parse = vi.spyOn(JSON, 'parse');
    const res = await post('/schema');
    expect(parse.mock.calls.filter(([text]) => String(text).includes('4111111111111111')).length).toBe(1);
    parse.mockRestore();
    expect(res.statusCode).toBe(200);
    expect(open(res.body).doc).toEqual({ card: { number: '4111111111111111' }, amount: 12999 });
  });

  it("lets a reply's own serializer run, then seals the bytes", async () => {
    const res = await post('/custom-serializer');
    const sent = JSON.parse(res.body) as { card: { number: string } };
    expect(isToken(sent.card.number)).toBe(true);
    expect(open(res.body).doc).toEqual({ wrapped: { amount: 5 }, card: { number: '4000000000000002' } });
  });

  it('drops a validator the handler computed over the plaintext', async () => {
    const res = await post('/etag');
    expect(res.headers.etag).toBeUndefined();
    expect(isToken((JSON.parse(res.body) as { amount: string }).amount)).toBe(true);
  });

  it('answers a response it cannot seal with a problem, reported once', async () => {
    errors.length = 0;
    const res = await post('/missing');
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).not.toContain('"amount":7');
    expect(errors).toEqual(['ERR_FIELD_MISSING']);
  });

  it('seals other 2xx statuses and leaves error documents as they are', async () => {
    const created = await post('/created');
    expect(created.statusCode).toBe(201);
    expect(isToken((JSON.parse(created.body) as { card: { number: string } }).card.number)).toBe(true);
    const gone = await post('/not-found');
    expect(gone.statusCode).toBe(404);
    expect(JSON.parse(gone.body)).toEqual({ title: 'gone', amount: 3 });
  });
});
