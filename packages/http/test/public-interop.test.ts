// Interop with an independent JOSE implementation: Python's jwcrypto
// (tooling/python/jwe_partner.py) encrypts a request to the server's public
// key, POSTs it to a real Express or Fastify server on loopback, and decrypts
// the response with the partner's private key. Also the refusals the issue
// names, made by jwcrypto: RSA1_5, no iat, an expired iat.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKeySet } from '@wireseal/http';
import { SERVERS, clientKeys, serverPublic } from './public-servers.ts';
import type { PublicServer } from './public-servers.ts';
import { runPartner } from './public-python.ts';

const order = { order: 'PO-7731', amount: 12999, note: 'naïve café ✓' };
const serverJwk = (kid: string): Record<string, unknown> => serverPublic.publicJwks().keys.find((k) => k.kid === kid)!;
const clientJwk = (set: PrivateKeySet): Record<string, unknown> => set.toPrivateJwks().keys[0]!;
const now = (): number => Math.floor(Date.now() / 1000);

describe.each(SERVERS)('%s: jwcrypto partner', (_name, start) => {
  let server: PublicServer;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(() => server.close());

  it.each([
    ['RSA-OAEP-256', 'srv-rsa', clientKeys.ec, 'ECDH-ES+A256KW'],
    ['ECDH-ES+A256KW', 'srv-ec', clientKeys.rsa, 'RSA-OAEP-256'],
    ['ECDH-ES+A256KW', 'srv-x-2027', clientKeys.x, 'ECDH-ES+A256KW'],
  ] as const)('%s to %s: the server accepts it, jwcrypto decrypts the answer (%#)', async (alg, kid, own, responseAlg) => {
    const before = server.calls.get('/partner') ?? 0;
    const out = await runPartner('jwe_partner.py', [], { url: `${server.url}/partner`, server: serverJwk(kid), alg, client: clientJwk(own), body: order });
    expect(out.status).toBe(200);
    expect(out.contentType).toBe('application/jose');
    expect(out.header).toMatchObject({ alg: responseAlg, enc: 'A256GCM', kid: own.kids[0], cty: 'application/json; charset=utf-8' });
    expect(Math.abs(out.header.iat - now())).toBeLessThanOrEqual(5);
    expect(out.body).toEqual({ handledBy: '/partner', got: order, receivedType: 'application/json', sealed: true, profile: 'jose-public' });
    expect(server.calls.get('/partner')).toBe(before + 1);
  });

  it.each([
    ['RSA1_5', { alg: 'RSA1_5' }, 'ERR_ALG_UNSUPPORTED'],
    ['no iat', { iat: null }, 'ERR_STALE'],
    ['an expired iat', { iat: now() - 600 }, 'ERR_STALE'],
    ['no wsr', { omitWsr: true }, 'ERR_KEY_UNKNOWN'],
  ] as const)('refuses a jwcrypto token with %s', async (_what, change, code) => {
    const before = server.calls.get('/partner') ?? 0;
    const out = await runPartner('jwe_partner.py', [], {
      url: `${server.url}/partner`,
      server: serverJwk('srv-rsa'),
      alg: 'RSA-OAEP-256',
      client: clientJwk(clientKeys.ec),
      body: order,
      ...change,
    });
    expect(out.status).toBe(400);
    expect(out.problem).toMatchObject({ code, status: 400 });
    expect(server.calls.get('/partner') ?? 0).toBe(before);
  });
});
