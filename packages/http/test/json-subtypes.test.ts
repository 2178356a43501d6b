// Fields routes read every JSON media type as a JSON document:
// application/json and application/*+json (merge-patch, vnd.api, …). Sealed
// +json requests open and reach the handler with their own content type;
// plaintext +json requests on a required route get the strict check (422),
// not a way around it. Express and Fastify, with the fetch client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeySet } from '@wireseal/core';
import { createFetch } from '@wireseal/http/fetch';
import { POLICY, raw, startExpress, startFastify } from './support/servers.ts';
import type { Running } from './support/servers.ts';

const keys = KeySet.generate({ kid: 'sub-1' });
const PAN = '4111111111111111';
const doc = { card: { number: PAN, cvv: '737' }, customer: { ssn: '078-05-1120' }, amount: 1 };

describe.each([
  ['express', startExpress],
  ['fastify', startFastify],
] as const)('%s: application/*+json requests on fields routes', (_name, start) => {
  let server: Running;
  beforeAll(async () => {
    server = await start(keys);
  });
  afterAll(() => server.close());

  it.each(['application/merge-patch+json', 'application/vnd.api+json; charset=utf-8'])('sealed %s opens; the handler sees the plaintext and its type', async (type) => {
    const sfetch = createFetch({ keys, mode: 'fields', policy: POLICY });
    const res = await sfetch(`${server.url}/fields`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify(doc) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ...doc, handledBy: '/fields', receivedType: type, sealed: true });
  });

  it('plaintext +json on a required route → 422 ERR_PLAINTEXT_FIELD, handler not run', async () => {
    const before = server.calls.get('/fields') ?? 0;
    const res = await raw(server.url, 'POST', '/fields', { 'content-type': 'application/merge-patch+json' }, JSON.stringify(doc));
    expect(res.status).toBe(422);
    expect(res.json()).toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
    expect(res.text).not.toContain(PAN);
    expect(server.calls.get('/fields') ?? 0).toBe(before);
  });

  it('malformed +json → 400 ERR_TOKEN_MALFORMED; other types still 415', async () => {
    const bad = await raw(server.url, 'POST', '/fields', { 'content-type': 'application/merge-patch+json' }, '{"card":');
    expect(bad.json()).toMatchObject({ status: 400, code: 'ERR_TOKEN_MALFORMED' });
    const xml = await raw(server.url, 'POST', '/fields', { 'content-type': 'application/xml' }, '<a/>');
    expect(xml.json()).toMatchObject({ status: 415, code: 'ERR_ALG_UNSUPPORTED' });
  });

  it('a required whole route still refuses +json plaintext (415)', async () => {
    const whole = await raw(server.url, 'POST', '/whole', { 'content-type': 'application/merge-patch+json' }, JSON.stringify(doc));
    expect(whole.json()).toMatchObject({ status: 415, code: 'ERR_ALG_UNSUPPORTED' });
  });
});
