// Interop with an independent HPKE implementation: Python's pyhpke
// (tooling/python/hpke_partner.py) seals a request to the server's X25519
// key with the documented info/aad, POSTs it to a real Express or Fastify
// server on loopback, and opens the response with the partner's key. pyhpke
// also replays the RFC 9180 vector for the suite (test/vectors/hpke).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PrivateKeySet } from '@wireseal/http';
import { SERVERS, clientKeys, serverPublic } from './public-servers.ts';
import type { PublicServer } from './public-servers.ts';
import { runPartner } from './public-python.ts';

const order = { order: 'PO-7731', amount: 12999, note: 'naïve café ✓' };
const serverX = (kid: string): string => String(serverPublic.publicJwks().keys.find((k) => k.kid === kid)!.x);
const client = (set: PrivateKeySet): { clientKid: string; clientD: string } => {
  const jwk = set.toPrivateJwks().keys[0]!;
  return { clientKid: String(jwk.kid), clientD: String(jwk.d) };
};
const now = (): number => Math.floor(Date.now() / 1000);

describe.each(SERVERS)('%s: pyhpke partner', (_name, start) => {
  let server: PublicServer;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(() => server.close());

  it.each(['srv-x-2027', 'srv-x-2026'])('pyhpke seals to %s; the server accepts it; pyhpke opens the answer', async (kid) => {
    const before = server.calls.get('/partner') ?? 0;
    const out = await runPartner('hpke_partner.py', ['request'], { url: `${server.url}/partner`, serverKid: kid, serverX: serverX(kid), ...client(clientKeys.x), body: order });
    expect(out.status).toBe(200);
    expect(out.contentType).toBe('application/octet-stream+hpke');
    expect(out.headers).toMatchObject({ 'wireseal-kid': 'acme-x', 'wireseal-cty': 'application/json; charset=utf-8' });
    expect(Math.abs(Number(out.headers['wireseal-iat']) - now())).toBeLessThanOrEqual(5);
    expect(out.body).toEqual({ handledBy: '/partner', got: order, receivedType: 'application/json', sealed: true, profile: 'hpke' });
    expect(server.calls.get('/partner')).toBe(before + 1);
  });

  it.each([
    ['no wireseal-iat', { iat: null }, 'ERR_STALE'],
    ['an expired wireseal-iat', { iat: now() - 600 }, 'ERR_STALE'],
    ['an unregistered client key', { clientKid: 'mallory' }, 'ERR_KEY_UNKNOWN'],
  ] as const)('refuses a pyhpke request with %s', async (_what, change, code) => {
    const before = server.calls.get('/partner') ?? 0;
    const out = await runPartner('hpke_partner.py', ['request'], {
      url: `${server.url}/partner`,
      serverKid: 'srv-x-2027',
      serverX: serverX('srv-x-2027'),
      ...client(clientKeys.beta),
      body: order,
      ...change,
    });
    expect(out.status).toBe(400);
    expect(out.problem).toMatchObject({ code, status: 400 });
    expect(server.calls.get('/partner') ?? 0).toBe(before);
  });
});

describe('RFC 9180 vector, replayed by pyhpke', () => {
  it('gives the published pkRm and enc and the same encryption and export digests as the vector file', async () => {
    const path = fileURLToPath(new URL('./vectors/hpke/rfc9180.json', import.meta.url));
    const vector = (JSON.parse(readFileSync(path, 'utf8')) as Array<Record<string, unknown>>).find(
      (v) => v.mode === 0 && v.kem_id === 0x20 && v.kdf_id === 1 && v.aead_id === 2,
    )!;
    const out = await runPartner('hpke_partner.py', ['vectors', path]);
    expect(out).toEqual({ pkRm: vector.pkRm, enc: vector.enc, encryptions: vector.encryptions_accumulated, exports: vector.exports_accumulated });
  });
});
