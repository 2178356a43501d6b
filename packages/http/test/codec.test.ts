import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FieldPolicy, KeySet, encryptFields, seal } from '@wireseal/core';
import { KeyUnknownError, PlaintextFieldError, WiresealError } from '@wireseal/core/errors';
import {
  MemoryReplayStore,
  UnsupportedMediaTypeError,
  problemFor,
  sharedKeyJose,
} from '@wireseal/http';
import type { RequestHead } from '@wireseal/http';
import { HttpCodec } from '@wireseal/http/codec';
import { accepts, essence, mediaTypeFromCty } from '../src/media/media.ts';

const keys = KeySet.generate({ kid: 'k-2026-11' });
const head = (headers: Record<string, string> = {}, method = 'POST', path = '/x'): RequestHead => ({ method, path, headers });
const now = () => Math.floor(Date.now() / 1000);
/** What a client's tokens are bound to by default (bindDirection). */
const REQ = { 'wireseal-http': 'request' };

describe('media helpers', () => {
  it('reads essences, Accept lists and cty values', () => {
    expect(essence(' Application/JSON ; charset=utf-8')).toBe('application/json');
    expect(essence('')).toBeUndefined();
    expect(accepts('text/html, application/jose;q=0.5', 'application/jose')).toBe(true);
    expect(accepts('application/jose;q=0', 'application/jose')).toBe(false);
    expect(accepts('*/*', 'application/jose')).toBe(false);
    expect(mediaTypeFromCty('json')).toBe('application/json');
    expect(mediaTypeFromCty('text/plain; charset=utf-8')).toBe('text/plain; charset=utf-8');
    expect(mediaTypeFromCty('text/html\r\nx-injected: 1')).toBeUndefined();
    expect(mediaTypeFromCty('a'.repeat(300) + '/b')).toBeUndefined();
  });
});

describe('problem details', () => {
  it('maps codes to statuses and fixed titles', () => {
    const cases: Array<[WiresealError, number]> = [
      [new WiresealError('ERR_TOKEN_MALFORMED', 'x'), 400],
      [new WiresealError('ERR_DECRYPT', 'x'), 400],
      [new WiresealError('ERR_STALE', 'x'), 400],
      [new WiresealError('ERR_REPLAY', 'x'), 400],
      [new WiresealError('ERR_FIELD_MISMATCH', 'x'), 400],
      [new WiresealError('ERR_CONTEXT_MISMATCH', 'x'), 400],
      [new WiresealError('ERR_ALG_UNSUPPORTED', 'x'), 400],
      [new UnsupportedMediaTypeError('x', []), 415],
      [new PlaintextFieldError('a', 'x'), 422],
      [new WiresealError('ERR_POLICY_INVALID', 'x'), 422],
      [new WiresealError('ERR_LIMIT_EXCEEDED', 'x'), 413],
      [new WiresealError('ERR_KEY_SOURCE', 'x'), 503],
    ];
    for (const [err, status] of cases) {
      const p = problemFor(err);
      expect(p.status).toBe(status);
      expect(p.problem).toMatchObject({ status, code: err.code, type: `urn:wireseal:error:${err.code}` });
      expect(p.headers['content-type']).toBe('application/problem+json');
    }
    expect(problemFor(new UnsupportedMediaTypeError('x', [])).problem.code).toBe('ERR_ALG_UNSUPPORTED');
  });

  it('never echoes key ids, key sources or foreign errors, and sanitises the rest', () => {
    const unknown = problemFor(new KeyUnknownError('token kid "evil" is not in the key set (have: k-2026-11, k-2026-05)'));
    expect(unknown.body).not.toContain('k-2026');
    expect(unknown.body).not.toContain('evil');
    const source = problemFor(new WiresealError('ERR_KEY_SOURCE', 'GetSecretValue failed for arn:aws:secretsmanager:...'));
    expect(source.body).not.toContain('arn:aws');
    expect(source.headers['retry-after']).toBe('5');
    const foreign = problemFor(new Error('connection string postgres://user:pw@db'));
    expect(foreign.status).toBe(500);
    expect(foreign.problem.code).toBe('ERR_INTERNAL');
    expect(foreign.body).not.toContain('postgres');
    const long = problemFor(new WiresealError('ERR_FIELD_MISMATCH', `field "${'\u0000\n\u202e'.repeat(400)}"`));
    expect(long.problem.detail.length).toBeLessThanOrEqual(300);
    expect(long.problem.detail).toMatch(/^[\x20-\x7e]*$/);
    expect(problemFor(new WiresealError('ERR_DECRYPT', 'x'), 'response').status).toBe(500);
  });
});

