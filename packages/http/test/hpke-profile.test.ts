// The HPKE profile (application/octet-stream+hpke) on real Express and
// Fastify servers: round trips through the fetch client and through
// @hpke/core (an independent implementation, building the body, info and
// aad from the documented format), key rotation by wireseal-kid, plaintext
// coexistence on optional routes, and the bad-input matrix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { contextDigest } from '@wireseal/core';
import { HPKE_TYPE, hpkeClient } from '@wireseal/http';
import { createFetch } from '@wireseal/http/fetch';
import { raw } from './support/servers.ts';
import type { RawResponse } from './support/servers.ts';
import { SERVERS, clientKeys, serverPublic } from './public-servers.ts';
import type { PublicServer } from './public-servers.ts';

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
const te = new TextEncoder();
const ab = (b: Uint8Array): ArrayBuffer => new Uint8Array(b).buffer;
const now = (): number => Math.floor(Date.now() / 1000);
const order = { order: 'PO-7731', amount: 12999, card: { number: '4111111111111111' } };
const PAN = '4111111111111111';

const raw32 = (jwkX: unknown): Uint8Array => Buffer.from(String(jwkX), 'base64url');
const serverRaw = (kid: string): Uint8Array => raw32(serverPublic.publicJwks().keys.find((k) => k.kid === kid)!.x);
const ownPrivate = (set: typeof clientKeys.x): Uint8Array => raw32(set.toPrivateJwks().keys[0]!.d);

interface Req {
  body: Buffer;
  headers: Record<string, string>;
  enc: Uint8Array;
}

/** A request built with @hpke/core from the documented format (not with wireseal's code). */
async function hpkeRequest(opts: {
  serverKid?: string;
  sendKid?: string | null;
  client?: string | null;
  infoClient?: string;
  iat?: number | string | null;
  aadIat?: string;
  cty?: string | null;
  aadCty?: string;
  wsc?: string;
  body?: unknown;
}): Promise<Req> {
  const serverKid = opts.serverKid ?? 'srv-x-2027';
  const client = opts.client === undefined ? 'acme-x' : opts.client;
  const iat = opts.iat === undefined ? String(now()) : opts.iat === null ? null : String(opts.iat);
  const cty = opts.cty === undefined ? 'application/json' : opts.cty;
  const info = te.encode(`wireseal-hpke/1\nrequest\n${serverKid}\n${opts.infoClient ?? client ?? ''}`);
  const aad = te.encode(`${opts.aadIat ?? iat ?? ''}\n${opts.aadCty ?? cty ?? ''}\n${opts.wsc ?? ''}`);
  const pk = await suite.kem.deserializePublicKey(ab(serverRaw(serverKid)));
  const { ct, enc } = await suite.seal({ recipientPublicKey: pk, info: ab(info) }, ab(te.encode(JSON.stringify(opts.body ?? order))), ab(aad));
  const headers: Record<string, string> = { 'content-type': HPKE_TYPE, accept: HPKE_TYPE };
  const sendKid = opts.sendKid === undefined ? serverKid : opts.sendKid;
  if (sendKid !== null) headers['wireseal-kid'] = sendKid;
  if (client !== null) headers['wireseal-client'] = client;
  if (iat !== null) headers['wireseal-iat'] = iat;
  if (cty !== null) headers['wireseal-cty'] = cty;
  return { body: Buffer.concat([Buffer.from(enc), Buffer.from(ct)]), headers, enc: new Uint8Array(enc) };
}

/** Opens a response with @hpke/core from the documented format. */
async function openHpke(res: RawResponse, requestEnc: Uint8Array | null, own = clientKeys.x, wsc = ''): Promise<any> {
  expect(res.headers['content-type']).toBe(HPKE_TYPE);
  const kid = String(res.headers['wireseal-kid']);
  const iat = String(res.headers['wireseal-iat']);
  const cty = String(res.headers['wireseal-cty'] ?? '');
  expect(Math.abs(Number(iat) - now())).toBeLessThanOrEqual(2);
  const info = te.encode(`wireseal-hpke/1\nresponse\n${kid}`);
  const aad = te.encode(`${iat}\n${cty}\n${wsc}\n${requestEnc ? Buffer.from(requestEnc).toString('base64url') : ''}`);
  const sk = await suite.kem.importKey('raw', ab(ownPrivate(own)), false);
  const pt = await suite.open({ recipientKey: sk, enc: ab(res.bytes.subarray(0, 32)), info: ab(info) }, ab(res.bytes.subarray(32)), ab(aad));
  return JSON.parse(new TextDecoder().decode(pt));
}

