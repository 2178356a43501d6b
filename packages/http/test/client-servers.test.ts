// The fetch client against real Express and Fastify servers on loopback, in
// every mode, request and response; plaintext clients on optional routes; and
// request bodies sealed by jose rather than by wireseal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { KeySet } from '@wireseal/core';
import { createFetch } from '@wireseal/http/fetch';
import { POLICY, ROUTES, recorder, startExpress, startFastify } from './support/servers.ts';
import type { Running } from './support/servers.ts';

const keys = KeySet.generate({ kid: 'srv-2026-11' });
const rawKey = new Uint8Array(Buffer.from(keys.toJwks().keys[0]!.k, 'base64url'));
const TOKEN = /^eyJ[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/;
const PAN = '4111111111111111';
const SSN = '078-05-1120';
/** wsc of the request direction, computed here from docs/design.md's rule: tokens from other JOSE libraries carry it too. */
const WSC_REQUEST = createHash('sha256').update(JSON.stringify([['wireseal-http', 'request']])).digest().subarray(0, 16).toString('base64url');
const doc = { card: { number: PAN, cvv: '737', holder: 'Ann Lee' }, customer: { ssn: SSN, name: 'Ann' }, amount: 12.5, items: [1, 2] };


const json = (x: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(x));
const clientRoutes = Object.fromEntries(Object.values(ROUTES).map(({ method, path, keys: _k, maxBodyBytes: _m, ...o }) => [`${method} ${path}`, o]));

describe.each([
  ['express', startExpress],
  ['fastify', startFastify],
] as const)('%s server with the fetch client', (_name, start) => {
  let server: Running;
  beforeAll(async () => {
    server = await start(keys);
  });
  afterAll(() => server.close());

  it('fields, required: policy fields travel as tokens both ways and come back as plaintext', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys, routes: clientRoutes, fetch: rec.fetch });
    const res = await sfetch(`${server.url}/fields`, { method: 'POST', body: JSON.stringify(doc) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ...doc, handledBy: '/fields', receivedType: 'application/json', sealed: true });

    const [w] = rec.wire;
    expect(w!.requestHeaders.get('content-type')).toBe('application/json');
    expect(w!.requestBody).not.toContain(PAN);
    expect(w!.requestBody).not.toContain(SSN);
    const sent = JSON.parse(w!.requestBody!);
    expect(sent.card.number).toMatch(TOKEN);
    expect(sent.card.cvv).toMatch(TOKEN);
    expect(sent.customer.ssn).toMatch(TOKEN);
    expect(sent.card.holder).toBe('Ann Lee');
    expect(w!.responseBody).not.toContain(PAN);
    const back = JSON.parse(w!.responseBody);
    expect(back.amount).toBe(12.5);
    // Response tokens are standard JWE: jose opens them; each is bound to its field.
    const opened = await compactDecrypt(back.card.number, rawKey);
    expect(json(opened.plaintext)).toBe(PAN);
    expect(opened.protectedHeader).toMatchObject({ alg: 'A256KW', enc: 'A256GCM', kid: 'srv-2026-11', wsf: 'card.number' });
  });

  it('fields, optional: a sealing client gets sealed responses, a plaintext client plaintext', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys, routes: clientRoutes, fetch: rec.fetch });
    const res = await sfetch(`${server.url}/fields-optional`, { method: 'POST', body: JSON.stringify(doc) });
    expect(await res.json()).toMatchObject({ ...doc, sealed: true });
    expect(JSON.parse(rec.wire[0]!.responseBody).card.number).toMatch(TOKEN);

    const plain = await fetch(`${server.url}/fields-optional`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    expect(plain.status).toBe(200);
    expect(await plain.json()).toEqual({ ...doc, handledBy: '/fields-optional', receivedType: 'application/json', sealed: false });
  });

  it('fields with a context: tokens carry wsc and open only under it', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys, routes: clientRoutes, fetch: rec.fetch });
    const res = await sfetch(`${server.url}/fields-ctx`, { method: 'POST', body: JSON.stringify(doc) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject(doc);
    const sentHeader = decodeProtectedHeader(JSON.parse(rec.wire[0]!.requestBody!).card.number);
    const backHeader = decodeProtectedHeader(JSON.parse(rec.wire[0]!.responseBody).card.number);
    expect(typeof sentHeader.wsc).toBe('string');
    expect(typeof backHeader.wsc).toBe('string');
    expect(backHeader.wsc).not.toBe(sentHeader.wsc);

    // A client that does not know the response context cannot open the response.
    const wrong = createFetch({ keys, routes: { 'POST /fields-ctx': { mode: 'fields', policy: POLICY, context: { route: 'POST /fields-ctx' } } } });
    await expect(wrong(`${server.url}/fields-ctx`, { method: 'POST', body: JSON.stringify(doc) })).rejects.toMatchObject({ code: 'ERR_CONTEXT_MISMATCH' });
  });

  it('whole, required: application/jose with cty and iat both ways', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys, routes: clientRoutes, fetch: rec.fetch });
    const res = await sfetch(`${server.url}/whole`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ ...doc, handledBy: '/whole', receivedType: 'application/json', sealed: true });

    const [w] = rec.wire;
    expect(w!.requestHeaders.get('content-type')).toBe('application/jose');
    expect(w!.requestHeaders.get('accept')).toBe('application/jose');
    expect(w!.requestBody).toMatch(TOKEN);
    const reqHeader = decodeProtectedHeader(w!.requestBody!);
    expect(reqHeader).toMatchObject({ cty: 'application/json', alg: 'A256KW', enc: 'A256GCM' });
    expect(Math.abs((reqHeader.iat as number) - Date.now() / 1000)).toBeLessThan(5);
    expect(w!.responseType).toBe('application/jose');
    const opened = await compactDecrypt(w!.responseBody, rawKey);
    expect(opened.protectedHeader.cty).toMatch(/^application\/json/);
    expect(typeof opened.protectedHeader.iat).toBe('number');
    expect(json(opened.plaintext)).toMatchObject(doc);
  });

  it('whole, required: a text body arrives as a string', async () => {
    const sfetch = createFetch({ keys, routes: clientRoutes });
    const res = await sfetch(`${server.url}/whole`, { method: 'POST', body: 'just some text' });
    expect(await res.json()).toMatchObject({ value: 'just some text', receivedType: 'text/plain;charset=UTF-8', sealed: true });
  });

  it('whole, GET: the response is sealed though the request had no body', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys, routes: clientRoutes, fetch: rec.fetch });
    const res = await sfetch(`${server.url}/whole-get`);
    expect(await res.json()).toEqual({ secret: 'top secret reading', sealed: false });
    expect(rec.wire[0]!.responseType).toBe('application/jose');
    expect(rec.wire[0]!.responseBody).not.toContain('top secret');
  });

  it('whole, optional: sealed for sealing clients and for Accept: application/jose; plaintext otherwise', async () => {
    const sfetch = createFetch({ keys, routes: clientRoutes });
    const res = await sfetch(`${server.url}/whole-optional`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    expect(await res.json()).toMatchObject({ ...doc, sealed: true, receivedType: 'application/json' });

    const plain = await fetch(`${server.url}/whole-optional`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    expect(plain.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await plain.json()).toMatchObject({ ...doc, sealed: false });

    const asks = await fetch(`${server.url}/whole-optional`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/jose' },
      body: JSON.stringify(doc),
    });
    expect(asks.headers.get('content-type')).toBe('application/jose');
    expect(json((await compactDecrypt(await asks.text(), rawKey)).plaintext)).toMatchObject({ ...doc, sealed: false });
  });

  it('accepts a whole payload sealed by jose (short cty form) and answers it sealed', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const token = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(doc)))
      .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: 'srv-2026-11', cty: 'json', iat, wsc: WSC_REQUEST })
      .encrypt(rawKey);
    const res = await fetch(`${server.url}/whole`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/jose');
    const opened = await compactDecrypt(await res.text(), rawKey);
    expect(json(opened.plaintext)).toEqual({ ...doc, handledBy: '/whole', receivedType: 'application/json', sealed: true });
  });

  it('accepts field tokens sealed by jose (dir and A256KW)', async () => {
    const field = (value: unknown, path: string, alg: 'dir' | 'A256KW') =>
      new CompactEncrypt(new TextEncoder().encode(JSON.stringify(value))).setProtectedHeader({ alg, enc: 'A256GCM', kid: 'srv-2026-11', wsf: path, wsc: WSC_REQUEST }).encrypt(rawKey);
    const body = {
      ...doc,
      card: { ...doc.card, number: await field(PAN, 'card.number', 'dir'), cvv: await field('737', 'card.cvv', 'A256KW') },
      customer: { ...doc.customer, ssn: await field(SSN, 'customer.ssn', 'A256KW') },
    };
    const res = await fetch(`${server.url}/fields`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    const back = await res.json();
    expect(back.sealed).toBe(true);
    expect(back.card.holder).toBe('Ann Lee');
    expect(json((await compactDecrypt(back.customer.ssn, rawKey)).plaintext)).toBe(SSN);
  });

  it('passes requests on routes it does not know untouched', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys, routes: { 'POST /elsewhere': { mode: 'whole' } }, fetch: rec.fetch });
    const res = await sfetch(`${server.url}/fields-optional`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    expect(await res.json()).toMatchObject({ ...doc, sealed: false });
    expect(rec.wire[0]!.requestHeaders.get('wireseal')).toBeNull();
  });
});
