// The gateway as a process (src/main.ts) with its admin listener: the token from the
// environment or a file, no listener (and a message saying so) without one, and a crash in the
// middle of a change: the process is SIGKILLed between the temp file's write and the rename, or
// just after the rename, and the config file is then exactly the old or exactly the new version,
// never torn. The children are registered with the child reaper, so none outlives the test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KeySet } from '@wireseal/core';
import { track, untrack } from '@wireseal-tooling/child-reaper';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.ts');
const TOKEN = 'process-admin-token-0123456789';
const store = KeySet.generate({ kid: 'svc-a' }).addKey({ kid: 'svc-b' });
let dir: string;
let keysFile: string;
const live = new Set<ChildProcess>();

type Event = Record<string, unknown> & { event: string };
interface Gw { child: ChildProcess; events: Event[]; waitFor(name: string, timeoutMs?: number): Promise<Event>; exited: Promise<number | string | null>; stderr(): string }

function startProcess(env: Record<string, string>): Gw {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', WIRESEAL_KEYSET_FILE: keysFile, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { kill: () => child.kill('SIGKILL') };
  track(entry);
  live.add(child);
  const events: Event[] = [];
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => {
    untrack(entry);
    live.delete(child);
    resolve(signal ?? code);
  }));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as Event);
    } catch {
      /* not an event */
    }
  });
  const waitFor = async (name: string, timeoutMs = 20_000): Promise<Event> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const e = events.find((x) => x.event === name);
      if (e) return e;
      if (Date.now() > until || child.exitCode !== null || child.signalCode !== null) throw new Error(`no ${name} event (stderr: ${err.slice(-500)})`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { child, events, waitFor, exited, stderr: () => err };
}

function config(dirName: string): { file: string; text: string; service: Record<string, unknown> } {
  const d = path.join(dir, dirName);
  fs.mkdirSync(d);
  const file = path.join(d, 'gateway.json');
  const service = { name: 'orders', routePrefix: '/orders', upstream: 'http://127.0.0.1:9', enabled: true, keyId: 'svc-a', mode: 'fields', policy: ['card.number'] };
  const text = `${JSON.stringify({ services: [service] }, null, 2)}\n`;
  fs.writeFileSync(file, text);
  return { file, text, service };
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-gateway-process-'));
  keysFile = path.join(dir, 'keys.json');
  fs.writeFileSync(keysFile, JSON.stringify(store.toJwks()), { mode: 0o600 });
});
after(async () => {
  for (const c of live) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('without a token the admin listener does not start, and the gateway says so', async () => {
  const { file } = config('no-token');
  const gw = startProcess({ GATEWAY_CONFIG: file });
  const ready = await gw.waitFor('ready');
  assert.equal(ready.adminUrl, undefined);
  const disabled = gw.events.find((e) => e.event === 'admin-disabled');
  assert.match(String(disabled?.reason), /GATEWAY_ADMIN_TOKEN or GATEWAY_ADMIN_TOKEN_FILE/);
  gw.child.kill('SIGTERM');
  assert.equal(await gw.exited, 0);
});

test('the token from GATEWAY_ADMIN_TOKEN_FILE, on GATEWAY_ADMIN_HOST/PORT; the console address in the ready event', async () => {
  const { file } = config('token-file');
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const gw = startProcess({ GATEWAY_CONFIG: file, GATEWAY_ADMIN_TOKEN_FILE: tokenFile, GATEWAY_ADMIN_HOST: '127.0.0.1', GATEWAY_ADMIN_PORT: '0' });
  const ready = await gw.waitFor('ready');
  const adminUrl = String(ready.adminUrl);
  assert.match(adminUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(ready.console, `${adminUrl}/admin/`);
  assert.equal((await fetch(`${adminUrl}/admin/api/services`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  const wrong = await fetch(`${adminUrl}/admin/api/services`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
  assert.equal(wrong.status, 401);
  assert.ok(!gw.events.some((e) => JSON.stringify(e).includes(TOKEN)), 'the token was logged');
  gw.child.kill('SIGTERM');
  assert.equal(await gw.exited, 0);
});

for (const point of ['before-rename', 'after-rename'] as const) {
  test(`killed ${point.replace('-', ' the ')}: the config file is the ${point === 'before-rename' ? 'old' : 'new'} version, whole`, async () => {
    const { file, text, service } = config(point);
    const audit = path.join(path.dirname(file), 'audit.jsonl');
    const gw = startProcess({ GATEWAY_CONFIG: file, GATEWAY_ADMIN_TOKEN: TOKEN, GATEWAY_ADMIN_AUDIT_FILE: audit, GATEWAY_TEST_PAUSE_AT: point });
    const adminUrl = String((await gw.waitFor('ready')).adminUrl);
    const headers = { authorization: `Bearer ${TOKEN}` };
    const got = await fetch(`${adminUrl}/admin/api/services/orders`, { headers });
    const etag = got.headers.get('etag')!;
    await got.body?.cancel();
    const changed = { ...service, enabled: false, keyId: 'svc-b' };
    const put = fetch(`${adminUrl}/admin/api/services/orders`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json', 'if-match': etag }, body: JSON.stringify(changed) });
    put.catch(() => undefined); // its connection dies with the process
    const paused = await gw.waitFor('test-paused');
    assert.equal(paused.point, point);
    const tmps = fs.readdirSync(path.dirname(file)).filter((n) => n.endsWith('.tmp'));
    if (point === 'before-rename') assert.equal(tmps.length, 1, 'the temp file is written before the rename');
    gw.child.kill('SIGKILL');
    assert.equal(await gw.exited, 'SIGKILL');
    await assert.rejects(put);
    const after = fs.readFileSync(file, 'utf8');
    const expected = point === 'before-rename' ? text : `${JSON.stringify({ services: [changed] }, null, 2)}\n`;
    assert.equal(after, expected);
    assert.ok(!fs.existsSync(audit), 'no audit line for a change that was not answered');

    // A new process starts from that file.
    const again = startProcess({ GATEWAY_CONFIG: file, GATEWAY_ADMIN_TOKEN: TOKEN });
    const adminUrl2 = String((await again.waitFor('ready')).adminUrl);
    const now = (await (await fetch(`${adminUrl2}/admin/api/services/orders`, { headers })).json()) as Record<string, unknown>;
    assert.deepEqual(now, point === 'before-rename' ? service : changed);
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
  });
}
