/**
 * The refreshing-provider primitive on its own: single flight, jittered
 * schedule and retry backoff, last good value through failures, staleness,
 * ready() and close(). (The providers built on it have their own tests.)
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KeySet, currentKeys, open, refreshingProvider, seal } from '@wireseal/core';
import type { KeyProvider, RefreshingLoadContext, RefreshingStatus } from '@wireseal/core';
import { KeySetInvalidError, KeySourceError } from '@wireseal/core/errors';
import { jittered, refreshDelay, safeCall } from '@wireseal/core/internal';
import type { WiresealError } from '@wireseal/core/errors';
import { caught } from './helpers.ts';


/** A load whose answers the test controls: `next` is returned (a fresh object each call) unless `fail` is set. */
function scripted() {
  const state = { n: 0, fail: undefined as Error | undefined, contexts: [] as Array<RefreshingLoadContext<{ n: number }>> };
  const load = vi.fn(async (ctx: RefreshingLoadContext<{ n: number }>) => {
    state.contexts.push(ctx);
    if (state.fail) throw state.fail;
    return { n: ++state.n };
  });
  return { state, load };
}

/** A promise and its resolver, to hold a load open. */
function gate<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('refreshingProvider: single flight', () => {
  it('runs one load however many callers, and a new one after it settled', async () => {
    const held = gate<{ v: number }>();
    const load = vi.fn(() => held.promise);
    const p = refreshingProvider({ source: 'test', load });
    const waiting = [...Array.from({ length: 50 }, () => p.ready()), ...Array.from({ length: 50 }, () => p.refresh())];
    await new Promise((r) => setTimeout(r, 5));
    expect(load).toHaveBeenCalledTimes(1);
    held.resolve({ v: 1 });
    await Promise.all(waiting);
    expect(p.current()).toEqual({ v: 1 });
    await Promise.all([p.refresh(), p.refresh(), p.refresh()]);
    expect(load).toHaveBeenCalledTimes(2);
    await p.close();
  });

  it('joins the background refresh in flight instead of starting another', async () => {
    vi.useFakeTimers();
    let release: (() => void) | undefined;
    const load = vi.fn(async () => {
      if (load.mock.calls.length > 1) await new Promise<void>((r) => (release = r));
      return { at: Date.now() };
    });
    const p = refreshingProvider({ source: 'test', load, intervalMs: 1000 });
    await p.ready();
    await vi.advanceTimersByTimeAsync(1000); // the timer's load starts and hangs
    expect(load).toHaveBeenCalledTimes(2);
    const joined = p.refresh();
    expect(load).toHaveBeenCalledTimes(2);
    release!();
    await joined;
    expect(load).toHaveBeenCalledTimes(2);
    await p.close();
  });
});

