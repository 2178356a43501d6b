// Requests and responses are not interchangeable: with the default
// bindDirection, every shared-key token (whole application/jose and field
// tokens) carries wsc over its route context plus {"wireseal-http": "request"}
// or {"wireseal-http": "response"}. A server's own sealed response posted back
// as a request is refused before the handler runs, a request served back as a
// response is refused by the client; tokens stay standard JWE (jose opens them
// and the wsc is the documented digest). The public-key profiles keep the
// directions apart by their own means. bindDirection: false restores the old,
// unbound tokens for old peers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { compactDecrypt, decodeProtectedHeader } from 'jose';
import { KeySet } from '@wireseal/core';
import { PrivateKeySet, PublicKeySet, hpkeClient, publicKeyJoseClient } from '@wireseal/http';
import { HttpCodec } from '@wireseal/http/codec';
import { createFetch } from '@wireseal/http/fetch';
import type { FetchLike } from '@wireseal/http/fetch';
import { POLICY, ROUTES, raw, recorder, serveExpress, serveFastify } from './support/servers.ts';
import type { Running } from './support/servers.ts';
import { SERVERS as PUBLIC_SERVERS, clientKeys, serverPublic } from './public-servers.ts';

const keys = KeySet.generate({ kid: 'dir-1' });
const rawKey = new Uint8Array(Buffer.from(keys.toJwks().keys[0]!.k, 'base64url'));
const PAN = '4111111111111111';
const doc = { card: { number: PAN, cvv: '737' }, customer: { ssn: '078-05-1120' }, amount: 5 };
const JOSE_H = { 'content-type': 'application/jose' };
const JSON_H = { 'content-type': 'application/json' };

/** docs/design.md's wsc, computed here without wireseal: sorted [key, value] pairs, compact JSON, SHA-256, 16 bytes, base64url. */
function wsc(context: Record<string, string>): string {
  const pairs = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(pairs), 'utf8').digest().subarray(0, 16).toString('base64url');
}


const clientRoutes = Object.fromEntries(Object.values(ROUTES).map(({ method, path, keys: _k, maxBodyBytes: _m, ...o }) => [`${method} ${path}`, o]));
const answer = (path: string, body: unknown): unknown => ({ ...(body as object), handledBy: path });