describe('route options', () => {
  const codec = new HttpCodec({ keys });
  it('fail at start-up with ERR_POLICY_INVALID', () => {
    const bad: unknown[] = [
      { mode: 'fields' },
      { mode: 'nope' },
      { mode: 'whole', policy: ['a'] },
      { mode: 'fields', policy: ['a.__proto__'] },
      { mode: 'fields', policy: ['a'], encryption: 'sometimes' },
      { mode: 'whole', maxBodyBytes: -1 },
      { mode: 'whole', alg: 'RSA1_5' },
      { mode: 'fields', policy: ['a'], context: { topic: 7 } },
      { mode: 'fields', policy: ['a'], responseContext: 'payments' },
    ];
    for (const o of bad) {
      expect(() => codec.route(o as never), JSON.stringify(o)).toThrow(expect.objectContaining({ code: 'ERR_POLICY_INVALID' }));
    }
  });

  it('a fixed context is copied and frozen at start-up: changing the caller\'s object later changes nothing', () => {
    const mine: Record<string, string> = { tenant: 'acme' };
    const route = codec.route({ mode: 'fields', policy: ['card.number'], context: mine });
    expect(Object.isFrozen(route.context)).toBe(true);
    mine.tenant = 'other';
    const sealed = encryptFields(keys, { card: { number: '4111' } }, FieldPolicy.parse(['card.number']), { context: { tenant: 'acme', ...REQ } });
    expect(codec.decodeFields(route, head(), sealed).body).toEqual({ card: { number: '4111' } });
    // An own "__proto__" key stays a key of the copy, never its prototype.
    const odd = JSON.parse('{"__proto__":"x","t":"y"}') as Record<string, string>;
    const r2 = codec.route({ mode: 'fields', policy: ['a'], context: odd });
    expect(Object.keys(r2.context as object)).toEqual(['__proto__', 't']);
    expect(Object.getPrototypeOf(r2.context)).toBe(Object.prototype);
  });

  it('decide from the head alone: pass, read, 415 or 413', () => {
    const fields = codec.route({ mode: 'fields', policy: ['a'] });
    const optional = codec.route({ mode: 'whole', encryption: 'optional', maxBodyBytes: 10 });
    expect(codec.inspect(fields, head({ 'content-type': 'application/json', 'content-length': '5' }))).toMatchObject({ action: 'fields' });
    expect(codec.inspect(fields, head({}, 'GET'))).toMatchObject({ action: 'pass' });
    expect(() => codec.inspect(fields, head({ 'content-type': 'text/plain', 'content-length': '5' }))).toThrow(UnsupportedMediaTypeError);
    expect(codec.inspect(optional, head({ 'content-type': 'text/plain', 'content-length': '500' }))).toMatchObject({ action: 'pass' });
    expect(() => codec.inspect(optional, head({ 'content-type': 'application/jose', 'content-length': '11' }))).toThrow(
      expect.objectContaining({ code: 'ERR_LIMIT_EXCEEDED' }),
    );
  });
});

