// The console in a real headless Chromium (Debian's chromium, driven by puppeteer-core; no
// downloaded browser; loopback only): sign in with the token, toggle a service off and on and
// check the effect at a real upstream, switch the key through the dropdown, get a bad policy path
// refused with nothing saved, see a conflict, and render hostile names, paths and key ids as
// text. Screenshots at 1280x800 and at a phone's width (written to docs/screenshots when
// GATEWAY_UPDATE_SCREENSHOTS=1, else to a temporary directory; their size is checked either way).
// Chromium is registered with the child reaper and closed at the end, as are the servers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { FieldPolicy, KeySet, encryptFields } from '@wireseal/core';
import { DIRECTION_CONTEXT_KEY } from '@wireseal/http';
import { keyView, startGateway } from '@wireseal-apps/gateway';
import type { Gateway } from '@wireseal-apps/gateway';
import { track, untrack } from '@wireseal-tooling/child-reaper';
import { recordingUpstream, tearDown } from './helpers.ts';
import type { Hit } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const executable = (p: string): boolean => {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};
const MISSING = executable(CHROMIUM) ? undefined : `${CHROMIUM} is missing: the console's browser tests need Debian's chromium (./dev setup as root installs it: apt-get install chromium)`;
if (MISSING) process.stderr.write(`gateway console browser tests skipped: ${MISSING}\n`);

const TOKEN = 'browser-admin-token-0123456789';
const EVIL_KID = '<img src=x onerror=window.__xss=3>';
const EVIL_PATH = '<img/src=x/onerror=window.__xss=1>';
const EVIL_SCRIPT_PATH = '<script>window.__xss=2</script>';
const EVIL_DESCRIPTION = '<b onmouseover="window.__xss=4">bold</b><script>window.__xss=5</script>';
const EVIL_NAME = '<img src=x onerror=window.__xss=6>';
const store = KeySet.generate({ kid: 'svc-a' }).addKey({ kid: 'svc-b' }).addKey({ kid: EVIL_KID });
const REQUEST = { [DIRECTION_CONTEXT_KEY]: 'request' };
const policy = FieldPolicy.parse(['card.number']);
const order = { id: 'o-1', card: { number: '4000001234567899' }, note: 'plain' };
const SHOTS = process.env.GATEWAY_UPDATE_SCREENSHOTS === '1' ? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'screenshots') : undefined;

const hits: Hit[] = [];
let upstream: http.Server;
let upstreamUrl: string;
let dir: string;
let shotDir: string;
let configFile: string;
let gateway: Gateway;
let browser: Browser | undefined;
let reaperEntry: { kill(): void } | undefined;
let page: Page;
const pageErrors: string[] = [];
const dialogs: string[] = [];
const cspViolations: string[] = [];

const json = { 'content-type': 'application/json' };
async function post(body: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${gateway.url}/orders/x`, { method: 'POST', headers: json, body });
  const text = await res.text();
  return { status: res.status, ...(res.headers.get('content-type') === 'application/problem+json' ? { code: (JSON.parse(text) as { code: string }).code } : {}) };
}
const sealedWith = (kid: string): string => JSON.stringify(encryptFields(keyView(store, kid), order, policy, { context: REQUEST }));
const text = (selector: string): Promise<string> => page.$eval(selector, (el) => el.textContent ?? '');
const waitText = (selector: string, needle: string, timeout = 10_000): Promise<unknown> =>
  page.waitForFunction((s: string, n: string) => (document.querySelector(s)?.textContent ?? '').includes(n), { timeout }, selector, needle);
const onDisk = (): { services: Array<Record<string, unknown>> } => JSON.parse(fs.readFileSync(configFile, 'utf8')) as { services: Array<Record<string, unknown>> };

/** Reads a PNG's width and height from its IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}
async function shot(name: string, width: number, height: number): Promise<void> {
  await page.setViewport({ width, height, deviceScaleFactor: 1 });
  await new Promise((r) => setTimeout(r, 100));
  const file = path.join(shotDir, `${name}.png`);
  await page.screenshot({ path: file as `${string}.png` });
  assert.deepEqual(pngSize(file), { width, height });
  // Readable at this width: nothing wider than the viewport.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name}: the page is ${overflow}px wider than the viewport`);
}