describe.each([
  ['express', serveExpress],
  ['fastify', serveFastify],
] as const)('%s: a sealed response is not a request', (_name, serve) => {
  let server: Running;
  let legacy: Running;
  beforeAll(async () => {
    server = await serve({ routes: ROUTES, adapter: { keys }, answer });
    legacy = await serve({ routes: ROUTES, adapter: { keys, bindDirection: false }, answer });
  });
  afterAll(async () => {
    await server.close();
    await legacy.close();
  });

  it('whole: the server\'s response token posted back as a request → 400 ERR_CONTEXT_MISMATCH, handler not run', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys, routes: clientRoutes, fetch: rec.fetch });
    const ok = await sfetch(`${server.url}/whole`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) });
    expect(ok.status).toBe(200);
    const responseToken = rec.wire[0]!.responseBody;
    const before = server.calls.get('/whole');
    const back = await raw(server.url, 'POST', '/whole', JOSE_H, responseToken);
    expect(back.status).toBe(400);
    expect(back.json()).toMatchObject({ status: 400, code: 'ERR_CONTEXT_MISMATCH' });
    expect(server.calls.get('/whole')).toBe(before);
    expect(server.failures.at(-1)).toEqual({ code: 'ERR_CONTEXT_MISMATCH', status: 400, phase: 'request' });
  });

  it('fields: the server\'s response document posted back as a request → 400 ERR_CONTEXT_MISMATCH, handler not run', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys, routes: clientRoutes, fetch: rec.fetch });
    expect((await sfetch(`${server.url}/fields`, { method: 'POST', body: JSON.stringify(doc) })).status).toBe(200);
    const responseDoc = rec.wire[0]!.responseBody;
    expect(JSON.parse(responseDoc).card.number).toMatch(/^eyJ/);
    const before = server.calls.get('/fields');
    const back = await raw(server.url, 'POST', '/fields', JSON_H, responseDoc);
    expect(back.status).toBe(400);
    expect(back.json()).toMatchObject({ status: 400, code: 'ERR_CONTEXT_MISMATCH' });
    expect(back.text).not.toContain(PAN);
    expect(server.calls.get('/fields')).toBe(before);
    // Also on an optional route (migrate mode opens tokens, so it checks them too).
    const optional = await raw(server.url, 'POST', '/fields-optional', JSON_H, responseDoc);
    expect(optional.json()).toMatchObject({ status: 400, code: 'ERR_CONTEXT_MISMATCH' });
  });

  it('jose opens both directions\' tokens with the key; their wsc is the documented digest of the route context plus the direction', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys, routes: clientRoutes, fetch: rec.fetch });
    await sfetch(`${server.url}/whole`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) });
    await sfetch(`${server.url}/fields-ctx`, { method: 'POST', body: JSON.stringify(doc) });
    const [whole, ctx] = rec.wire;

    const request = await compactDecrypt(whole!.requestBody!, rawKey);
    expect(request.protectedHeader.wsc).toBe(wsc({ 'wireseal-http': 'request' }));
    expect(request.protectedHeader.wsc).toBe('xZQWk6QFujCHcmOwRyEkCw');
    expect(JSON.parse(new TextDecoder().decode(request.plaintext))).toEqual(doc);
    const response = await compactDecrypt(whole!.responseBody, rawKey);
    expect(response.protectedHeader.wsc).toBe(wsc({ 'wireseal-http': 'response' }));
    expect(response.protectedHeader.wsc).toBe('nRXXKfnvOSi9cTv2uLwv0w');
    expect(JSON.parse(new TextDecoder().decode(response.plaintext))).toMatchObject(doc);

    // A route context: its pairs and the direction pair, sorted by key.
    const field = await compactDecrypt(JSON.parse(ctx!.requestBody!).card.number, rawKey);
    expect(field.protectedHeader).toMatchObject({ wsf: 'card.number', wsc: wsc({ route: 'POST /fields-ctx', 'wireseal-http': 'request' }) });
    expect(JSON.parse(new TextDecoder().decode(field.plaintext))).toBe(PAN);
    const back = decodeProtectedHeader(JSON.parse(ctx!.responseBody).card.number);
    expect(back.wsc).toBe(wsc({ route: 'POST /fields-ctx', direction: 'response', 'wireseal-http': 'response' }));
  });

  it('bindDirection: false on both sides gives the old unbound tokens (and so accepts a response posted back)', async () => {
    const rec = recorder();
    const old = createFetch({ keys, routes: clientRoutes, bindDirection: false, fetch: rec.fetch });
    const res = await old(`${legacy.url}/whole`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) });
    expect(await res.json()).toMatchObject({ ...doc, handledBy: '/whole' });
    expect(decodeProtectedHeader(rec.wire[0]!.requestBody!).wsc).toBeUndefined();
    expect(decodeProtectedHeader(rec.wire[0]!.responseBody).wsc).toBeUndefined();
    const back = await raw(legacy.url, 'POST', '/whole', JOSE_H, rec.wire[0]!.responseBody);
    expect(back.status).toBe(200); // the confusion bindDirection prevents
  });

  it('a mismatch between the sides fails closed with ERR_CONTEXT_MISMATCH, both ways', async () => {
    const old = createFetch({ keys, routes: clientRoutes, bindDirection: false });
    const before = server.calls.get('/whole');
    const res = await old(`${server.url}/whole`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('ERR_CONTEXT_MISMATCH');
    expect(server.calls.get('/whole')).toBe(before);
    const fresh = createFetch({ keys, routes: clientRoutes });
    const legacyBefore = legacy.calls.get('/whole');
    const refused = await fresh(`${legacy.url}/whole`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) });
    expect(refused.status).toBe(400);
    expect((await refused.json()).code).toBe('ERR_CONTEXT_MISMATCH');
    expect(legacy.calls.get('/whole')).toBe(legacyBefore);
  });
});