describe('replay store', () => {
  it('remembers a token until its window ends', () => {
    let t = 1_000_000_000_000;
    const store = new MemoryReplayStore({ now: () => t });
    const iat = Math.floor(t / 1000);
    expect(store.remember('a', iat, iat + 120)).toBe('first');
    expect(store.remember('a', iat, iat + 120)).toBe('replay');
    expect(store.remember('b', iat, iat + 120)).toBe('first');
    t += 120_000;
    expect(store.remember('a', iat, iat + 120)).toBe('replay');
    t += 2_000;
    store.remember('c', iat + 122, iat + 242);
    expect(store.size).toBe(1);
  });

  it('when full, drops the oldest second and refuses it from then on (never forgets a token it could accept)', () => {
    const t = 1_000_000_000_000;
    const store = new MemoryReplayStore({ maxEntries: 3, now: () => t });
    const s = Math.floor(t / 1000);
    expect(store.remember('a', s - 3, s + 100)).toBe('first');
    expect(store.remember('b', s - 2, s + 100)).toBe('first');
    expect(store.remember('c', s - 1, s + 100)).toBe('first');
    expect(store.remember('d', s, s + 100)).toBe('first');
    expect(store.floor).toBe(s - 3);
    expect(store.size).toBe(3);
    expect(store.remember('a', s - 3, s + 100)).toBe('unknown');
    expect(store.remember('z', s - 3, s + 100)).toBe('unknown');
    expect(store.remember('d', s, s + 100)).toBe('replay');
  });

  it('never answers "first" twice for the same token (property)', () => {
    const t = 1_000_000_000_000;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 5 })), { maxLength: 200 }), fc.integer({ min: 1, max: 8 }), (ops, cap) => {
        const store = new MemoryReplayStore({ maxEntries: cap, now: () => t });
        const seen = new Set<string>();
        for (const [id, age] of ops) {
          const iat = Math.floor(t / 1000) - age;
          const key = `${id}@${iat}`;
          const verdict = store.remember(key, iat, iat + 120);
          if (seen.has(key)) expect(verdict).not.toBe('first');
          if (verdict === 'first') seen.add(key);
          expect(store.size).toBeLessThanOrEqual(cap);
        }
      }),
    );
  });
});

