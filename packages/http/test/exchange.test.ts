// The exchange without HTTP: a client codec's exchange seals a request that a
// server codec's exchange opens, and the other way round for the answer; both
// sides apply the same document limits, because they run the same code.
import { describe, expect, it } from 'vitest';
import { KeySet } from '@wireseal/core';
import { sharedKeyJose } from '@wireseal/http';
import { HttpCodec } from '@wireseal/http/codec';
import type { RequestHead } from '@wireseal/http/codec';

const keys = KeySet.generate({ kid: 'exchange-1' });
const TOKEN = /^eyJ[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/;
const head = (headers: Record<string, string>): RequestHead => ({ method: 'POST', path: '/pay', headers });
const text = (body: string | Uint8Array): string => (typeof body === 'string' ? body : new TextDecoder().decode(body));

describe('exchange', () => {
  const server = new HttpCodec({ keys });
  const client = new HttpCodec({ keys }, 'client');

  it('fields: the client seals, the server opens and seals its answer, the client opens it', async () => {
    const options = { mode: 'fields', policy: ['card.number'] } as const;
    const out = client.exchange(client.route(options), head({ 'content-type': 'application/json' }));
    expect(out.side).toBe('client');
    const request = await out.seal(JSON.stringify({ card: { number: '4111' }, amount: 3 }), 'application/json');
    expect(JSON.parse(text(request!.body)).card.number).toMatch(TOKEN);

    const inbound = server.exchange(server.route(options), head({ 'content-type': request!.contentType }));
    expect(inbound.inspect()).toMatchObject({ action: 'fields' });
    expect((await inbound.open(request!.body))!.body).toEqual({ card: { number: '4111' }, amount: 3 });
    expect(inbound.info).toMatchObject({ mode: 'fields', sealed: true, decrypted: ['card.number'] });
    expect(inbound.plan.kind).toBe('fields');
    const response = await inbound.seal('{"card":{"number":"4111"}}', 'application/json', 200);
    expect(JSON.parse(text(response!.body)).card.number).toMatch(TOKEN);

    expect(out.inspect({ status: 200, headers: { 'content-type': response!.contentType } })).toMatchObject({ action: 'fields' });
    expect((await out.open(response!.body))!.body).toEqual({ card: { number: '4111' } });
  });

  it('whole: the profile state of the sealed request comes back to open the answer', async () => {
    const out = client.exchange(client.route({ mode: 'whole' }), head({ 'content-type': 'application/json' }));
    const request = await out.seal('{"n":1}', 'application/json');
    expect(request!.contentType).toBe('application/jose');
    const inbound = server.exchange(server.route({ mode: 'whole' }), head({ 'content-type': 'application/jose' }));
    expect((await inbound.open(request!.body))!.body).toEqual({ n: 1 });
    const response = await inbound.seal('{"ok":true}', 'application/json', 200);
    expect(out.inspect({ status: 200, headers: { 'content-type': response!.contentType } })).toMatchObject({ action: 'payload' });
    const opened = await out.open(response!.body);
    expect(text(opened!.plaintext!)).toBe('{"ok":true}');
    expect(opened!.info.contentType).toBe('application/json');
  });

  it('a required route refuses an unsealed 2xx answer on the client and a non-JSON 2xx body on the server', async () => {
    const route = client.route({ mode: 'fields', policy: ['a'] });
    const out = client.exchange(route, head({}));
    expect(out.inspect({ status: 200, headers: { 'content-type': 'text/plain' } })).toMatchObject({ action: 'unsealed' });
    await expect(out.open('hello')).rejects.toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
    expect(out.inspect({ status: 404, headers: { 'content-type': 'application/problem+json' } })).toMatchObject({ action: 'pass' });
    await expect(out.seal('hello', 'text/plain')).rejects.toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });
    const inbound = server.exchange(server.route({ mode: 'fields', policy: ['a'] }), head({}));
    await expect(inbound.seal('hello', 'text/plain', 200)).rejects.toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });
    expect(inbound.problem(new Error('x'), 'response').status).toBe(500);
  });

  it('both sides apply the same document limits', async () => {
    const limits = { documentLimits: { maxDepth: 3 } };
    const deep = JSON.stringify({ a: { b: { c: { d: 1 } } } });
    const limitedServer = new HttpCodec({ keys, ...limits });
    const limitedClient = new HttpCodec({ keys, ...limits }, 'client');
    const options = { mode: 'fields', policy: ['a'] } as const;
    const inbound = limitedServer.exchange(limitedServer.route(options), head({ 'content-type': 'application/json' }));
    await expect(inbound.seal(deep, 'application/json', 200)).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    const out = limitedClient.exchange(limitedClient.route(options), head({}));
    await expect(out.seal(deep, 'application/json')).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
  });

  it('a client route may name profiles of its own; a client whole route without any profile is refused', () => {
    const own = sharedKeyJose();
    expect(client.route({ mode: 'whole', profiles: [own] }).profiles).toEqual([own]);
    expect(() => server.route({ mode: 'whole', profiles: [own] })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    expect(() => new HttpCodec({ keys, profiles: [] }, 'client').route({ mode: 'whole' })).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
  });
});

describe('data-key reuse (on by default)', () => {
  const ek = (token: string): string => token.split('.')[1]!;
  const sealTwice = async (codec: HttpCodec, mode: 'fields' | 'whole'): Promise<string[]> => {
    const route = codec.route(mode === 'fields' ? { mode, policy: ['card.number'] } : { mode });
    const out: string[] = [];
    for (let i = 0; i < 2; i++) {
      const x = codec.exchange(route, head({ 'content-type': 'application/json' }));
      const sealed = await x.seal(JSON.stringify({ card: { number: `4111${i}` } }), 'application/json');
      out.push(mode === 'fields' ? (JSON.parse(text(sealed!.body)) as { card: { number: string } }).card.number : text(sealed!.body));
    }
    return out;
  };

  it('messages share one wrapped content key by default; false gives one per message; each opens on its own', async () => {
    const k = KeySet.generate({ kid: 'reuse-http' });
    const on = new HttpCodec({ keys: k }, 'client');
    const off = new HttpCodec({ keys: k, reuseContentKey: false }, 'client');
    for (const mode of ['fields', 'whole'] as const) {
      const [a, b] = await sealTwice(on, mode);
      expect(ek(a!)).toBe(ek(b!));
      const [c, d] = await sealTwice(off, mode);
      expect(ek(c!)).not.toBe(ek(d!));
    }
    const server = new HttpCodec({ keys: k });
    const [first, second] = await sealTwice(on, 'whole');
    for (const token of [first!, second!]) {
      const inbound = server.exchange(server.route({ mode: 'whole' }), head({ 'content-type': 'application/jose' }));
      expect((await inbound.open(token))!.body).toMatchObject({ card: {} });
    }
  });

  it('a bad bound is refused when the codec is made (ERR_ARGUMENT_INVALID)', () => {
    expect(() => new HttpCodec({ keys, reuseContentKey: { maxAgeMs: -1 } })).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT_INVALID' }));
  });
});