describe('fetch client: a request served back as a response is refused', () => {
  let echo: http.Server;
  let url = '';
  beforeAll(async () => {
    // Answers every request with its own body and content type (an attacker replaying the client's message).
    echo = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = { 'content-type': String(req.headers['content-type']) };
        for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('wireseal-')) headers[k] = String(v);
        res.writeHead(200, headers);
        res.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    echo.closeAllConnections();
    await new Promise((resolve) => echo.close(resolve));
  });

  it('whole and fields (shared key) → ERR_CONTEXT_MISMATCH', async () => {
    const whole = createFetch({ keys, mode: 'whole' });
    await expect(whole(`${url}/w`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) })).rejects.toMatchObject({ code: 'ERR_CONTEXT_MISMATCH' });
    const fields = createFetch({ keys, mode: 'fields', policy: POLICY });
    await expect(fields(`${url}/f`, { method: 'POST', body: JSON.stringify(doc) })).rejects.toMatchObject({ code: 'ERR_CONTEXT_MISMATCH' });
    // The old behaviour, for comparison: the client reads its own request as the answer.
    const old = createFetch({ keys, mode: 'whole', bindDirection: false });
    expect(await (await old(`${url}/w`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) })).json()).toEqual(doc);
  });

  it('public-key JWE: a request token (it names wsr) is not an answer, even to a client that holds the server\'s key pair', async () => {
    const both = PrivateKeySet.generate({ kid: 'shared-pair', type: 'X25519' });
    const sfetch = createFetch({ mode: 'whole', profiles: [publicKeyJoseClient({ keys: both, server: PublicKeySet.of(both) })] });
    await expect(sfetch(`${url}/p`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) })).rejects.toMatchObject({ code: 'ERR_CONTEXT_MISMATCH' });
  });

  it('HPKE: request and response info labels differ → ERR_DECRYPT, even with one key pair on both sides', async () => {
    const both = PrivateKeySet.generate({ kid: 'shared-pair', type: 'X25519' });
    const sfetch = createFetch({ mode: 'whole', profiles: [hpkeClient({ keys: both, server: PublicKeySet.of(both) })] });
    await expect(sfetch(`${url}/h`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) })).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
  });
});

describe.each(PUBLIC_SERVERS)('%s: public-key profiles keep the directions apart themselves', (_name, start) => {
  let server: Running;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(() => server.close());

  it('a JWE response posted back as a request → 400 ERR_KEY_UNKNOWN (it is encrypted to the client key and names no wsr)', async () => {
    const rec = recorder();
    const sfetch = createFetch({ mode: 'whole', profiles: [publicKeyJoseClient({ keys: clientKeys.ec, server: serverPublic })], fetch: rec.fetch });
    expect((await sfetch(`${server.url}/partner`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) })).status).toBe(200);
    const before = server.calls.get('/partner');
    const back = await raw(server.url, 'POST', '/partner', JOSE_H, rec.wire[0]!.responseBody);
    expect(back.json()).toMatchObject({ status: 400, code: 'ERR_KEY_UNKNOWN' });
    expect(server.calls.get('/partner')).toBe(before);
  });

  it('an HPKE response posted back as a request, even naming the client and no server kid → 400 ERR_DECRYPT', async () => {
    let response: { body: Buffer; headers: Headers } | undefined;
    const keep: FetchLike = async (input, init) => {
      const res = await globalThis.fetch(input, init);
      response = { body: Buffer.from(await res.clone().arrayBuffer()), headers: res.headers };
      return res;
    };
    const sfetch = createFetch({ mode: 'whole', profiles: [hpkeClient({ keys: clientKeys.x, server: serverPublic, serverKid: 'srv-x-2027' })], fetch: keep });
    expect((await sfetch(`${server.url}/partner`, { method: 'POST', headers: JSON_H, body: JSON.stringify(doc) })).status).toBe(200);
    const before = server.calls.get('/partner');
    const headers = {
      'content-type': 'application/octet-stream+hpke',
      'wireseal-kid': 'srv-x-2027',
      'wireseal-client': 'acme-x',
      'wireseal-iat': response!.headers.get('wireseal-iat')!,
      'wireseal-cty': response!.headers.get('wireseal-cty')!,
    };
    const back = await raw(server.url, 'POST', '/partner', headers, response!.body);
    expect(back.json()).toMatchObject({ status: 400, code: 'ERR_DECRYPT' });
    expect(server.calls.get('/partner')).toBe(before);
  });
});

describe('route options', () => {
  const codec = new HttpCodec({ keys });
  it('a fixed context may not set the direction entry itself (unless bindDirection is off)', () => {
    expect(() => codec.route({ mode: 'whole', context: { 'wireseal-http': 'response' } })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    expect(() => codec.route({ mode: 'fields', policy: POLICY, responseContext: { 'wireseal-http': 'request' } })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    expect(() => codec.route({ mode: 'whole', bindDirection: 'no' as never })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    expect(codec.route({ mode: 'whole', bindDirection: false, context: { 'wireseal-http': 'request' } }).bindDirection).toBe(false);
    expect(codec.route({ mode: 'whole' }).bindDirection).toBe(true);
    expect(new HttpCodec({ keys, bindDirection: false }).route({ mode: 'whole' }).bindDirection).toBe(false);
    expect(new HttpCodec({ keys, bindDirection: false }).route({ mode: 'whole', bindDirection: true }).bindDirection).toBe(true);
  });
});
