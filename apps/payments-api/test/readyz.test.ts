// /healthz and /readyz of payments-api as a process, its key set in a real Secrets Manager API
// (moto): ready once started; when Secrets Manager goes away it stays ready on the cached set
// until WIRESEAL_MAX_STALE_MS has passed since the last good refresh, then /readyz answers 503
// with the key source's health (stale, ERR_KEY_SOURCE; no key bytes) while /healthz stays 200;
// when Secrets Manager is back (moto restarted on the same port, the secret recreated: moto
// keeps no state) it is ready again by itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KeySet } from '@wireseal/core';
import type { CombinedKeySourceHealth } from '@wireseal/core';
// Not a dependency of the app (the workspace lockfile stays as it is): the test tool by its path.
import { secretsManagerAvailable, startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { SecretsManagerHandle } from '@wireseal-tooling/local-secrets';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.ts');
const MAX_STALE_MS = 2500;
const available = secretsManagerAvailable();
const skip = available.ok ? false : available.reason;

let sm: SecretsManagerHandle;
let child: ChildProcess | undefined;
let url: string;
const keys = KeySet.generate({ kid: 'readyz-1' });
const secretId = `wireseal/test/payments-readyz-${process.pid}`;

/** CreateSecret through the Secrets Manager JSON protocol (moto does not check signatures). */
async function createSecret(): Promise<void> {
  const res = await fetch(sm.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.CreateSecret',
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${sm.region}/secretsmanager/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify({ Name: secretId, SecretString: JSON.stringify(keys.toJwks()) }),
  });
  assert.equal(res.status, 200, `CreateSecret: ${res.status} ${await res.text()}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function probe(p: '/healthz' | '/readyz'): Promise<{ status: number; body: CombinedKeySourceHealth & { ok?: boolean } }> {
  const res = await fetch(`${url}${p}`);
  return { status: res.status, body: (await res.json()) as CombinedKeySourceHealth & { ok?: boolean } };
}

/** Polls /readyz until `done` holds; returns every answer seen. */
async function readyzUntil(done: (a: Awaited<ReturnType<typeof probe>>) => boolean, timeoutMs: number, what: string) {
  const seen: Array<Awaited<ReturnType<typeof probe>>> = [];
  const until = Date.now() + timeoutMs;
  for (;;) {
    const a = await probe('/readyz');
    seen.push(a);
    if (done(a)) return seen;
    assert.ok(Date.now() < until, `${what} within ${timeoutMs} ms; last answer ${a.status} ${JSON.stringify(a.body)}`);
    await sleep(50);
  }
}

function assertNoKeyBytes(body: unknown): void {
  const text = JSON.stringify(body);
  for (const { k } of keys.toJwks().keys) for (let i = 0; i + 16 <= k.length; i++) assert.ok(!text.includes(k.slice(i, i + 16)), 'key bytes in /readyz');
}

before(async () => {
  if (skip) return;
  sm = await startSecretsManager();
  await createSecret();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WIRESEAL_') && !k.startsWith('AWS_') && k !== 'KAFKA_BROKERS') env[k] = v;
  Object.assign(env, {
    WIRESEAL_SECRET_ID: secretId,
    WIRESEAL_REFRESH_MS: '200',
    WIRESEAL_MAX_STALE_MS: String(MAX_STALE_MS),
    AWS_ENDPOINT_URL: sm.endpoint,
    AWS_REGION: sm.region,
    AWS_ACCESS_KEY_ID: sm.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sm.credentials.secretAccessKey,
    AWS_MAX_ATTEMPTS: '1',
    PORT: '0',
  });
  child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = readline.createInterface({ input: child.stdout! });
  const ready = new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const e = JSON.parse(line) as { event?: string; url?: string };
      if (e.event === 'ready') resolve(e.url!);
    });
    child!.once('exit', (code) => reject(new Error(`payments-api exited (${code}) before ready: ${stderr}`)));
  });
  url = await ready;
});

after(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await sm?.stop();
});

test('/readyz follows the Secrets Manager key source: ready, 503 past maxStaleMs in an outage, ready again after recovery', { skip }, async () => {
  const live = await probe('/healthz');
  assert.deepEqual([live.status, live.body], [200, { ok: true }]);
  const ready = await probe('/readyz');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.ready, true);
  assert.equal(ready.body.state, 'ready');
  assert.deepEqual(ready.body.unready, []);
  assert.equal(ready.body.sources.keys!.source, `secret ${secretId}`);
  assert.equal(typeof ready.body.sources.keys!.lastSuccessAt, 'number');

  // Outage: still ready on the cached set while refreshes fail, then unready past maxStaleMs.
  const stoppedAt = Date.now();
  await sm.stop();
  const seen = await readyzUntil((a) => a.status === 503, MAX_STALE_MS + 10_000, '/readyz did not turn 503');
  const down = seen.at(-1)!;
  assert.ok(Date.now() - stoppedAt >= MAX_STALE_MS - 500, 'unready before maxStaleMs could have passed');
  assert.ok(seen.some((a) => a.status === 200 && a.body.state === 'failing'), 'never seen serving the cached set while failing');
  assert.equal(down.body.ready, false);
  assert.equal(down.body.state, 'stale');
  assert.deepEqual(down.body.unready, ['keys']);
  const source = down.body.sources.keys!;
  assert.equal(source.stale, true);
  assert.equal(source.lastErrorCode, 'ERR_KEY_SOURCE');
  assert.ok(source.consecutiveFailures >= 1);
  assert.ok(source.usableForMs! < 0);
  assertNoKeyBytes(down.body);
  assert.equal((await probe('/healthz')).status, 200, 'liveness must not follow the key source');

  // Recovery: moto on the same port, empty: recreate the secret; the provider recovers by itself.
  await sm.start();
  await createSecret();
  const back = (await readyzUntil((a) => a.status === 200, 15_000, '/readyz did not recover')).at(-1)!;
  assert.equal(back.body.ready, true);
  assert.equal(back.body.state, 'ready');
  assert.equal(back.body.sources.keys!.consecutiveFailures, 0);
});
