// Public-key JWE (application/jose with RSA-OAEP-256 / ECDH-ES+A256KW) on
// real Express and Fastify servers: round trips through the fetch client and
// through jose directly, strict per-route allow-lists next to the shared-key
// profile, and the bad-input matrix (status, code, handler not run, nothing
// sensitive echoed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constants, createCipheriv, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { contextDigest, seal } from '@wireseal/core';
import { publicKeyJoseClient, WIRESEAL_CLIENT_HEADER } from '@wireseal/http';
import { createFetch } from '@wireseal/http/fetch';
import { raw } from './support/servers.ts';
import type { RawResponse } from './support/servers.ts';
import { SERVERS, clientKeys, serverKeys, serverPublic, sharedKeys } from './public-servers.ts';
import type { PublicServer } from './public-servers.ts';

const now = (): number => Math.floor(Date.now() / 1000);
const JOSE_H = { 'content-type': 'application/jose' };
const order = { order: 'PO-7731', amount: 12999, card: { number: '4111111111111111' } };
const PAN = '4111111111111111';
const pubKey = (kid: string): KeyObject => serverPublic.entry(kid)!.publicKey;

/** A JWE made with jose directly, to a server key, with the given header (defaults: a valid request from acme-ec). */
async function jwe(kid: string, alg: 'RSA-OAEP-256' | 'ECDH-ES+A256KW', header: Record<string, unknown> = {}, body: unknown = order, to: KeyObject = pubKey(kid)): Promise<string> {
  const h = { alg, enc: 'A256GCM', kid, cty: 'application/json', iat: now(), wsr: 'acme-ec', ...header };
  for (const [k, v] of Object.entries(h)) if (v === undefined) delete (h as Record<string, unknown>)[k];
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(body))).setProtectedHeader(h as never).encrypt(to);
}

/** A genuine RSA1_5 JWE (jose 6 no longer makes them): PKCS #1 v1.5 key transport + A256GCM. */
function rsa15(kid: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'RSA1_5', enc: 'A256GCM', kid, cty: 'application/json', iat: now(), wsr: 'acme-ec' })).toString('base64url');
  const cek = randomBytes(32);
  const ek = publicEncrypt({ key: pubKey(kid), padding: constants.RSA_PKCS1_PADDING }, cek);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', cek, iv);
  c.setAAD(Buffer.from(header));
  const ct = Buffer.concat([c.update(JSON.stringify(order)), c.final()]);
  return [header, ek.toString('base64url'), iv.toString('base64url'), ct.toString('base64url'), c.getAuthTag().toString('base64url')].join('.');
}

/** A token with its protected header replaced (the rest unchanged): fails authentication, or earlier checks. */
function withHeader(token: string, header: Record<string, unknown>): string {
  const parts = token.split('.');
  parts[0] = Buffer.from(JSON.stringify(header)).toString('base64url');
  return parts.join('.');
}

function flip(token: string, segment: number, at = 0): string {
  const parts = token.split('.');
  const b = Buffer.from(parts[segment]!, 'base64url');
  b[at]! ^= 0x01;
  parts[segment] = b.toString('base64url');
  return parts.join('.');
}

async function openResponse(res: RawResponse, keys = clientKeys.ec): Promise<{ header: Record<string, unknown>; body: any }> {
  expect(res.headers['content-type']).toBe('application/jose');
  const header = decodeProtectedHeader(res.text) as Record<string, unknown>;
  const key = keys.entry(String(header.kid))!.privateKey!;
  const { plaintext } = await compactDecrypt(res.text, key);
  return { header, body: JSON.parse(new TextDecoder().decode(plaintext)) };
}

