// Property tests of the two public-key profiles, without HTTP: any body and
// media type round-trips client → server → client, and every single-byte
// change to a sealed request (JWE token or HPKE body) is refused with a
// typed WiresealError, never opened and never an untyped crash.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WiresealError } from '@wireseal/core/errors';
import { hpke, hpkeClient, publicKeyJose, publicKeyJoseClient } from '@wireseal/http';
import type { PayloadProfile, ProfileContext } from '@wireseal/http';
import { clientKeys, registry, serverKeys, serverPublic, sharedKeys } from './public-servers.ts';

const ctx = (headers: Record<string, string> = {}, state?: unknown, response?: ProfileContext['response']): ProfileContext => ({
  keys: sharedKeys,
  context: undefined,
  alg: 'A256KW',
  head: { method: 'POST', path: '/p', headers },
  now: Date.now(),
  ...(state === undefined ? {} : { state }),
  ...(response ? { response } : {}),
});

const pairs: Array<[string, PayloadProfile, PayloadProfile]> = [
  ['JWE RSA-OAEP-256', publicKeyJoseClient({ keys: clientKeys.ec, server: serverPublic, serverKid: 'srv-rsa' }), publicKeyJose({ keys: serverKeys, clients: registry })],
  ['JWE ECDH-ES+A256KW (X25519)', publicKeyJoseClient({ keys: clientKeys.rsa, server: serverPublic, serverKid: 'srv-x-2027' }), publicKeyJose({ keys: serverKeys, clients: registry })],
  ['HPKE', hpkeClient({ keys: clientKeys.x, server: serverPublic, serverKid: 'srv-x-2026' }), hpke({ keys: serverKeys, clients: registry })],
];

const types = fc.constantFrom('application/json', 'text/plain; charset=utf-8', 'application/octet-stream', 'application/vnd.acme+json');
const bytesOf = (b: string | Uint8Array): Uint8Array => (typeof b === 'string' ? new TextEncoder().encode(b) : b);

describe.each(pairs)('%s', (_name, client, server) => {
  it('round-trips any body and media type, both directions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), types, types, async (body, reqType, resType) => {
        const req = await client.seal(body, reqType, ctx());
        const headers = { ...(req.headers ?? {}) };
        const opened = await server.open(req.body, ctx(headers));
        expect(Buffer.from(opened.plaintext).equals(Buffer.from(body))).toBe(true);
        expect(opened.contentType).toBe(reqType);
        const res = await server.seal(body, resType, ctx(headers, opened.state));
        const back = await client.open(res.body, ctx({}, req.state, { status: 200, headers: { ...(res.headers ?? {}) } }));
        expect(Buffer.from(back.plaintext).equals(Buffer.from(body))).toBe(true);
        expect(back.contentType).toBe(resType);
      }),
      { numRuns: 40 },
    );
  });

  it.skipIf(_name === 'HPKE')('refuses a ciphertext whose last character has its unused bits set (non-canonical base64url that jose would accept)', async () => {
    const req = await client.seal(new TextEncoder().encode('{"amount":12999}'), 'application/json', ctx());
    const token = typeof req.body === 'string' ? req.body : new TextDecoder().decode(req.body);
    const parts = token.split('.');
    const ct = parts[3]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const tail = ct.length % 4;
    if (tail === 0) return; // no unused bits at this length
    const v = alphabet.indexOf(ct[ct.length - 1]!);
    parts[3] = ct.slice(0, -1) + alphabet[v | 1]!;
    let err: unknown;
    try {
      await server.open(parts.join('.'), ctx({ ...(req.headers ?? {}) }));
    } catch (e) {
      err = e;
    }
    expect((err as WiresealError).code).toBe('ERR_TOKEN_MALFORMED');
  });

  it('refuses every single-byte change to a sealed request with a typed error', async () => {
    const req = await client.seal(new TextEncoder().encode('{"amount":12999}'), 'application/json', ctx());
    const sealed = bytesOf(req.body);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: sealed.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const changed = Uint8Array.from(sealed);
        changed[at]! ^= xor;
        const body = typeof req.body === 'string' ? new TextDecoder().decode(changed) : changed;
        let err: unknown;
        try {
          await server.open(body, ctx({ ...(req.headers ?? {}) }));
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(WiresealError);
        expect(['ERR_DECRYPT', 'ERR_TOKEN_MALFORMED', 'ERR_ALG_UNSUPPORTED', 'ERR_KEY_UNKNOWN', 'ERR_CONTEXT_MISMATCH', 'ERR_FIELD_MISMATCH']).toContain((err as WiresealError).code);
      }),
      { numRuns: 150 },
    );
  });
});