describe('whole payloads', () => {
  const codec = new HttpCodec({ keys });
  const route = codec.route({ mode: 'whole' });
  const h = head({ 'content-type': 'application/jose' });

  it('opens a token, parses by cty, and rejects the same token twice', async () => {
    const token = seal(keys, '{"amount":12}', { cty: 'application/json', iat: now(), context: REQ });
    const decoded = await codec.decodePayload(route, h, sharedKeyJose(), `${token}\n`);
    expect(decoded.body).toEqual({ amount: 12 });
    expect(decoded.info).toMatchObject({ mode: 'whole', sealed: true, contentType: 'application/json', profile: 'application/jose' });
    await expect(codec.decodePayload(route, h, sharedKeyJose(), token)).rejects.toMatchObject({ code: 'ERR_REPLAY' });
  });

  it('text cty gives a string, other types the bytes, no cty octet-stream', async () => {
    const text = await codec.decodePayload(route, h, sharedKeyJose(), seal(keys, 'héllo', { cty: 'text/plain; charset=utf-8', iat: now(), context: REQ }));
    expect(text.body).toBe('héllo');
    const bin = await codec.decodePayload(route, h, sharedKeyJose(), seal(keys, new Uint8Array([1, 2, 3]), { iat: now(), context: REQ }));
    expect(bin.info.contentType).toBe('application/octet-stream');
    expect([...(bin.body as Uint8Array)]).toEqual([1, 2, 3]);
  });

  it('rejects every single-character change of a token with a typed error (property)', async () => {
    const token = seal(keys, '{"pan":"4111111111111111"}', { cty: 'application/json', iat: now() });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    const allowed = new Set(['ERR_TOKEN_MALFORMED', 'ERR_DECRYPT', 'ERR_KEY_UNKNOWN', 'ERR_ALG_UNSUPPORTED', 'ERR_STALE']);
    const fresh = new HttpCodec({ keys, replay: false });
    const r = fresh.route({ mode: 'whole' });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: token.length - 1 }), fc.constantFrom(...alphabet), async (i, c) => {
        fc.pre(token[i] !== c);
        const mutated = token.slice(0, i) + c + token.slice(i + 1);
        const err = await fresh.decodePayload(r, h, sharedKeyJose(), mutated).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(WiresealError);
        expect(allowed.has((err as WiresealError).code)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('reads keys from the provider per request: a rotation applies without a restart', async () => {
    const old = KeySet.generate({ kid: 'old' });
    let current = old;
    const provider = { ready: () => Promise.resolve(), current: () => current, close: () => undefined };
    const c = new HttpCodec({ keys: provider });
    const r = c.route({ mode: 'whole' });
    const sealedBefore = seal(old, '{"n":1}', { cty: 'application/json', iat: now(), context: REQ });
    current = old.addKey({ kid: 'new' }).promote('new'); // 'old' is now decrypt-only
    const decoded = await c.decodePayload(r, h, sharedKeyJose(), sealedBefore);
    expect(decoded.body).toEqual({ n: 1 });
    const out = await c.encodeResponse(r, h, c.planResponse(r, h, decoded), '{"ok":true}', 'application/json', 200);
    const header = JSON.parse(Buffer.from((out!.body as string).split('.')[0]!, 'base64url').toString());
    expect(header).toMatchObject({ kid: 'new', cty: 'application/json' });
  });

  it('plans sealed responses: always on required routes, on optional ones only when asked', () => {
    const optional = codec.route({ mode: 'whole', encryption: 'optional' });
    expect(codec.planResponse(route, head()).kind).toBe('payload');
    expect(codec.planResponse(optional, head()).kind).toBe('none');
    expect(codec.planResponse(optional, head({ accept: 'application/jose' })).kind).toBe('payload');
    expect(codec.planResponse(optional, head({ wireseal: '1' })).kind).toBe('payload');
    const fieldsOptional = codec.route({ mode: 'fields', policy: ['a'], encryption: 'optional' });
    expect(codec.planResponse(fieldsOptional, head()).kind).toBe('none');
    expect(codec.planResponse(fieldsOptional, head({ wireseal: '1' })).kind).toBe('fields');
  });

  it('leaves bodiless responses alone, refuses non-JSON 2xx bodies on required routes and malformed JSON', async () => {
    const fields = codec.route({ mode: 'fields', policy: ['a'] });
    const plan = codec.planResponse(fields, head());
    expect(await codec.encodeResponse(fields, head(), plan, '', 'application/json', 200)).toBeUndefined();
    expect(await codec.encodeResponse(fields, head(), plan, '{"a":1}', 'application/json', 204)).toBeUndefined();
    await expect(codec.encodeResponse(fields, head(), plan, 'hello', 'text/plain', 200)).rejects.toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });
    expect(await codec.encodeResponse(fields, head(), plan, 'not found', 'text/plain', 404)).toBeUndefined();
    const optional = codec.route({ mode: 'fields', policy: ['a'], encryption: 'optional' });
    expect(await codec.encodeResponse(optional, head(), plan, 'hello', 'text/plain', 200)).toBeUndefined();
    await expect(codec.encodeResponse(fields, head(), plan, '{"a":', 'application/json', 200)).rejects.toMatchObject({ code: 'ERR_TOKEN_MALFORMED' });
    const sealed = await codec.encodeResponse(fields, head(), plan, '{"a":"secret","b":2}', 'application/json; charset=utf-8', 200);
    const doc = JSON.parse(sealed!.body as string);
    expect(doc.b).toBe(2);
    expect(doc.a).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
  });
});

