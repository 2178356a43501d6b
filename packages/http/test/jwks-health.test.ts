// jwksProvider.health(): core's KeySourceHealth, named by `source`: starting, ready,
// failing while the last good set serves (ERR_KEYSET_INVALID for bad content), stale past
// maxStaleMs, ready after recovery, closed; never key material.
import { describe, expect, it } from 'vitest';
import { PrivateKeySet, jwksProvider } from '@wireseal/http';

describe('jwksProvider.health()', () => {
  it('follows the source through a bad rewrite, an outage past maxStaleMs and recovery', async () => {
    const pair = PrivateKeySet.generate({ kid: 'jwks-h', type: 'X25519' });
    const good = JSON.stringify(pair.toPrivateJwks());
    let answer: () => Promise<string> = async () => good;
    let now = 1_000;
    const provider = jwksProvider({ source: 'secret partner/keys', read: () => answer(), parse: PrivateKeySet.fromJwks, refreshIntervalMs: 0, maxStaleMs: 10_000, now: () => now });
    expect(provider.health()).toMatchObject({ state: 'starting', ready: false, source: 'secret partner/keys' });
    await provider.ready();
    expect(provider.health()).toEqual({ state: 'ready', ready: true, stale: false, source: 'secret partner/keys', lastSuccessAt: 1_000, consecutiveFailures: 0, usableForMs: 10_000 });

    answer = async () => JSON.stringify({ keys: [{ kty: 'OKP', crv: 'X25519', kid: 'bad', x: 'AAAA' }] });
    now = 2_000;
    await expect(provider.refresh()).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE' });
    expect(provider.health()).toMatchObject({ state: 'failing', ready: true, consecutiveFailures: 1, lastErrorCode: 'ERR_KEYSET_INVALID' });

    answer = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    now = 11_001;
    await expect(provider.refresh()).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE' });
    const stale = provider.health();
    expect(stale).toMatchObject({ state: 'stale', ready: false, stale: true, consecutiveFailures: 2, lastErrorCode: 'ERR_KEY_SOURCE' });
    const d = String(pair.toPrivateJwks().keys[0]!.d);
    expect(JSON.stringify(stale)).not.toContain(d.slice(0, 16));

    answer = async () => good;
    await provider.refresh();
    expect(provider.health()).toMatchObject({ state: 'ready', ready: true, stale: false, lastSuccessAt: 11_001, consecutiveFailures: 0 });
    await provider.close();
    expect(provider.health()).toMatchObject({ state: 'closed', ready: false });
  });
});