interface Case {
  name: string;
  path?: string;
  req: () => Promise<Req>;
  mutate?: (r: Req) => void;
  status: number;
  code: string;
}

const cases: Case[] = [
  { name: 'a body shorter than enc + tag', req: () => hpkeRequest({}), mutate: (r) => (r.body = r.body.subarray(0, 40)), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'an empty body', req: () => hpkeRequest({}), mutate: (r) => (r.body = Buffer.alloc(0)), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'no wireseal-iat', req: () => hpkeRequest({ iat: null, aadIat: String(now()) }), status: 400, code: 'ERR_STALE' },
  { name: 'an expired wireseal-iat (10 min old)', req: () => hpkeRequest({ iat: now() - 600 }), status: 400, code: 'ERR_STALE' },
  { name: 'a wireseal-iat 10 min in the future', req: () => hpkeRequest({ iat: now() + 600 }), status: 400, code: 'ERR_STALE' },
  { name: 'a wireseal-iat that is not a number', req: () => hpkeRequest({ iat: '1e9' }), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'wireseal-iat changed after sealing', req: () => hpkeRequest({ iat: now() - 30, aadIat: String(now()) }), status: 400, code: 'ERR_DECRYPT' },
  { name: 'wireseal-cty changed after sealing', req: () => hpkeRequest({ cty: 'text/plain', aadCty: 'application/json' }), status: 400, code: 'ERR_DECRYPT' },
  { name: 'a wireseal-cty that is not a media type', req: () => hpkeRequest({ cty: 'not a type' }), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'no wireseal-client', req: () => hpkeRequest({ client: null }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'an unregistered wireseal-client', req: () => hpkeRequest({ client: 'mallory' }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'a wireseal-client whose key is RSA (cannot receive HPKE)', req: () => hpkeRequest({ client: 'acme-rsa' }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'wireseal-client changed after sealing (response redirected)', req: () => hpkeRequest({ client: 'beta-x', infoClient: 'acme-x' }), status: 400, code: 'ERR_DECRYPT' },
  { name: 'an unknown wireseal-kid', req: () => hpkeRequest({ sendKid: 'srv-x-2019' }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'a wireseal-kid naming a non-HPKE (RSA) key', req: () => hpkeRequest({ sendKid: 'srv-rsa' }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'no wireseal-kid while the server holds two HPKE keys', req: () => hpkeRequest({ sendKid: null }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'encrypted to the other HPKE key than wireseal-kid names', req: () => hpkeRequest({ serverKid: 'srv-x-2026', sendKid: 'srv-x-2027' }), status: 400, code: 'ERR_DECRYPT' },
  { name: 'a flipped ciphertext byte', req: () => hpkeRequest({}), mutate: (r) => (r.body[40]! ^= 1), status: 400, code: 'ERR_DECRYPT' },
  { name: 'a flipped tag byte', req: () => hpkeRequest({}), mutate: (r) => (r.body[r.body.length - 1]! ^= 1), status: 400, code: 'ERR_DECRYPT' },
  { name: 'a flipped enc byte', req: () => hpkeRequest({}), mutate: (r) => (r.body[3]! ^= 1), status: 400, code: 'ERR_DECRYPT' },
  { name: 'an all-zero enc (small-order point)', req: () => hpkeRequest({}), mutate: (r) => r.body.fill(0, 0, 32), status: 400, code: 'ERR_DECRYPT' },
  { name: 'no context where the route binds one', path: '/partner-ctx', req: () => hpkeRequest({}), status: 400, code: 'ERR_DECRYPT' },
  { name: 'an oversized body', path: '/partner-small', req: () => hpkeRequest({ body: { pad: 'x'.repeat(3000) } }), status: 413, code: 'ERR_LIMIT_EXCEEDED' },
  { name: 'an HPKE body on a shared-key route', path: '/internal', req: () => hpkeRequest({}), status: 415, code: 'ERR_ALG_UNSUPPORTED' },
];

describe.each(SERVERS)('%s: HPKE', (_name, start) => {
  let server: PublicServer;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(() => server.close());

  it('@hpke/core request → server → response that @hpke/core opens, bound to the request', async () => {
    const before = server.calls.get('/partner') ?? 0;
    const req = await hpkeRequest({});
    const res = await raw(server.url, 'POST', '/partner', req.headers, req.body);
    expect(res.status).toBe(200);
    expect(res.headers['wireseal-kid']).toBe('acme-x');
    expect(res.headers['wireseal-cty']).toBe('application/json; charset=utf-8');
    expect(res.bytes.includes(Buffer.from(PAN))).toBe(false);
    expect(await openHpke(res, req.enc)).toEqual({ handledBy: '/partner', got: order, receivedType: 'application/json', sealed: true, profile: 'hpke' });
    // Bound to this request: opening with another request's enc fails.
    await expect(openHpke(res, (await hpkeRequest({})).enc)).rejects.toThrow();
    expect(server.calls.get('/partner')).toBe(before + 1);
  });

  it('rotation: both server HPKE keys are accepted by wireseal-kid', async () => {
    for (const kid of ['srv-x-2026', 'srv-x-2027']) {
      const req = await hpkeRequest({ serverKid: kid });
      const res = await raw(server.url, 'POST', '/partner', req.headers, req.body);
      expect(res.status, kid).toBe(200);
      expect((await openHpke(res, req.enc)).got).toEqual(order);
    }
  });

  it('fetch client round trip (wireseal code both ends), JSON and binary bodies', async () => {
    const sfetch = createFetch({ mode: 'whole', profiles: [hpkeClient({ keys: clientKeys.beta, server: serverPublic, serverKid: 'srv-x-2026' })] });
    const res = await sfetch(`${server.url}/partner`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ handledBy: '/partner', got: order, receivedType: 'application/json', sealed: true, profile: 'hpke' });
    const bytes = new Uint8Array(256).map((_, i) => i);
    const bin = await sfetch(`${server.url}/partner`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    expect((await bin.json()).got).toEqual({ bytes: Buffer.from(bytes).toString('base64') });
  });

  it('fetch client GET: wireseal-client announced, answer sealed to it', async () => {
    const sfetch = createFetch({ mode: 'whole', profiles: [hpkeClient({ keys: clientKeys.x, server: serverPublic })] });
    const res = await sfetch(`${server.url}/partner-report`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ handledBy: '/partner-report', sealed: false });
  });

  it('context binding: the route context is part of the aad both ways', async () => {
    const wsc = contextDigest({ route: 'partner-ctx' });
    const req = await hpkeRequest({ wsc });
    const res = await raw(server.url, 'POST', '/partner-ctx', req.headers, req.body);
    expect(res.status).toBe(200);
    expect((await openHpke(res, req.enc, clientKeys.x, contextDigest({ route: 'partner-ctx', dir: 'response' }))).got).toEqual(order);
  });

  it('optional route: plaintext and HPKE coexist; plaintext + Accept + wireseal-client gets a sealed answer', async () => {
    const plain = await raw(server.url, 'POST', '/partner-optional', { 'content-type': 'application/json' }, JSON.stringify(order));
    expect(plain.status).toBe(200);
    expect(plain.json()).toMatchObject({ got: order, sealed: false });
    const asked = await raw(server.url, 'POST', '/partner-optional', { 'content-type': 'application/json', accept: HPKE_TYPE, 'wireseal-client': 'acme-x' }, JSON.stringify(order));
    expect(await openHpke(asked, null)).toMatchObject({ got: order, sealed: false });
    const req = await hpkeRequest({});
    const sealed = await raw(server.url, 'POST', '/partner-optional', req.headers, req.body);
    expect(await openHpke(sealed, req.enc)).toMatchObject({ got: order, sealed: true });
  });

  it('a replayed body is refused and the handler runs once', async () => {
    const before = server.calls.get('/partner') ?? 0;
    const req = await hpkeRequest({});
    expect((await raw(server.url, 'POST', '/partner', req.headers, req.body)).status).toBe(200);
    const again = await raw(server.url, 'POST', '/partner', req.headers, req.body);
    expect(again.status).toBe(400);
    expect(again.json()).toMatchObject({ code: 'ERR_REPLAY' });
    expect(server.calls.get('/partner')).toBe(before + 1);
  });

  it.each(cases)('$name → $status $code', async (c) => {
    const path = c.path ?? '/partner';
    const req = await c.req();
    c.mutate?.(req);
    const before = server.calls.get(path) ?? 0;
    const failuresBefore = server.failures.length;
    const res = await raw(server.url, 'POST', path, req.headers, req.body);
    expect(res.status).toBe(c.status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: c.status, code: c.code });
    expect(res.json().detail).toMatch(/^[\x20-\x7e]{1,300}$/);
    for (const s of ['srv-x-2019', 'mallory', PAN]) expect(res.text).not.toContain(s);
    expect(server.calls.get(path) ?? 0).toBe(before);
    expect(server.failures.slice(failuresBefore)).toEqual([{ code: c.code, status: c.status, phase: 'request' }]);
  });
});