async function openSettings(name: string): Promise<void> {
  await page.click(`a[aria-label="Settings of ${name}"]`);
  await page.waitForSelector('#settings #save');
}
async function backToList(): Promise<void> {
  await page.click('a.back');
  await page.waitForSelector(`tr[data-service="orders"] td[data-col=state]:not(:empty)`);
}
async function save(expect: string): Promise<void> {
  await page.click('#save');
  await waitText('#verdict', expect);
}

describe('gateway console in headless Chromium', { skip: MISSING }, () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-gateway-console-'));
    shotDir = SHOTS ?? path.join(dir, 'screenshots');
    fs.mkdirSync(shotDir, { recursive: true });
    configFile = path.join(dir, 'gateway.json');
    ({ server: upstream, url: upstreamUrl } = await recordingUpstream(hits));
    fs.writeFileSync(configFile, `${JSON.stringify({ services: [
      { name: 'orders', description: 'orders from the shop', routePrefix: '/orders', upstream: upstreamUrl, enabled: true, keyId: 'svc-a', mode: 'fields', policy: ['card.number'] },
      { name: 'reports', description: 'daily reports, whole bodies sealed', routePrefix: '/reports', upstream: upstreamUrl, enabled: true, keyId: 'svc-b', mode: 'whole', encryption: 'optional' },
      { name: 'hostile', description: EVIL_DESCRIPTION, routePrefix: '/hostile', upstream: upstreamUrl, enabled: false, keyId: EVIL_KID, mode: 'fields', policy: ['card.number', EVIL_PATH, EVIL_SCRIPT_PATH] },
    ] }, null, 2)}\n`);
    gateway = await startGateway({ configFile, keys: store, watchIntervalMs: 100, admin: { token: TOKEN } });

    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps'],
    });
    const proc = browser.process();
    if (proc) track((reaperEntry = { kill: () => proc.kill('SIGKILL') }));
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800, deviceScaleFactor: 1 });
    // Loopback only: any request that leaves 127.0.0.1 fails the test.
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (u.hostname !== '127.0.0.1') {
        pageErrors.push(`request off loopback: ${req.url()}`);
        void req.abort();
      } else void req.continue();
    });
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    if (reaperEntry) untrack(reaperEntry);
    await tearDown(gateway, upstream, dir);
  });

  test('sign in: a wrong token is refused, the right one (typed, Enter) shows the services with their state, mode, key and counters', async () => {
    await page.goto(`${gateway.adminUrl}/admin/`);
    await page.waitForSelector('#token');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'token', 'the token field has the focus');
    await page.type('#token', 'not-the-token-000000');
    await page.keyboard.press('Enter');
    await waitText('#login-error', 'refused');
    await shot('console-sign-in-1280', 1280, 800);
    await page.$eval('#token', (el) => ((el as HTMLInputElement).value = ''));
    await page.type('#token', TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('tr[data-service="orders"] td[data-col=state]:not(:empty)');
    assert.equal(await text('tr[data-service="orders"] td[data-col=state]'), 'Enabled');
    assert.equal(await text('tr[data-service="orders"] td[data-col=mode]'), 'fields');
    assert.equal(await text('tr[data-service="orders"] td[data-col=key]'), 'svc-a');
    assert.equal(await text('tr[data-service="hostile"] td[data-col=state]'), 'Disabled');
    // The token is in memory only: no cookie, no storage.
    assert.deepEqual(await page.cookies(), []);
    assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
    assert.ok(!(await page.content()).includes(TOKEN));
  });

  test('toggle off: a plaintext request passes through untouched to the upstream; the counters follow', async () => {
    await openSettings('orders');
    await page.waitForSelector('#enabled');
    assert.equal(await page.$eval('#enabled', (el) => (el as HTMLInputElement).checked), true);
    assert.equal(await text('#algorithm'), 'A256KW + A256GCM');
    // Keyboard: focus the switch, Space toggles it, then Save.
    await page.focus('#enabled');
    await page.keyboard.press('Space');
    assert.equal(await page.$eval('#enabled', (el) => (el as HTMLInputElement).checked), false);
    await page.focus('#save');
    await page.keyboard.press('Enter');
    await waitText('#verdict', 'Saved');
    assert.match(await text('#verdict'), /changed: enabled/);
    assert.equal(onDisk().services[0]!.enabled, false);
    const raw = '{"card":{"number":"4000001234567899"},  "note":"plain"}';
    const before = hits.length;
    assert.deepEqual(await post(raw), { status: 200 });
    assert.equal(hits.length, before + 1);
    assert.equal(hits.at(-1)!.url, '/x');
    assert.equal(hits.at(-1)!.body.toString('utf8'), raw, 'the upstream got the bytes as sent');
    await backToList();
    assert.equal(await text('tr[data-service="orders"] td[data-col=state]'), 'Disabled');
    await waitText('tr[data-service="orders"] td[data-col=passed]', '1');
    assert.equal(await text('tr[data-service="orders"] td[data-col=requests]'), '1');
    await waitText('#audit', 'enabled: true → false');
    await shot('console-services-1280', 1280, 800);
  });

  test('toggle on: a plaintext request is refused with 4xx and never forwarded', async () => {
    await openSettings('orders');
    await page.click('#enabled');
    await save('Saved');
    assert.equal(onDisk().services[0]!.enabled, true);
    const before = hits.length;
    assert.deepEqual(await post('{"card":{"number":"4000001234567899"}}'), { status: 422, code: 'ERR_PLAINTEXT_FIELD' });
    assert.equal(hits.length, before, 'forwarded');
    await backToList();
    await waitText('tr[data-service="orders"] td[data-col=refused]', 'ERR_PLAINTEXT_FIELD 1');
  });

  test('key switch through the dropdown: the new key opens; the old one until it is removed from the accepted keys', async () => {
    await openSettings('orders');
    const options = await page.$$eval('#keyId option', (os) => os.map((o) => o.textContent));
    assert.deepEqual(options, ['svc-a', 'svc-b', EVIL_KID]);
    await page.select('#keyId', 'svc-b');
    await page.click('#accepted input[value="svc-a"]');
    await save('Saved');
    assert.deepEqual({ keyId: onDisk().services[0]!.keyId, acceptKeyIds: onDisk().services[0]!.acceptKeyIds }, { keyId: 'svc-b', acceptKeyIds: ['svc-a'] });
    assert.equal((await post(sealedWith('svc-b'))).status, 200);
    assert.equal((await post(sealedWith('svc-a'))).status, 200);
    await shot('console-settings-1280', 1280, 800);
    await page.click('#accepted input[value="svc-a"]');
    await save('Saved');
    assert.deepEqual(onDisk().services[0]!.acceptKeyIds, []);
    assert.equal((await post(sealedWith('svc-b'))).status, 200);
    const before = hits.length;
    assert.deepEqual(await post(sealedWith('svc-a')), { status: 400, code: 'ERR_KEY_UNKNOWN' });
    assert.equal(hits.length, before);
  });

  test('a bad policy path: the error shows as you type and on Save, and nothing is saved (file unchanged byte for byte)', async () => {
    const bytes = fs.readFileSync(configFile);
    const version = gateway.version();
    await page.click('#policy');
    await page.keyboard.press('End');
    await page.keyboard.type('\ncard..number');
    await waitText('#policy-error', 'policy');
    assert.equal(await page.$eval('#policy', (el) => el.getAttribute('aria-invalid')), 'true');
    assert.ok(fs.readFileSync(configFile).equals(bytes));
    await save('Not saved');
    assert.match(await text('#verdict'), /422 ERR_POLICY_INVALID/);
    assert.ok(fs.readFileSync(configFile).equals(bytes), 'the config file changed');
    assert.equal(gateway.version(), version);
    await shot('console-policy-error-1280', 1280, 800);
    // Fixed as you type: the error goes away.
    await page.$eval('#policy', (el) => {
      const t = el as HTMLTextAreaElement;
      t.focus();
      t.setSelectionRange(t.value.length, t.value.length); // the caret at the end, as after a click there
    });
    for (let i = 0; i < '\ncard..number'.length; i++) await page.keyboard.press('Backspace');
    assert.equal(await page.$eval('#policy', (el) => (el as HTMLTextAreaElement).value), 'card.number');
    await page.waitForFunction(() => (document.querySelector('#policy-error')?.textContent ?? '') === '', { timeout: 10_000 });
    assert.equal(await page.$eval('#policy', (el) => el.getAttribute('aria-invalid')), null);
  });

  test('a conflict: someone else saved first; Save says so and offers a reload', async () => {
    await page.click('#reload');
    await page.waitForSelector('#settings #save');
    // Another operator changes the service through the API.
    const got = await fetch(`${gateway.adminUrl}/admin/api/services/orders`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const current = (await got.json()) as Record<string, unknown>;
    const other = await fetch(`${gateway.adminUrl}/admin/api/services/orders`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, ...json, 'if-match': got.headers.get('etag')! }, body: JSON.stringify({ ...current, encryption: 'optional' }) });
    assert.equal(other.status, 200);
    await page.click('#enabled');
    const bytes = fs.readFileSync(configFile);
    await save('someone else changed');
    assert.ok(fs.readFileSync(configFile).equals(bytes));
    assert.equal(onDisk().services[0]!.enabled, true);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'conflict-reload');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (document.querySelector('#encryption-optional') as HTMLInputElement | null)?.checked === true, { timeout: 10_000 });
    assert.equal(await page.$eval('#enabled', (el) => (el as HTMLInputElement).checked), true);
  });

  test('every control has a label', async () => {
    const unlabelled = await page.$$eval('#settings input, #settings select, #settings textarea', (els) =>
      els.filter((el) => ((el as HTMLInputElement).labels?.length ?? 0) === 0 && !el.getAttribute('aria-labelledby') && !el.getAttribute('aria-label')).map((el) => el.id || el.outerHTML.slice(0, 60)));
    assert.deepEqual(unlabelled, []);
  });

  test('narrow screen: the list and the settings fit a phone\'s width', async () => {
    await page.click('a.back');
    await page.waitForSelector('tr[data-service="orders"] td[data-col=state]:not(:empty)');
    await shot('console-services-narrow', 390, 844);
    await openSettings('orders');
    await shot('console-settings-narrow', 390, 844);
    await page.setViewport({ width: 1280, height: 800, deviceScaleFactor: 1 });
  });

  test('XSS: hostile service names, descriptions, policy paths and key ids render as text; no script runs', async () => {
    await page.click('a.back');
    await page.waitForSelector('tr[data-service="hostile"] .desc');
    assert.equal(await text('tr[data-service="hostile"] .desc'), EVIL_DESCRIPTION);
    assert.equal(await text('tr[data-service="hostile"] td[data-col=key]'), EVIL_KID);
    await openSettings('hostile');
    assert.equal(await text('#description'), EVIL_DESCRIPTION);
    assert.deepEqual(await page.$$eval('#policy-paths li', (li) => li.map((l) => l.textContent)), ['card.number', EVIL_PATH, EVIL_SCRIPT_PATH]);
    assert.equal(await page.$eval('#policy', (el) => (el as HTMLTextAreaElement).value), ['card.number', EVIL_PATH, EVIL_SCRIPT_PATH].join('\n'));
    assert.equal(await page.$eval('#keyId', (el) => (el as HTMLSelectElement).selectedOptions[0]!.textContent), EVIL_KID);
    // A hostile path typed in: the gateway's error echoes it, as text.
    await page.click('#policy');
    await page.keyboard.press('End');
    await page.keyboard.type(`\n${EVIL_PATH}.x`); // inside a path already there: refused
    await waitText('#policy-error', EVIL_PATH);
    // A hostile service name in the address.
    await page.evaluate((n: string) => (location.hash = `#/services/${encodeURIComponent(n)}`), EVIL_NAME);
    await page.waitForSelector('#load-error');
    assert.equal(await text('#settings-title .name'), EVIL_NAME);
    assert.match(await text('#load-error'), new RegExp(`No service named “${EVIL_NAME.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}”`));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined, 'a hostile string ran as script');
    assert.equal(await page.$$eval('main img, main script, main b', (els) => els.length), 0, 'a hostile string became an element');
    assert.deepEqual(dialogs, []);
  });

  test('no page errors, no CSP violations, no request off loopback; the token is gone after a reload', async () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(cspViolations, []);
    const res = await page.reload();
    assert.match(res!.headers()['content-security-policy']!, /default-src 'none'/);
    await page.waitForSelector('#token');
    assert.equal(await page.$('#services'), null);
  });
});

describe('gateway console browser tests on CI', () => {
  test('chromium is installed where setup could install it (root)', { skip: !process.env.CI ? 'not on CI' : false }, () => {
    assert.equal(MISSING, undefined, MISSING);
  });
});
