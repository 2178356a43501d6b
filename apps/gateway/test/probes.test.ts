// The gateway's probes: /healthz answers 200 while it runs; /readyz answers 200 while its key
// store is usable and 503 with the store's health (stale, no key bytes) once the store's
// provider is past maxStaleMs, ready again after a successful refresh. Both are answered by
// the gateway itself, ahead of the services.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeySet, refreshingProvider } from '@wireseal/core';
import type { CombinedKeySourceHealth } from '@wireseal/core';
import { KeySourceError } from '@wireseal/core/errors';
import { startGateway } from '@wireseal-apps/gateway';
import type { Gateway } from '@wireseal-apps/gateway';

const store = KeySet.generate({ kid: 'svc-a' });
let now = 1_000_000;
let down = false;
const keys = refreshingProvider<KeySet>({
  source: 'test key store',
  load: async () => {
    if (down) throw new KeySourceError('test key store: unreachable');
    return store;
  },
  maxStaleMs: 60_000,
  now: () => now,
});
let dir: string;
let gateway: Gateway;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-gateway-probes-'));
  const configFile = path.join(dir, 'gateway.json');
  // A service on /healthz: the probes are answered before any service is matched.
  fs.writeFileSync(configFile, JSON.stringify({ services: [{ name: 'all', routePrefix: '/healthz', upstream: 'http://127.0.0.1:9', enabled: true, keyId: 'svc-a', mode: 'whole' }] }));
  await keys.ready();
  gateway = await startGateway({ configFile, keys });
});
after(async () => {
  await gateway?.stop();
  await keys.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function get(p: string): Promise<{ status: number; body: CombinedKeySourceHealth & { ok?: boolean } }> {
  const res = await fetch(`${gateway.url}${p}`);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return { status: res.status, body: (await res.json()) as CombinedKeySourceHealth & { ok?: boolean } };
}

test('/healthz is 200 while it runs; /readyz follows the key store: ready, 503 when stale, ready after a refresh', async () => {
  assert.deepEqual(await get('/healthz'), { status: 200, body: { ok: true } });
  const ready = await get('/readyz?verbose=1');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.ready, true);
  assert.equal(ready.body.sources.keys!.source, 'test key store');

  down = true;
  now += 30_000;
  await assert.rejects(keys.refresh());
  const failing = await get('/readyz');
  assert.equal(failing.status, 200, 'still serving the cached store before maxStaleMs');
  assert.equal(failing.body.state, 'failing');

  now += 30_001;
  const stale = await get('/readyz');
  assert.equal(stale.status, 503);
  assert.equal(stale.body.ready, false);
  assert.equal(stale.body.state, 'stale');
  assert.deepEqual(stale.body.unready, ['keys']);
  assert.equal(stale.body.sources.keys!.lastErrorCode, 'ERR_KEY_SOURCE');
  const k = store.toJwks().keys[0]!.k;
  assert.ok(!JSON.stringify(stale.body).includes(k.slice(0, 16)));
  assert.equal((await get('/healthz')).status, 200);

  down = false;
  await keys.refresh();
  const back = await get('/readyz');
  assert.equal(back.status, 200);
  assert.equal(back.body.state, 'ready');
});