describe('refreshingProvider: schedule', () => {
  it('jittered and refreshDelay stay within ±jitter of the base and reach both ends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.integer({ min: 0, max: 60 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (intervalMs, jitter, failures, r) => {
          const base = failures === 0 ? intervalMs : Math.min(intervalMs, 100 * 2 ** Math.min(failures - 1, 30));
          const d = refreshDelay({ intervalMs, jitter, retryBaseMs: 100 }, failures, r);
          expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
          expect(d).toBeLessThanOrEqual(Math.ceil(base * (1 + jitter)));
          expect(refreshDelay({ intervalMs, jitter }, failures, r)).toBe(jittered(intervalMs, jitter, r)); // no retryBaseMs: no early retry
        },
      ),
    );
    expect([0, 0.5, 0.999999].map((r) => jittered(1000, 0.2, r))).toEqual([800, 1000, 1200]);
    expect([0, 1, 2, 3, 4, 5].map((n) => refreshDelay({ intervalMs: 1000, retryBaseMs: 100 }, n))).toEqual([1000, 100, 200, 400, 800, 1000]);
  });

  it('refreshes in the background every interval ± jitter, not in lock-step', async () => {
    vi.useFakeTimers();
    const times: number[] = [];
    const p = refreshingProvider({
      source: 'test',
      load: async () => {
        times.push(Date.now());
        return { ok: true };
      },
      intervalMs: 1000,
      jitter: 0.25,
    });
    await p.ready();
    await vi.advanceTimersByTimeAsync(30_000);
    await p.close();
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(24);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(750);
      expect(g).toBeLessThanOrEqual(1250);
    }
    expect(new Set(gaps).size).toBeGreaterThan(1);
  });

  it('retries sooner after failures (doubling from retryBaseMs, capped at the interval), back to the interval after a success', async () => {
    vi.useFakeTimers();
    const { state, load } = scripted();
    const times: number[] = [];
    load.mockImplementation(async () => {
      times.push(Date.now());
      if (state.fail) throw state.fail;
      return { n: ++state.n };
    });
    const p = refreshingProvider({ source: 'test', load, intervalMs: 10_000, retryBaseMs: 500 });
    await p.ready();
    state.fail = new KeySourceError('down');
    await vi.advanceTimersByTimeAsync(10_000 + 500 + 1000 + 2000 + 4000 + 8000 + 10_000);
    state.fail = undefined;
    await vi.advanceTimersByTimeAsync(10_000 + 10_000);
    await p.close();
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // the first refresh (fails), retries at 500, 1000, 2000, 4000, 8000, capped at 10 000, which succeeds; then the interval
    expect(gaps).toEqual([10_000, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it('does not refresh in the background with intervalMs 0 (or Infinity), nor before ready(), nor after a failed ready()', async () => {
    vi.useFakeTimers();
    for (const intervalMs of [0, Infinity, undefined]) {
      const { load } = scripted();
      const p = refreshingProvider({ source: 'test', load, ...(intervalMs === undefined ? {} : { intervalMs }) });
      await p.ready();
      await vi.advanceTimersByTimeAsync(3_600_000);
      expect(load).toHaveBeenCalledTimes(1);
      await p.close();
    }
    const { state, load } = scripted();
    const p = refreshingProvider({ source: 'test', load, intervalMs: 100 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(load).not.toHaveBeenCalled();
    state.fail = new KeySourceError('no');
    await caught(() => p.ready());
    await vi.advanceTimersByTimeAsync(1000);
    expect(load).toHaveBeenCalledTimes(1);
    await p.close();
  });

  it('never hands setTimeout a delay it would overflow (and fire at once)', async () => {
    vi.useFakeTimers();
    const { load } = scripted();
    const p = refreshingProvider({ source: 'test', load, intervalMs: 40 * 24 * 3_600_000 }); // 40 days > 2^31 - 1 ms
    await p.ready();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(load).toHaveBeenCalledTimes(1);
    await p.close();
  });
});

describe('refreshingProvider: last good value', () => {
  it('keeps the last good value through failed refreshes; the error rejects refresh() and goes to onError with the state', async () => {
    const { state, load } = scripted();
    const reports: Array<[WiresealError, RefreshingStatus<{ n: number }>]> = [];
    const loads: Array<[{ n: number }, { n: number } | undefined]> = [];
    const p = refreshingProvider({ source: 'test', load, onError: (e, s) => reports.push([e, s]), onLoad: (v, prev) => loads.push([v, prev]) });
    await p.ready();
    expect(loads).toEqual([[{ n: 1 }, undefined]]);
    const good = p.current();
    for (let i = 1; i <= 3; i++) {
      state.fail = new KeySourceError(`down ${i}`);
      const err = await caught(() => p.refresh());
      expect(err).toBe(state.fail);
      expect(reports).toHaveLength(i);
      expect(reports[i - 1]![0]).toBe(err);
      expect(reports[i - 1]![1]).toMatchObject({ value: good, consecutiveFailures: i, lastError: err, usable: true, closed: false });
      expect(p.current()).toBe(good);
    }
    expect(p.status()).toMatchObject({ consecutiveFailures: 3, usable: true });
    expect(state.contexts.at(-1)!.previous).toBe(good); // each load sees the last good value
    state.fail = undefined;
    await p.refresh();
    expect(p.current()).toEqual({ n: 2 });
    expect(loads.at(-1)).toEqual([{ n: 2 }, good]);
    expect(p.status()).toMatchObject({ consecutiveFailures: 0, lastError: undefined });
    await p.close();
  });

  it('a load that returns `previous` keeps the same value and counts as a success', async () => {
    let now = 0;
    const loads: Array<[object, object | undefined]> = [];
    const p = refreshingProvider<{ v: number }>({
      source: 'test',
      load: async ({ previous }) => previous ?? { v: 1 },
      maxStaleMs: 100,
      now: () => now,
      onLoad: (v, prev) => loads.push([v, prev]),
    });
    await p.ready();
    const first = p.current();
    now = 90;
    await p.refresh();
    now = 150;
    expect(p.current()).toBe(first); // refreshed at 90: not stale at 150
    expect(loads[1]![0]).toBe(loads[1]![1]);
    await p.close();
  });

  it('turns what a load throws into ERR_KEY_SOURCE without leaking a foreign message', async () => {
    const secret = 'k=c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkwMTIzNDU2';
    const cases: Array<[unknown, (e: WiresealError) => void]> = [
      [new KeySourceError('as is'), (e) => expect(e.message).toBe('as is')],
      [new KeySetInvalidError('key "a": k is not 32 bytes'), (e) => {
        expect(e.message).toBe('src: key "a": k is not 32 bytes');
        expect((e.cause as WiresealError).code).toBe('ERR_KEYSET_INVALID');
      }],
      [new SyntaxError(`Unexpected token in ${secret}`), (e) => expect(e.message).toBe('src: unexpected failure')],
      ['a string', (e) => expect(e.message).toBe('src: unexpected failure')],
    ];
    for (const [thrown, check] of cases) {
      const p = refreshingProvider({ source: 'src', load: () => Promise.reject(thrown) });
      const err = await caught(() => p.ready());
      expect(err).toBeInstanceOf(KeySourceError);
      expect(err.code).toBe('ERR_KEY_SOURCE');
      check(err);
      expect(inspect(err, { depth: 10 }) + String(err.stack)).not.toContain(secret);
    }
    // a load that throws synchronously too
    const sync = refreshingProvider({
      source: 'src',
      load: () => {
        throw new KeySourceError('sync');
      },
    });
    expect((await caught(() => sync.ready())).message).toBe('sync');
  });

  it('ignores hooks that throw or reject', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const { state, load } = scripted();
      const p = refreshingProvider({
        source: 'test',
        load,
        onLoad: () => {
          throw new Error('hook failed');
        },
        onError: async () => {
          throw new Error('async hook failed');
        },
      });
      await p.ready();
      state.fail = new KeySourceError('down');
      expect((await caught(() => p.refresh())).message).toBe('down');
      expect(p.current()).toEqual({ n: 1 });
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).not.toHaveBeenCalled();
      safeCall(undefined, 1); // no hook: nothing to do
      await p.close();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});

describe('refreshingProvider: staleness', () => {
  it('throws ERR_KEY_SOURCE from current() once the last success is older than maxStaleMs, naming the last error; recovers on success', async () => {
    let now = 1_000_000;
    const { state, load } = scripted();
    const p = refreshingProvider({ source: 'secret s', load, maxStaleMs: 60_000, now: () => now });
    await p.ready();
    expect(p.status()).toMatchObject({ usable: true, lastSuccessAt: 1_000_000, usableForMs: 60_000 });
    now += 60_000;
    expect(p.current()).toEqual({ n: 1 }); // exactly maxStaleMs: still usable
    state.fail = new KeySourceError('cannot read secret s: down');
    await caught(() => p.refresh());
    now += 1;
    const err = await caught(() => p.current());
    expect(err.code).toBe('ERR_KEY_SOURCE');
    expect(err.message).toBe('key set from secret s is stale: last successful refresh 60001 ms ago, maxStaleMs is 60000; last error: cannot read secret s: down');
    expect(err.cause).toBe(state.fail);
    expect(p.status()).toMatchObject({ usable: false, usableForMs: -1, value: { n: 1 } });
    state.fail = undefined;
    await p.refresh();
    expect(p.current()).toEqual({ n: 2 });
    expect(p.status()).toMatchObject({ usable: true, usableForMs: 60_000 });
    await p.close();
  });

  it('has no limit without maxStaleMs', async () => {
    let now = 0;
    const p = refreshingProvider({ source: 'test', load: async () => ({ v: 1 }), now: () => now });
    await p.ready();
    now = Number.MAX_SAFE_INTEGER;
    expect(p.current()).toEqual({ v: 1 });
    expect(p.status().usableForMs).toBe(Infinity);
    await p.close();
  });
});

describe('refreshingProvider: ready and close', () => {
  it('ready() rejects with ERR_KEY_SOURCE, a later call tries again, and current() says "not ready" until then', async () => {
    const { state, load } = scripted();
    state.fail = new KeySourceError('missing');
    const p = refreshingProvider({ source: 'keys.json', load });
    expect((await caught(() => p.current())).message).toBe('key provider for keys.json is not ready: await provider.ready() first');
    expect(await caught(() => p.ready())).toBe(state.fail);
    expect((await caught(() => p.current())).code).toBe('ERR_KEY_SOURCE');
    state.fail = undefined;
    await p.ready();
    await p.ready(); // idempotent: no second load
    expect(load).toHaveBeenCalledTimes(2);
    expect(p.current()).toEqual({ n: 1 });
    await p.close();
  });

  it('close() stops the timer, forgets the value, and current(), ready() and refresh() fail with "closed"', async () => {
    vi.useFakeTimers();
    const { load } = scripted();
    const p = refreshingProvider({ source: 'keys.json', load, intervalMs: 100 });
    await p.ready();
    await vi.advanceTimersByTimeAsync(250);
    expect(load).toHaveBeenCalledTimes(3);
    const closing = p.close();
    expect(p.status()).toMatchObject({ closed: true, usable: false, value: undefined });
    await closing;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(load).toHaveBeenCalledTimes(3);
    for (const fn of [() => p.current(), () => p.ready(), () => p.refresh()]) {
      const err = await caught(fn);
      expect(err.code).toBe('ERR_KEY_SOURCE');
      expect(err.message).toBe('key provider for keys.json is closed');
    }
    await p.close(); // twice is fine
  });

  it('close() aborts the load in flight, waits for it, discards its result and reports nothing', async () => {
    const errors: unknown[] = [];
    const loads: unknown[] = [];
    let signal: AbortSignal | undefined;
    const held = gate<{ v: number }>();
    const p = refreshingProvider<{ v: number }>({
      source: 'test',
      load: (ctx) => {
        signal = ctx.signal;
        return held.promise;
      },
      onError: (e) => errors.push(e),
      onLoad: (v) => loads.push(v),
    });
    const ready = p.ready();
    await new Promise((r) => setTimeout(r, 1));
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    expect(signal!.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(closed).toBe(false); // waits for the load in flight
    held.resolve({ v: 1 });
    await closing;
    expect((await caught(() => ready)).message).toBe('key provider for test is closed');
    expect(loads).toEqual([]);

    // a load that fails because of the abort is not reported
    const q = refreshingProvider({
      source: 'test',
      load: ({ signal: s }) => new Promise((_, reject) => s.addEventListener('abort', () => reject(new KeySourceError('aborted')))),
      onError: (e) => errors.push(e),
    });
    const r = q.ready();
    await q.close();
    expect((await caught(() => r)).message).toBe('aborted');
    expect(errors).toEqual([]);
  });

  it('rejects invalid options with ERR_KEY_SOURCE', async () => {
    const load = async () => ({});
    for (const bad of [{ intervalMs: -1 }, { intervalMs: Number.NaN }, { jitter: 1 }, { jitter: -0.1 }, { retryBaseMs: 0 }, { maxStaleMs: -1 }, { maxStaleMs: Number.NaN }]) {
      expect((await caught(() => refreshingProvider({ source: 's', load, ...bad }))).code).toBe('ERR_KEY_SOURCE');
    }
  });
});

describe('refreshingProvider as a KeyProvider', () => {
  it('a RefreshingProvider<KeySet> is a KeyProvider: a custom source (e.g. a KMS-wrapped set) is just a load', async () => {
    const v1 = KeySet.generate({ kid: 'kms-1' });
    const v2 = v1.addKey({ kid: 'kms-2' }).promote('kms-2');
    let stored = JSON.stringify(v1.toJwks());
    const provider: KeyProvider = refreshingProvider<KeySet>({
      source: 'kms-wrapped keys',
      load: async () => KeySet.fromJwks(stored), // a real one would decrypt `stored` with KMS first
    });
    await provider.ready();
    const t1 = seal(currentKeys(provider), 'one');
    stored = JSON.stringify(v2.toJwks());
    await (provider as ReturnType<typeof refreshingProvider<KeySet>>).refresh();
    expect(currentKeys(provider).primaryKid).toBe('kms-2');
    expect(new TextDecoder().decode(open(currentKeys(provider), t1))).toBe('one');
    await provider.close();
  });
});