describe('replay store at scale', () => {
  it('evicts the oldest second first, however the seconds arrive, and counts what it holds', () => {
    const t = 1_000_000_000_000;
    const s = Math.floor(t / 1000);
    const store = new MemoryReplayStore({ maxEntries: 100, now: () => t });
    // 50 seconds of 4 tokens each, in shuffled order: 200 tokens into 100 places.
    const seconds = Array.from({ length: 50 }, (_, i) => s - 1000 + i);
    for (let i = seconds.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [seconds[i], seconds[j]] = [seconds[j]!, seconds[i]!];
    }
    const verdicts = { first: 0, replay: 0, unknown: 0 };
    for (const iat of seconds) for (let k = 0; k < 4; k++) verdicts[store.remember(`${iat}:${k}`, iat, s + 100)]++;
    expect(store.size).toBeLessThanOrEqual(100);
    expect(store.size + 4 * Math.max(0, (store.floor ?? 0) - (s - 1000) + 1)).toBeGreaterThanOrEqual(100);
    // Whatever was evicted lies at or below the floor and is refused; everything above it is remembered.
    const floor = store.floor!;
    for (let iat = s - 1000; iat < s - 950; iat++) {
      for (let k = 0; k < 4; k++) {
        const v = store.remember(`${iat}:${k}`, iat, s + 100);
        if (iat <= floor) expect(v).toBe('unknown');
        else if (v !== 'replay') expect(seconds.indexOf(iat)).toBeGreaterThan(-1);
      }
    }
    expect(verdicts.first + verdicts.unknown).toBe(200);
    expect(verdicts.replay).toBe(0);
    expect(store.seconds).toBeLessThanOrEqual(store.size);
  });

  it('keeps its cost flat when full: 200,000 tokens, one second each, into 20,000 places', () => {
    let t = 1_000_000_000_000;
    const s = Math.floor(t / 1000);
    const store = new MemoryReplayStore({ maxEntries: 20_000, now: () => t });
    const started = performance.now();
    let first = 0;
    for (let i = 0; i < 200_000; i++) {
      // A second per token (a long freshness window, or a clock-skewed fleet); every 1,000 tokens the clock moves on.
      const iat = s - 300_000 + i;
      if (i % 1000 === 0) t += 1000;
      if (store.remember(`id-${i}`, iat, s + 1_000_000) === 'first') first++;
    }
    const ms = performance.now() - started;
    expect(first).toBe(200_000); // iat only climbs: nothing falls at or under the floor
    expect(store.size).toBe(20_000);
    expect(store.seconds).toBe(20_000);
    expect(store.floor).toBe(s - 300_000 + 180_000 - 1);
    // The scan this replaced took O(seconds held) per eviction (3.6 billion steps here); now it is well under a second.
    expect(ms).toBeLessThan(5_000);
  });

  it('expires seconds by their own expiresAt, also when routes with longer windows share a second', () => {
    let t = 1_000_000_000_000;
    const s = Math.floor(t / 1000);
    const store = new MemoryReplayStore({ now: () => t });
    expect(store.remember('a', s, s + 10)).toBe('first');
    expect(store.remember('b', s, s + 300)).toBe('first'); // same second, a longer window: kept until s + 300
    expect(store.remember('c', s + 1, s + 11)).toBe('first');
    t += 20_000;
    expect(store.remember('d', s + 20, s + 30)).toBe('first');
    expect(store.size).toBe(3); // c expired; a and b (second s) live on
    expect(store.remember('a', s, s + 10)).toBe('replay');
    t += 300_000;
    expect(store.remember('e', s + 320, s + 330)).toBe('first');
    expect(store.size).toBe(1);
    expect(store.seconds).toBe(1);
  });

  it('does not keep the token a replay id was cut from', () => {
    const token = `${'h'.repeat(40)}.${'x'.repeat(4000)}.abcdefghijklmnopqrstuv`;
    const id = token.slice(token.lastIndexOf('.') + 1);
    const store = new MemoryReplayStore();
    expect(store.remember(id, now(), now() + 120)).toBe('first');
    expect(store.remember('abcdefghijklmnopqrstuv', now(), now() + 120)).toBe('replay');
  });
});
