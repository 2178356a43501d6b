// RedisReplayStore (@wireseal/http/redis): option checks and the call policy
// against a scripted client, then two real servers (Express and Fastify, each
// its own codec and its own store) sharing one real redis-server
// (tooling/local-redis): replays refused across instances, exactly-once under
// concurrency, 503 while Redis is down or frozen and recovery without a manual
// step, and nothing of a token or its plaintext stored in Redis.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { KeySet, seal } from '@wireseal/core';
import { ReplayStoreError } from '@wireseal/core/errors';
import { DIRECTION_CONTEXT_KEY, problemFor } from '@wireseal/http';
import { DEFAULT_REPLAY_KEY_PREFIX, RedisReplayStore } from '@wireseal/http/redis';
import type { RedisReplayClient, RedisSetOptions } from '@wireseal/http/redis';
import { redisAvailable, startRedis } from '@wireseal-tooling/local-redis';
import type { RedisHandle } from '@wireseal-tooling/local-redis';
import { raw, serveExpress, serveFastify } from './support/servers.ts';
import type { RawResponse, Running, ServerSetup } from './support/servers.ts';

/** Why the real-Redis tests cannot run here, or undefined when they can. In CI a missing redis-server is a failure, not a skip. */
function redisUnavailable(): string | undefined {
  const a = redisAvailable();
  if (a.ok) return undefined;
  if (process.env.CI) throw new Error(`redis-server is required in CI: ${a.reason}`);
  return a.reason;
}
const unavailable = redisUnavailable();

const sha = (id: string): string => createHash('sha256').update(id).digest('base64url');
const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A scripted client: each SET answers as `reply` says (a value, a rejection, or never until released). */
class ScriptedClient implements RedisReplayClient {
  readonly sets: Array<{ key: string; value: string; options: RedisSetOptions }> = [];
  readonly dels: string[] = [];
  reply: () => Promise<unknown> = () => Promise.resolve('OK');
  set(key: string, value: string, options: RedisSetOptions): Promise<unknown> {
    this.sets.push({ key, value, options });
    return this.reply();
  }
  del(key: string): Promise<unknown> {
    this.dels.push(key);
    return Promise.resolve(1);
  }
}

