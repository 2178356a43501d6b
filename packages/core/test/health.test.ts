/**
 * health(): the one KeySourceHealth every provider reports, derived from the refreshing
 * provider's status (states, readiness, staleness, last error code), for the file and
 * environment providers, combineHealth and healthOf; never key bytes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeySet, PublicKeySet, PrivateKeySet, combineHealth, envKeyProvider, fileKeyProvider, healthOf, refreshingProvider, staticKeyProvider } from '@wireseal/core';
import type { KeySourceHealth } from '@wireseal/core';
import { KeySetInvalidError, KeySourceError } from '@wireseal/core/errors';

function expectNoKeyBytes(health: unknown, set: { keys: Array<{ k: string }> }): void {
  const text = JSON.stringify(health);
  for (const { k } of set.keys) for (let i = 0; i + 16 <= k.length; i++) expect(text).not.toContain(k.slice(i, i + 16));
}

describe('refreshingProvider.health()', () => {
  it('starting → ready → failing (still ready) → stale → ready again → closed', async () => {
    let now = 1_000;
    let fail: Error | undefined;
    const p = refreshingProvider({
      source: 'test-source',
      load: async () => {
        if (fail) throw fail;
        return { v: 1 };
      },
      maxStaleMs: 500,
      now: () => now,
    });
    expect(p.health()).toEqual({ state: 'starting', ready: false, stale: false, source: 'test-source', consecutiveFailures: 0 });

    await p.ready();
    expect(p.health()).toEqual({ state: 'ready', ready: true, stale: false, source: 'test-source', lastSuccessAt: 1_000, consecutiveFailures: 0, usableForMs: 500 });

    fail = new KeySourceError('test-source: unreachable');
    now = 1_200;
    await expect(p.refresh()).rejects.toThrow();
    expect(p.health()).toEqual({
      state: 'failing', ready: true, stale: false, source: 'test-source', lastSuccessAt: 1_000, consecutiveFailures: 1,
      lastErrorCode: 'ERR_KEY_SOURCE', lastErrorMessage: 'test-source: unreachable', usableForMs: 300,
    });

    now = 1_501; // past maxStaleMs
    expect(p.health()).toMatchObject({ state: 'stale', ready: false, stale: true, consecutiveFailures: 1, lastErrorCode: 'ERR_KEY_SOURCE', usableForMs: -1 });
    expect(() => p.current()).toThrow(KeySourceError);

    fail = undefined;
    await p.refresh();
    expect(p.health()).toEqual({ state: 'ready', ready: true, stale: false, source: 'test-source', lastSuccessAt: 1_501, consecutiveFailures: 0, usableForMs: 500 });

    await p.close();
    expect(p.health()).toEqual({ state: 'closed', ready: false, stale: false, source: 'test-source', lastSuccessAt: 1_501, consecutiveFailures: 0 });
  });

  it('a failed first load is failing and not ready; the code is the most specific in the cause chain', async () => {
    const p = refreshingProvider({
      source: 'bad',
      load: async () => {
        throw new KeySourceError('bad: not a valid key set', { cause: new KeySetInvalidError('key "x": k is 16 bytes') });
      },
    });
    await expect(p.ready()).rejects.toThrow();
    expect(p.health()).toEqual({
      state: 'failing', ready: false, stale: false, source: 'bad', consecutiveFailures: 1,
      lastErrorCode: 'ERR_KEYSET_INVALID', lastErrorMessage: 'bad: not a valid key set',
    });
  });

  it('is stale without any failure when nothing refreshes it and maxStaleMs passes', async () => {
    let now = 0;
    const p = refreshingProvider({ source: 's', load: async () => 1, maxStaleMs: 10, now: () => now });
    await p.ready();
    now = 11;
    expect(p.health()).toMatchObject({ state: 'stale', ready: false, stale: true, consecutiveFailures: 0 });
    expect(p.health()).not.toHaveProperty('lastErrorCode');
  });

  it('is plain JSON: no Infinity without maxStaleMs, no value', async () => {
    const keys = KeySet.generate({ kid: 'h-1' });
    const p = refreshingProvider({ source: 's', load: async () => keys });
    await p.ready();
    const h = p.health();
    expect(h).not.toHaveProperty('usableForMs');
    expect(JSON.parse(JSON.stringify(h))).toEqual(h);
    expectNoKeyBytes(h, keys.toJwks());
  });
});

describe('envKeyProvider.health() and fileKeyProvider.health()', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('env: starting, ready (named by the variable), failing when the variable is missing, closed', async () => {
    const keys = KeySet.generate({ kid: 'env-h' });
    const p = envKeyProvider({ name: 'MY_KEYS', env: { MY_KEYS: JSON.stringify(keys.toJwks()) } });
    expect(p.health()).toMatchObject({ state: 'starting', ready: false, source: 'MY_KEYS' });
    await p.ready();
    expect(p.health()).toMatchObject({ state: 'ready', ready: true, stale: false, source: 'MY_KEYS', consecutiveFailures: 0 });
    expectNoKeyBytes(p.health(), keys.toJwks());
    p.close();
    expect(p.health().state).toBe('closed');

    const missing = envKeyProvider({ name: 'NOPE', env: {} });
    await expect(missing.ready()).rejects.toThrow();
    expect(missing.health()).toMatchObject({ state: 'failing', ready: false, source: 'NOPE', consecutiveFailures: 1, lastErrorCode: 'ERR_KEY_SOURCE' });
  });

  it('file: ready, failing but still ready after a bad rewrite (ERR_KEYSET_INVALID), ready again once fixed', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-health-'));
    const file = path.join(dir, 'keys.json');
    const keys = KeySet.generate({ kid: 'file-h' });
    fs.writeFileSync(file, JSON.stringify(keys.toJwks()));
    const p = fileKeyProvider({ path: file, intervalMs: 60_000 });
    await p.ready();
    expect(p.health()).toMatchObject({ state: 'ready', ready: true, source: file });

    fs.writeFileSync(file, JSON.stringify({ keys: [{ kty: 'oct', kid: 'short', k: 'AAAA' }] }) + ' ');
    await p.check();
    const failing = p.health();
    expect(failing).toMatchObject({ state: 'failing', ready: true, stale: false, consecutiveFailures: 1, lastErrorCode: 'ERR_KEYSET_INVALID' });
    expectNoKeyBytes(failing, keys.toJwks());

    fs.writeFileSync(file, JSON.stringify(keys.addKey({ kid: 'file-h2' }).toJwks()));
    await p.check();
    expect(p.health()).toMatchObject({ state: 'ready', ready: true, consecutiveFailures: 0 });
    expect(p.health()).not.toHaveProperty('lastErrorCode');
    p.close();
    expect(p.health()).toMatchObject({ state: 'closed', ready: false });
  });
});

describe('combineHealth and healthOf', () => {
  const ready = (source: string, lastSuccessAt = 10): KeySourceHealth => ({ state: 'ready', ready: true, stale: false, source, lastSuccessAt, consecutiveFailures: 0 });

  it('no source, or every source ready: ready', () => {
    expect(combineHealth({})).toEqual({ state: 'ready', ready: true, stale: false, source: '', consecutiveFailures: 0, sources: {}, unready: [] });
    expect(combineHealth({ a: ready('A', 5), b: ready('B', 7) })).toMatchObject({ state: 'ready', ready: true, lastSuccessAt: 5, unready: [] });
  });

  it('one stale source makes the whole unready and stale, with that source\'s error', () => {
    const stale: KeySourceHealth = { state: 'stale', ready: false, stale: true, source: 'B', lastSuccessAt: 3, consecutiveFailures: 4, lastErrorCode: 'ERR_KEY_SOURCE', lastErrorMessage: 'down', usableForMs: -5 };
    const degraded: KeySourceHealth = { state: 'failing', ready: true, stale: false, source: 'C', lastSuccessAt: 9, consecutiveFailures: 1, lastErrorCode: 'ERR_KEYSET_INVALID', usableForMs: 100 };
    const h = combineHealth({ a: ready('A'), b: stale, c: degraded });
    expect(h).toMatchObject({ state: 'stale', ready: false, stale: true, lastSuccessAt: 3, consecutiveFailures: 4, lastErrorCode: 'ERR_KEY_SOURCE', lastErrorMessage: 'down', usableForMs: -5, unready: ['b'] });
    expect(h.sources.c).toBe(degraded);
  });

  it('healthOf: key sets are ready, providers report their own health or are probed, keyrings are combined', async () => {
    const keys = KeySet.generate({ kid: 'of-1' });
    const pair = PrivateKeySet.generate({ kid: 'of-2', type: 'X25519' });
    expect(healthOf(keys)).toMatchObject({ state: 'ready', ready: true, source: 'keys' });
    expect(healthOf(PublicKeySet.of(pair), 'pci')).toMatchObject({ ready: true, source: 'pci' });
    expect(healthOf(staticKeyProvider(keys))).toMatchObject({ ready: true });
    const broken = { current: () => { throw new KeySourceError('gone'); } };
    expect(healthOf(broken, 'pii')).toMatchObject({ state: 'failing', ready: false, source: 'pii', lastErrorCode: 'ERR_KEY_SOURCE', lastErrorMessage: 'gone' });
    const env = envKeyProvider({ env: { WIRESEAL_KEYSET: JSON.stringify(keys.toJwks()) } });
    expect(healthOf(env)).toMatchObject({ state: 'starting', source: 'WIRESEAL_KEYSET' });
    const ring = healthOf({ pci: pair, pii: broken });
    expect(ring).toMatchObject({ ready: false, unready: ['pii'], lastErrorCode: 'ERR_KEY_SOURCE' });
  });
});