interface Case {
  name: string;
  path: string;
  body: () => Promise<string> | string;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const cases: Case[] = [
  { name: 'alg RSA1_5', path: '/partner', body: () => rsa15('srv-rsa'), status: 400, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'alg RSA-OAEP (SHA-1)', path: '/partner', body: async () => withHeader(await jwe('srv-rsa', 'RSA-OAEP-256'), { alg: 'RSA-OAEP', enc: 'A256GCM', kid: 'srv-rsa', iat: now(), wsr: 'acme-ec' }), status: 400, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'alg ECDH-ES (direct)', path: '/partner', body: async () => withHeader(await jwe('srv-ec', 'ECDH-ES+A256KW'), { alg: 'ECDH-ES', enc: 'A256GCM', kid: 'srv-ec', iat: now(), wsr: 'acme-ec' }), status: 400, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'a shared-key token (A256KW) on a public-key route', path: '/partner', body: () => seal(sharedKeys, JSON.stringify(order), { cty: 'application/json', iat: now() }), status: 400, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'a shared-key token (dir) on a public-key route', path: '/partner', body: () => seal(sharedKeys, JSON.stringify(order), { alg: 'dir', cty: 'application/json', iat: now() }), status: 400, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'a public-key token on a shared-key route', path: '/internal', body: () => jwe('srv-rsa', 'RSA-OAEP-256'), status: 400, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'ECDH-ES+A256KW on an RSA-only route', path: '/rsa-only', body: () => jwe('srv-ec', 'ECDH-ES+A256KW'), status: 400, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'enc A128GCM', path: '/partner', body: async () => withHeader(await jwe('srv-rsa', 'RSA-OAEP-256'), { alg: 'RSA-OAEP-256', enc: 'A128GCM', kid: 'srv-rsa', iat: now(), wsr: 'acme-ec' }), status: 400, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'zip', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', { zip: 'DEF' }), status: 400, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'crit', path: '/partner', body: async () => { const t = await jwe('srv-rsa', 'RSA-OAEP-256'); return withHeader(t, { ...decodeProtectedHeader(t), crit: ['wsx'], wsx: 1 }); }, status: 400, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'no iat', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', { iat: undefined }), status: 400, code: 'ERR_STALE' },
  { name: 'an expired iat (10 min old)', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', { iat: now() - 600 }), status: 400, code: 'ERR_STALE' },
  { name: 'an iat 10 min in the future', path: '/partner', body: () => jwe('srv-ec', 'ECDH-ES+A256KW', { iat: now() + 600 }), status: 400, code: 'ERR_STALE' },
  { name: 'an unknown server kid', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', { kid: 'srv-rsa-2019' }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'no kid', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', { kid: undefined }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'a kid naming a key of another type', path: '/partner', body: () => jwe('srv-ec', 'ECDH-ES+A256KW', { kid: 'srv-rsa' }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'no wsr (client key for the response)', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', { wsr: undefined }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'an unregistered wsr', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', { wsr: 'mallory' }), status: 400, code: 'ERR_KEY_UNKNOWN' },
  { name: 'encrypted to another RSA key under the server kid', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', {}, order, generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey), status: 400, code: 'ERR_DECRYPT' },
  { name: 'a flipped tag byte', path: '/partner', body: async () => flip(await jwe('srv-rsa', 'RSA-OAEP-256'), 4), status: 400, code: 'ERR_DECRYPT' },
  { name: 'a flipped ciphertext byte', path: '/partner', body: async () => flip(await jwe('srv-ec', 'ECDH-ES+A256KW'), 3, 5), status: 400, code: 'ERR_DECRYPT' },
  { name: 'a flipped RSA encrypted-key byte', path: '/partner', body: async () => flip(await jwe('srv-rsa', 'RSA-OAEP-256'), 1, 7), status: 400, code: 'ERR_DECRYPT' },
  {
    name: 'a header changed after sealing (iat moved)',
    path: '/partner',
    body: async () => {
      const t = await jwe('srv-x-2027', 'ECDH-ES+A256KW', { iat: now() - 60 });
      return withHeader(t, { ...decodeProtectedHeader(t), iat: now() });
    },
    status: 400,
    code: 'ERR_DECRYPT',
  },
  {
    name: 'a header changed after sealing (wsr redirected to another client)',
    path: '/partner',
    body: async () => {
      const t = await jwe('srv-rsa', 'RSA-OAEP-256');
      return withHeader(t, { ...decodeProtectedHeader(t), wsr: 'beta-x' });
    },
    status: 400,
    code: 'ERR_DECRYPT',
  },
  {
    name: 'an epk on the wrong curve',
    path: '/partner',
    body: async () => {
      const t = await jwe('srv-x-2027', 'ECDH-ES+A256KW');
      const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
      return withHeader(t, { ...decodeProtectedHeader(t), epk: p256 });
    },
    status: 400,
    code: 'ERR_TOKEN_MALFORMED',
  },
  { name: 'an encrypted key of the wrong length', path: '/partner', body: async () => { const p = (await jwe('srv-rsa', 'RSA-OAEP-256')).split('.'); p[1] = p[1]!.slice(0, 40); return p.join('.'); }, status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'three segments', path: '/partner', body: async () => (await jwe('srv-rsa', 'RSA-OAEP-256')).split('.').slice(0, 3).join('.'), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'garbage', path: '/partner', body: () => 'not a token at all', status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'a cty that is not a media type', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', { cty: 'text/html\r\nx-injected: 1' }), status: 400, code: 'ERR_TOKEN_MALFORMED' },
  { name: 'a field token (wsf)', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', { wsf: 'card.number' }), status: 400, code: 'ERR_FIELD_MISMATCH' },
  { name: 'no context where the route binds one', path: '/partner-ctx', body: () => jwe('srv-rsa', 'RSA-OAEP-256'), status: 400, code: 'ERR_CONTEXT_MISMATCH' },
  { name: 'a context where the route binds none', path: '/partner', body: () => jwe('srv-rsa', 'RSA-OAEP-256', { wsc: contextDigest({ route: 'partner-ctx' }) }), status: 400, code: 'ERR_CONTEXT_MISMATCH' },
  { name: 'text/plain on a required public-key route', path: '/partner', body: () => 'hello', headers: { 'content-type': 'text/plain' }, status: 415, code: 'ERR_ALG_UNSUPPORTED' },
  { name: 'an oversized body', path: '/partner-small', body: () => jwe('srv-rsa', 'RSA-OAEP-256', {}, { pad: 'x'.repeat(3000) }), status: 413, code: 'ERR_LIMIT_EXCEEDED' },
];

describe.each(SERVERS)('%s: public-key JWE', (_name, start) => {
  let server: PublicServer;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(() => server.close());

  it('fetch client: RSA-OAEP-256 request, response sealed to the registered P-256 client key', async () => {
    const wire: Array<{ req: Record<string, unknown>; res: Record<string, unknown> }> = [];
    const sfetch = createFetch({
      mode: 'whole', // no shared keys: the public-key profile carries its own
      profiles: [publicKeyJoseClient({ keys: clientKeys.ec, server: serverPublic, serverKid: 'srv-rsa' })],
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        const text = await res.clone().text();
        wire.push({ req: decodeProtectedHeader(String(init?.body)) as never, res: decodeProtectedHeader(text) as never });
        return res;
      },
    });
    const res = await sfetch(`${server.url}/partner`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ handledBy: '/partner', got: order, receivedType: 'application/json', sealed: true, profile: 'jose-public' });
    expect(wire[0]!.req).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'srv-rsa', cty: 'application/json', wsr: 'acme-ec' });
    expect(wire[0]!.res).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'acme-ec', cty: 'application/json; charset=utf-8', epk: { kty: 'EC', crv: 'P-256' } });
  });

  it('fetch client: ECDH-ES+A256KW to the X25519 and P-256 server keys; responses to RSA and X25519 client keys', async () => {
    for (const [serverKid, own] of [['srv-x-2027', clientKeys.rsa], ['srv-ec', clientKeys.x], ['srv-x-2026', clientKeys.ec]] as const) {
      const sfetch = createFetch({ mode: 'whole', profiles: [publicKeyJoseClient({ keys: own, server: serverPublic, serverKid })] });
      const res = await sfetch(`${server.url}/partner`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ serverKid }) });
      expect(res.status, serverKid).toBe(200);
      expect((await res.json()).got).toEqual({ serverKid });
    }
  });

  it('jose directly: the server opens its token and the response opens with the client key; the handler runs once', async () => {
    const before = server.calls.get('/partner') ?? 0;
    const res = await raw(server.url, 'POST', '/partner', JOSE_H, await jwe('srv-rsa', 'RSA-OAEP-256'));
    expect(res.status).toBe(200);
    const { header, body } = await openResponse(res);
    expect(header).toMatchObject({ kid: 'acme-ec', alg: 'ECDH-ES+A256KW' });
    expect(Math.abs((header.iat as number) - now())).toBeLessThanOrEqual(2);
    expect(body).toEqual({ handledBy: '/partner', got: order, receivedType: 'application/json', sealed: true, profile: 'jose-public' });
    expect(res.text).not.toContain(PAN);
    expect(server.calls.get('/partner')).toBe(before + 1);
  });

  it('a route that lists both profiles accepts both, and tells the handler which', async () => {
    // Shared-key tokens bind the direction (bindDirection, the default); public-key ones need not.
    const a = await raw(server.url, 'POST', '/mixed', JOSE_H, seal(sharedKeys, JSON.stringify(order), { cty: 'application/json', iat: now(), context: { 'wireseal-http': 'request' } }));
    expect(a.status).toBe(200);
    const opened = (await import('@wireseal/core')).open(sharedKeys, a.text, { context: { 'wireseal-http': 'response' } });
    expect(JSON.parse(new TextDecoder().decode(opened))).toMatchObject({ got: order, profile: null });
    const b = await raw(server.url, 'POST', '/mixed', JOSE_H, await jwe('srv-ec', 'ECDH-ES+A256KW'));
    expect(b.status).toBe(200);
    expect((await openResponse(b)).body).toMatchObject({ got: order, profile: 'jose-public' });
  });

  it('context binding on both directions', async () => {
    const res = await raw(server.url, 'POST', '/partner-ctx', JOSE_H, await jwe('srv-rsa', 'RSA-OAEP-256', { wsc: contextDigest({ route: 'partner-ctx' }) }));
    expect(res.status).toBe(200);
    expect((await openResponse(res)).header.wsc).toBe(contextDigest({ route: 'partner-ctx', dir: 'response' }));
  });

  it('optional route: plaintext passes; plaintext asking for application/jose with a client key id gets a sealed answer', async () => {
    const plain = await raw(server.url, 'POST', '/partner-optional', { 'content-type': 'application/json' }, JSON.stringify(order));
    expect(plain.status).toBe(200);
    expect(plain.json()).toMatchObject({ got: order, sealed: false });
    const asked = await raw(server.url, 'POST', '/partner-optional', { 'content-type': 'application/json', accept: 'application/jose', [WIRESEAL_CLIENT_HEADER]: 'acme-ec' }, JSON.stringify(order));
    expect(asked.status).toBe(200);
    expect((await openResponse(asked)).body).toMatchObject({ got: order, sealed: false });
    const sealed = await raw(server.url, 'POST', '/partner-optional', JOSE_H, await jwe('srv-rsa', 'RSA-OAEP-256'));
    expect((await openResponse(sealed)).body).toMatchObject({ got: order, sealed: true });
  });

  it('GET with the fetch client: the client key id travels in wireseal-client and the answer is sealed to it', async () => {
    const sfetch = createFetch({ mode: 'whole', profiles: [publicKeyJoseClient({ keys: clientKeys.x, server: serverPublic })] });
    const res = await sfetch(`${server.url}/partner-report`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ handledBy: '/partner-report', sealed: false });
  });

  it('a response that cannot be sealed (unregistered client) is a 500 problem, never plaintext', async () => {
    const res = await raw(server.url, 'GET', '/partner-report', { accept: 'application/jose', [WIRESEAL_CLIENT_HEADER]: 'mallory' });
    expect(res.status).toBe(500);
    expect(res.json()).toMatchObject({ code: 'ERR_KEY_UNKNOWN' });
    expect(res.text).not.toContain('partner-report');
  });

  it('a replayed token is refused and the handler runs once', async () => {
    const before = server.calls.get('/partner') ?? 0;
    const token = await jwe('srv-rsa', 'RSA-OAEP-256');
    expect((await raw(server.url, 'POST', '/partner', JOSE_H, token)).status).toBe(200);
    const again = await raw(server.url, 'POST', '/partner', JOSE_H, token);
    expect(again.status).toBe(400);
    expect(again.json()).toMatchObject({ code: 'ERR_REPLAY' });
    expect(server.calls.get('/partner')).toBe(before + 1);
  });

  it('415 names the media types of the route, not of the adapter', async () => {
    const res = await raw(server.url, 'POST', '/partner', { 'content-type': 'text/plain' }, 'hello');
    expect(res.json().detail).toContain('application/jose or application/octet-stream+hpke');
  });

  it.each(cases)('$name → $status $code', async (c) => {
    const before = server.calls.get(c.path) ?? 0;
    const failuresBefore = server.failures.length;
    const res = await raw(server.url, 'POST', c.path, c.headers ?? JOSE_H, await c.body());
    expect(res.status).toBe(c.status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem).toMatchObject({ status: c.status, code: c.code, type: `urn:wireseal:error:${c.code}` });
    expect(problem.detail).toMatch(/^[\x20-\x7e]{1,300}$/);
    for (const s of ['srv-rsa-2019', 'mallory', PAN, 'srv-x-2026']) expect(res.text).not.toContain(s);
    expect(res.headers['x-injected']).toBeUndefined();
    expect(server.calls.get(c.path) ?? 0).toBe(before);
    expect(server.failures.slice(failuresBefore)).toEqual([{ code: c.code, status: c.status, phase: 'request' }]);
  });
});