describe('RedisReplayStore options', () => {
  const client = new ScriptedClient();
  it.each([
    ['neither url nor client', {}, TypeError, /exactly one of url and client/],
    ['both url and client', { url: 'redis://127.0.0.1:1', client }, TypeError, /exactly one/],
    ['a url of another scheme', { url: 'http://127.0.0.1:6379' }, TypeError, /redis:\/\/ or rediss:\/\//],
    ['a url that is not one', { url: 'not a url' }, TypeError, /redis:\/\//],
    ['a client without del', { client: { set: () => Promise.resolve('OK') } }, TypeError, /set\(\) and del\(\)/],
    ['a keyPrefix that is not a string', { client, keyPrefix: 7 }, TypeError, /keyPrefix/],
    ['a keyPrefix over 256 characters', { client, keyPrefix: 'x'.repeat(257) }, TypeError, /keyPrefix/],
    ['timeoutMs 0', { client, timeoutMs: 0 }, RangeError, /timeoutMs/],
    ['timeoutMs over a minute', { client, timeoutMs: 60_001 }, RangeError, /timeoutMs/],
    ['timeoutMs NaN', { client, timeoutMs: Number.NaN }, RangeError, /timeoutMs/],
    ['failOpen as a string', { client, failOpen: 'yes' }, TypeError, /failOpen/],
    ['expiryMarginSeconds fractional', { client, expiryMarginSeconds: 1.5 }, RangeError, /expiryMarginSeconds/],
    ['expiryMarginSeconds negative', { client, expiryMarginSeconds: -1 }, RangeError, /expiryMarginSeconds/],
    ['maxPending 0', { client, maxPending: 0 }, RangeError, /maxPending/],
    ['onError not a function', { client, onError: 'log' }, TypeError, /onError/],
  ])('refuses %s', (_what, options, type, message) => {
    expect(() => new RedisReplayStore(options as never)).toThrow(type);
    expect(() => new RedisReplayStore(options as never)).toThrow(message);
  });

  it('never quotes the url (it may hold a password)', () => {
    let message = '';
    try {
      new RedisReplayStore({ url: 'http://user:s3cret-pw@redis.internal:6379' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/url must be/);
    expect(message).not.toContain('s3cret-pw');
  });

  it('takes the defaults: prefix wireseal:replay:, 250 ms, fail closed', async () => {
    const store = new RedisReplayStore({ client });
    expect(store.keyPrefix).toBe(DEFAULT_REPLAY_KEY_PREFIX);
    expect(DEFAULT_REPLAY_KEY_PREFIX).toBe('wireseal:replay:');
    await expect(store.ready()).resolves.toBeUndefined();
  });
});

it('local-redis names the fix when redis-server is missing', async () => {
  const avail = redisAvailable({ redisServer: '/nonexistent/redis-server' });
  expect(avail.ok).toBe(false);
  await expect(startRedis({ redisServer: '/nonexistent/redis-server' })).rejects.toThrow(/\.\/dev setup/);
});

describe('RedisReplayStore calls (scripted client)', () => {
  const now = 1_800_000_000_000;
  const iat = now / 1000;

  it('sends one SET NX PX per token, keyed by a SHA-256 digest of the id under the prefix', async () => {
    const client = new ScriptedClient();
    const store = new RedisReplayStore({ client, keyPrefix: 'svc:', now: () => now });
    expect(await store.remember('tag-one', iat, iat + 120)).toBe('first');
    client.reply = () => Promise.resolve(null);
    expect(await store.remember('tag-one', iat, iat + 120)).toBe('replay');
    expect(client.sets).toEqual([
      { key: `svc:${sha('tag-one')}`, value: '1', options: { condition: 'NX', expiration: { type: 'PX', value: 150_000 } } },
      { key: `svc:${sha('tag-one')}`, value: '1', options: { condition: 'NX', expiration: { type: 'PX', value: 150_000 } } },
    ]);
    expect(client.sets[0]!.key).toMatch(/^svc:[A-Za-z0-9_-]{43}$/);
  });

  it('keys live until expiresAt plus the margin by this clock, at least 1 s', async () => {
    const client = new ScriptedClient();
    const store = new RedisReplayStore({ client, expiryMarginSeconds: 0, now: () => now });
    await store.remember('a', iat, iat + 10);
    await store.remember('b', iat - 200, iat - 80); // already past: still kept 1 s
    expect(client.sets.map((s) => s.options.expiration.value)).toEqual([10_000, 1000]);
  });

  it('fails closed: a Redis error is ERR_REPLAY_STORE (503, fixed detail), reported to onError', async () => {
    const client = new ScriptedClient();
    const reported: ReplayStoreError[] = [];
    const store = new RedisReplayStore({ client, onError: (e) => reported.push(e) });
    const cause = new Error('connect ECONNREFUSED 10.0.0.7:6379');
    client.reply = () => Promise.reject(cause);
    const err = await store.remember('t', iat, iat + 120).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplayStoreError);
    expect(err).toMatchObject({ code: 'ERR_REPLAY_STORE', cause });
    expect(reported).toEqual([err]);
    const problem = problemFor(err, 'request');
    expect(problem.status).toBe(503);
    expect(problem.headers['retry-after']).toBe('5');
    expect(problem.problem).toMatchObject({ code: 'ERR_REPLAY_STORE', title: 'Replay check unavailable' });
    expect(problem.body).not.toContain('10.0.0.7');
  });

  it('times out after timeoutMs and takes back a SET that lands late', async () => {
    const client = new ScriptedClient();
    let land!: (v: unknown) => void;
    client.reply = () => new Promise((r) => (land = r));
    const store = new RedisReplayStore({ client, timeoutMs: 30 });
    const t0 = performance.now();
    await expect(store.remember('slow', iat, iat + 120)).rejects.toThrow(/timed out: no answer within 30 ms/);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(store.pending).toBe(1);
    land('OK');
    await tick(0);
    expect(store.pending).toBe(0);
    expect(client.dels).toEqual([DEFAULT_REPLAY_KEY_PREFIX + sha('slow')]);
  });

  it('failOpen accepts the token when Redis fails or is slow, still reporting it, and keeps a late SET', async () => {
    const client = new ScriptedClient();
    const reported: string[] = [];
    const store = new RedisReplayStore({ client, failOpen: true, timeoutMs: 20, onError: (e) => reported.push(e.message) });
    client.reply = () => Promise.reject(new Error('READONLY'));
    expect(await store.remember('x', iat, iat + 120)).toBe('first');
    let land!: (v: unknown) => void;
    client.reply = () => new Promise((r) => (land = r));
    expect(await store.remember('y', iat, iat + 120)).toBe('first');
    land('OK');
    await tick(0);
    expect(client.dels).toEqual([]);
    expect(reported).toEqual(['replay store call failed: READONLY', 'replay store call timed out: no answer within 20 ms']);
  });

  it('refuses at once over maxPending calls waiting, without sending', async () => {
    const client = new ScriptedClient();
    const release: Array<(v: unknown) => void> = [];
    client.reply = () => new Promise((r) => release.push(r));
    const store = new RedisReplayStore({ client, maxPending: 2, timeoutMs: 1000 });
    const waiting = [store.remember('1', iat, iat + 120), store.remember('2', iat, iat + 120)];
    await expect(store.remember('3', iat, iat + 120)).rejects.toThrow(/overloaded: 2 calls already wait/);
    expect(client.sets).toHaveLength(2);
    for (const r of release) r('OK');
    expect(await Promise.all(waiting)).toEqual(['first', 'first']);
  });

  it('close() leaves a given client alone and refuses later calls, even with failOpen', async () => {
    const client = new ScriptedClient();
    const store = new RedisReplayStore({ client, failOpen: true });
    await store.close();
    await store.close();
    await expect(store.remember('z', iat, iat + 120)).rejects.toThrow(/closed/);
    expect(client.sets).toEqual([]);
  });
});

describe.skipIf(!!unavailable)('RedisReplayStore against a real redis-server', () => {
  const keys = KeySet.generate({ kid: 'redis-test' });
  const request = Object.freeze({ [DIRECTION_CONTEXT_KEY]: 'request' });
  const prefix = 'wireseal-test:replay:';
  let redis: RedisHandle;
  let stores: RedisReplayStore[] = [];
  let a: Running;
  let b: Running;
  /** Every token sent and every plaintext sealed, for the "nothing stored" check. */
  const sent: string[] = [];
  const plaintexts: string[] = [];
  let serial = 0;

  const freshToken = (): string => {
    const body = JSON.stringify({ payment: `pay-${++serial}`, card: '4111111111111111', secret: `plaintext-marker-${serial}-${Math.random().toString(36).slice(2)}` });
    plaintexts.push(body);
    const token = seal(keys, body, { cty: 'application/json', iat: true, context: request });
    sent.push(token);
    return token;
  };
  const post = (server: Running, token: string): Promise<RawResponse> =>
    raw(server.url, 'POST', '/whole', { 'content-type': 'application/jose', accept: 'application/json' }, token);
  const calls = (): number => (a.calls.get('/whole') ?? 0) + (b.calls.get('/whole') ?? 0);
  const codeOf = (res: RawResponse): string | undefined => (res.status === 200 ? undefined : (res.json() as { code: string }).code);

  beforeAll(async () => {
    redis = await startRedis();
    const setup = (): ServerSetup => {
      // One store per instance (its own connection), the same configuration: as two processes would have.
      const store = new RedisReplayStore({ url: redis.url, keyPrefix: prefix, onError: () => {} });
      stores.push(store);
      return {
        routes: { whole: { method: 'POST', path: '/whole', mode: 'whole' } },
        adapter: { keys, replay: store },
        answer: () => ({ ok: true }),
      };
    };
    a = await serveExpress(setup());
    b = await serveFastify(setup());
    await Promise.all(stores.map((s) => s.ready()));
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    for (const s of stores) await s.close();
    stores = [];
    await redis?.stop();
  });

  it('a token accepted by one instance is ERR_REPLAY (400) at the other, and at itself', async () => {
    const token = freshToken();
    const first = await post(a, token);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/jose'); // the answer is sealed too
    const atB = await post(b, token);
    expect(atB.status).toBe(400);
    expect(atB.json()).toMatchObject({ code: 'ERR_REPLAY', status: 400 });
    expect((await post(a, token)).status).toBe(400);
    const other = freshToken();
    expect((await post(b, other)).status).toBe(200);
    expect(codeOf(await post(a, other))).toBe('ERR_REPLAY');
  });

  it('200 distinct tokens sent to both instances at once are each accepted exactly once; 200 replays are all refused', async () => {
    const before = calls();
    const tokens = Array.from({ length: 200 }, freshToken);
    // Each token races to both instances at the same moment: 400 requests in flight.
    const raced = await Promise.all(tokens.map((t) => Promise.all([post(a, t), post(b, t)])));
    const verdicts = raced.map(([x, y]) => [codeOf(x), codeOf(y)].sort((p, q) => String(p).localeCompare(String(q))));
    expect(verdicts.filter(([p, q]) => p === 'ERR_REPLAY' && q === undefined)).toHaveLength(200);
    expect(calls() - before).toBe(200);
    const replays = await Promise.all(tokens.map((t, i) => post(i % 2 ? a : b, t)));
    expect(replays.map(codeOf)).toEqual(Array(200).fill('ERR_REPLAY'));
    expect(calls() - before).toBe(200);
  });

  it('Redis holds no token bytes and no plaintext: only prefix + SHA-256 digest keys with the value 1 and a TTL', async () => {
    const token = freshToken();
    expect((await post(a, token)).status).toBe(200);
    const probe = createClient({ url: redis.url });
    await probe.connect();
    try {
      const found: string[] = [];
      for await (const batch of probe.scanIterator({ COUNT: 1000 })) found.push(...batch);
      expect(found.length).toBeGreaterThan(200);
      expect(found).toContain(prefix + sha(token.slice(token.lastIndexOf('.') + 1)));
      const segments = new Set(sent.flatMap((t) => t.split('.')).filter((s) => s.length >= 8));
      const markers = plaintexts.flatMap((p) => [p, ...Object.values(JSON.parse(p) as Record<string, string>)]);
      for (const key of found) {
        expect(key).toMatch(new RegExp(`^${prefix}[A-Za-z0-9_-]{43}$`));
        const value = await probe.get(key);
        expect(value).toBe('1');
        const pttl = await probe.pTTL(key);
        expect(pttl).toBeGreaterThan(0);
        expect(pttl).toBeLessThanOrEqual((120 + 30 + 30) * 1000);
        for (const s of segments) expect(key.includes(s)).toBe(false);
        for (const m of markers) expect(key.includes(m)).toBe(false);
      }
    } finally {
      probe.destroy();
    }
  });

  it('Redis killed: 503 ERR_REPLAY_STORE and no handler runs; restarted on the same port: service resumes by itself', async () => {
    const accepted = freshToken();
    expect((await post(a, accepted)).status).toBe(200);
    const before = calls();
    const port = redis.port;
    await redis.stop('SIGKILL');
    const down = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? a : b, freshToken())));
    for (const res of down) {
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ code: 'ERR_REPLAY_STORE', status: 503, detail: 'the replay check is temporarily unavailable; retry later with a freshly sealed request' });
      expect(res.text).not.toContain(String(port));
    }
    expect(a.failures.concat(b.failures).filter((f) => f.code === 'ERR_REPLAY_STORE').length).toBeGreaterThanOrEqual(20);
    expect(calls()).toBe(before);

    await redis.start();
    expect(redis.port).toBe(port);
    const t0 = performance.now();
    let res: RawResponse;
    do {
      res = await post(b, freshToken());
      if (res.status !== 200) await tick(20);
    } while (res.status !== 200 && performance.now() - t0 < 10_000);
    const recoveredMs = performance.now() - t0;
    expect(res.status).toBe(200);
    expect(recoveredMs).toBeLessThan(3000);
    // Both instances are back, and replays are caught again (for tokens seen since the restart).
    const token = freshToken();
    do {
      res = await post(a, token);
      if (res.status === 503) await tick(20);
    } while (res.status === 503 && performance.now() - t0 < 10_000);
    expect(res.status).toBe(200);
    expect(codeOf(await post(b, token))).toBe('ERR_REPLAY');
    expect(calls()).toBe(before + 2);
  });

  it('Redis frozen: 503 within the deadline, no handler runs; the refused token is released and accepted once Redis answers', async () => {
    const before = calls();
    const token = freshToken();
    redis.pause();
    let res: RawResponse;
    const t0 = performance.now();
    try {
      res = await post(a, token);
    } finally {
      redis.resume();
    }
    const tookMs = performance.now() - t0;
    expect(res.status).toBe(503);
    expect(codeOf(res)).toBe('ERR_REPLAY_STORE');
    expect(tookMs).toBeLessThan(1500);
    expect(calls()).toBe(before);
    // The SET landed after the deadline; the store took it back, so the sender may retry that token.
    const probe = createClient({ url: redis.url });
    await probe.connect();
    try {
      const key = prefix + sha(token.slice(token.lastIndexOf('.') + 1));
      const t1 = performance.now();
      while ((await probe.exists(key)) === 1 && performance.now() - t1 < 3000) await tick(10);
      expect(await probe.exists(key)).toBe(0);
    } finally {
      probe.destroy();
    }
    expect((await post(b, token)).status).toBe(200);
    expect(codeOf(await post(a, token))).toBe('ERR_REPLAY');
    expect(calls()).toBe(before + 1);
  });

  it('close() ends the connection the store opened, and leaves a client it was given open', async () => {
    const probe = createClient({ url: redis.url });
    await probe.connect();
    try {
      const connections = async (): Promise<number> => String(await probe.sendCommand(['CLIENT', 'LIST'])).trim().split('\n').length;
      const base = await connections();
      const own = new RedisReplayStore({ url: redis.url, keyPrefix: prefix });
      await own.ready();
      expect(await connections()).toBe(base + 1);
      await own.close();
      const t0 = performance.now();
      while ((await connections()) !== base && performance.now() - t0 < 3000) await tick(10);
      expect(await connections()).toBe(base);
      await expect(own.remember('after-close', 1, 2)).rejects.toThrow(/closed/);

      const given = new RedisReplayStore({ client: probe, keyPrefix: prefix });
      const now = Math.floor(Date.now() / 1000);
      expect(await given.remember('given-client', now, now + 120)).toBe('first');
      expect(await given.remember('given-client', now, now + 120)).toBe('replay');
      await given.close();
      expect(probe.isOpen).toBe(true);
      expect(await probe.exists(prefix + sha('given-client'))).toBe(1);
    } finally {
      probe.destroy();
    }
  });
});