describe('configuration', () => {
  it('public-key profiles are opt-in: a route that names none does not accept them', async () => {
    const { HttpCodec } = await import('@wireseal/http/codec');
    const { pub } = await import('./public-servers.ts');
    const codec = new HttpCodec({ keys: sharedKeys, profiles: [pub] });
    expect(() => codec.route({ mode: 'whole' })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    expect(() => codec.route({ mode: 'fields', policy: ['a'], profiles: [pub] })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    const other = (await import('@wireseal/http')).publicKeyJose({ keys: serverKeys, clients: serverPublic });
    expect(() => codec.route({ mode: 'whole', profiles: [other] })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    expect(codec.route({ mode: 'whole', profiles: [pub] }).profiles).toEqual([pub]);
  });

  it('shared keys are needed only where a profile or fields mode uses them', async () => {
    const { HttpCodec } = await import('@wireseal/http/codec');
    const { sharedKeyJose, publicKeyJoseClient: client } = await import('@wireseal/http');
    const { pub, hp } = await import('./public-servers.ts');
    const keyless = new HttpCodec({ profiles: [sharedKeyJose(), pub, hp] });
    expect(keyless.route({ mode: 'whole', profiles: [pub, hp] }).profiles).toEqual([pub, hp]);
    expect(() => keyless.route({ mode: 'whole' })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    expect(() => keyless.route({ mode: 'fields', policy: ['a'] })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    expect(() => createFetch({ mode: 'whole' })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    expect(typeof createFetch({ mode: 'whole', profiles: [client({ keys: clientKeys.ec, server: serverPublic })] })).toBe('function');
  });
});
