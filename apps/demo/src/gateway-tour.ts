/**
 * The gateway part of the demo: a partner calls payments-api's plaintext
 * payouts route through the gateway, which opens the partner's sealed fields
 * with the partner's key and seals the answer; a tampered call is refused and
 * never forwarded; a disabled service passes through; and the partner's key
 * is switched by editing the configuration file, without a restart. Through the
 * gateway's admin API (the console's API), the partner service is switched off,
 * a plaintext call passes through untouched, and it is switched back on. With a
 * second gateway instance sharing a Redis replay store, a whole-payload request
 * accepted by the first is captured and replayed to the second, which refuses it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FieldPolicy, decodeProtectedHeader, encryptFields } from '@wireseal/core';
import type { KeySet } from '@wireseal/core';
import { DIRECTION_CONTEXT_KEY } from '@wireseal/http';
import { createFetch } from '@wireseal/http/fetch';
import type { FetchLike } from '@wireseal/http/fetch';
import { keyView } from '@wireseal-apps/gateway';
import type { Child } from './children.ts';
import type { Checks } from './report.ts';
import { detail } from './report.ts';

const PARTNER_POLICY = ['beneficiary.iban', 'beneficiary.name'];

/** The gateway configuration the demo writes (keys by id only). */
export function gatewayConfig(paymentsUrl: string, partnerKeyId: string): object {
  return {
    services: [
      {
        name: 'partner-payouts',
        description: 'ACME schedules payouts; beneficiary details are sealed end to end up to the gateway',
        routePrefix: '/partner',
        upstream: paymentsUrl,
        enabled: true,
        keyId: partnerKeyId,
        mode: 'fields',
        policy: PARTNER_POLICY,
      },
      {
        name: 'partner-payouts-whole',
        description: 'the same payouts, the whole body sealed (application/jose, replay-checked: in Redis when the gateways share it)',
        routePrefix: '/partner-whole',
        upstream: paymentsUrl,
        enabled: true,
        keyId: 'partner-acme-1',
        mode: 'whole',
      },
      { name: 'status', description: 'health checks: nothing to seal', routePrefix: '/status', upstream: paymentsUrl, enabled: false, keyId: 'partner-acme-1', mode: 'whole' },
    ],
  };
}

/** Writes the configuration atomically (temp file + rename), as a deployment tool would. */
export function writeGatewayConfig(file: string, config: object): void {
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

async function payoutsHits(paymentsUrl: string): Promise<number> {
  return ((await (await fetch(`${paymentsUrl}/stats`)).json()) as { payouts: number }).payouts;
}

const payout = { partner: 'acme', amount: { value: 50_000, currency: 'EUR' }, beneficiary: { name: 'ACME Supplies Ltd', iban: 'DE89370400440532013000' } };

/** Sets `enabled` on a service through the gateway's admin API (GET for the ETag, PUT with If-Match); returns the config version in force. */
async function setEnabled(admin: { url: string; token: string }, name: string, enabled: boolean): Promise<{ status: number; version: number; enabledNow: boolean }> {
  const headers = { authorization: `Bearer ${admin.token}` };
  const url = `${admin.url}/admin/api/services/${name}`;
  const got = await fetch(url, { headers });
  const service = (await got.json()) as Record<string, unknown>;
  const put = await fetch(url, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json', 'if-match': got.headers.get('etag') ?? '' }, body: JSON.stringify({ ...service, enabled }) });
  const body = (await put.json()) as { version?: number; service?: { enabled?: boolean } };
  return { status: put.status, version: body.version ?? 0, enabledNow: body.service?.enabled === enabled };
}

/** Runs the gateway calls and records the checks; `gateway2` is a second instance sharing the first one's Redis replay store; `admin` is the first one's admin API. */
export async function gatewayTour(opts: { gateway: Child; gatewayUrl: string; gateway2?: { url: string }; admin: { url: string; token: string }; paymentsUrl: string; configFile: string; store: KeySet; checks: Checks }): Promise<void> {
  const { gatewayUrl, paymentsUrl, checks } = opts;
  const partner1 = keyView(opts.store, 'partner-acme-1');
  const partner2 = keyView(opts.store, 'partner-acme-2');
  const policy = FieldPolicy.parse(PARTNER_POLICY);
  // Calls sealed here with the core directly (to tamper with one, or to show a key change) name
  // their direction, as @wireseal/http does for every shared-key token.
  const REQUEST = { [DIRECTION_CONTEXT_KEY]: 'request' };
  const url = `${gatewayUrl}/partner/payouts`;
  const postSealed = (body: unknown): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const codeOf = async (res: Response): Promise<string> => ((await res.json()) as { code?: string }).code ?? `HTTP ${res.status}`;

  // 1. A sealed partner call: the gateway opens it, payments-api sees plaintext, the answer is sealed back.
  let hits = await payoutsHits(paymentsUrl);
  const sfetch = createFetch({ keys: partner1, mode: 'fields', policy: PARTNER_POLICY });
  const res = await sfetch(url, { method: 'POST', body: JSON.stringify(payout) });
  const answer = (await res.json()) as { payoutId?: string; beneficiary?: { iban?: string } };
  const forwarded = (await payoutsHits(paymentsUrl)) === hits + 1;
  checks.add('gateway: partner call', res.status === 201 && forwarded && answer.beneficiary?.iban === payout.beneficiary.iban,
    `partner call (fields, key partner-acme-1) → ${res.status} ${answer.payoutId ?? ''}: opened at the gateway, forwarded as plaintext, answer sealed back and opened by the partner`);

  // 2. A tampered call: problem+json, and payments-api never sees it.
  hits = await payoutsHits(paymentsUrl);
  const sealed = encryptFields(partner1, payout, policy, { context: REQUEST }) as { beneficiary: { iban: string } };
  const t = sealed.beneficiary.iban;
  const at = t.lastIndexOf('.') - 2;
  sealed.beneficiary.iban = t.slice(0, at) + (t[at] === 'x' ? 'y' : 'x') + t.slice(at + 1);
  const bad = await postSealed(sealed);
  const badType = bad.headers.get('content-type') ?? '';
  const badCode = await codeOf(bad);
  const notForwarded = (await payoutsHits(paymentsUrl)) === hits;
  checks.add('gateway: tampered call refused', bad.status === 400 && badType.startsWith('application/problem+json') && badCode === 'ERR_DECRYPT' && notForwarded,
    `tampered partner call → ${bad.status} ${badType.split(';')[0]} ${badCode}; upstream calls unchanged (${notForwarded ? 'not forwarded' : 'FORWARDED'})`);

  // 3. A service with payload encryption off: bytes pass through untouched.
  const health = await fetch(`${gatewayUrl}/status/health`);
  const healthBody = await health.text();
  checks.add('gateway: disabled service passes through', health.status === 200 && healthBody === '{"ok":true}',
    `service "status" (enabled: false) → ${health.status} ${healthBody} passed through untouched`);

  // 3b. Payload encryption off and on again through the admin API (what the console does): in between, a plaintext call passes through untouched.
  const off = await setEnabled(opts.admin, 'partner-payouts', false);
  hits = await payoutsHits(paymentsUrl);
  const statsOf = async (): Promise<{ untouched: number; decrypted: number }> =>
    ((await (await fetch(`${gatewayUrl}/_gateway/stats`)).json()) as Record<string, { untouched: number; decrypted: number }>)['partner-payouts'] ?? { untouched: 0, decrypted: 0 };
  const before = await statsOf();
  const plain = await postSealed(payout); // plaintext: the service is off
  const plainBody = (await plain.json()) as { payoutId?: string; beneficiary?: { iban?: string } };
  const after = await statsOf();
  const plainForwarded = (await payoutsHits(paymentsUrl)) === hits + 1;
  const on = await setEnabled(opts.admin, 'partner-payouts', true);
  const fileNow = (JSON.parse(fs.readFileSync(opts.configFile, 'utf8')) as { services: Array<{ name: string; enabled: boolean }> }).services.find((s) => s.name === 'partner-payouts');
  checks.add('gateway: toggled off and on through the admin API',
    off.status === 200 && off.enabledNow && plain.status === 201 && plainForwarded && plainBody.beneficiary?.iban === payout.beneficiary.iban
      && after.untouched === before.untouched + 1 && after.decrypted === before.decrypted && on.status === 200 && on.enabledNow && fileNow?.enabled === true,
    `admin API: partner-payouts off (config v${off.version}) → a plaintext call passed through untouched (${plain.status} ${plainBody.payoutId ?? ''}, untouched ${before.untouched} → ${after.untouched}, the answer not sealed) → on again (v${on.version}, written to ${path.basename(opts.configFile)}), no restart`);

  // 4. Replay across instances: a whole-payload call accepted by gateway 1, the exact bytes replayed to gateway 2.
  if (opts.gateway2) {
    let captured: { url: string; method: string; headers: Headers; body: string | Uint8Array<ArrayBuffer> } | undefined;
    const capture: FetchLike = (input, init) => {
      captured = { url: String(input), method: init?.method ?? 'GET', headers: new Headers(init?.headers), body: init?.body as string | Uint8Array<ArrayBuffer> };
      return fetch(input, init);
    };
    const wfetch = createFetch({ keys: partner1, mode: 'whole', fetch: capture });
    hits = await payoutsHits(paymentsUrl);
    const first = await wfetch(`${gatewayUrl}/partner-whole/payouts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payout) });
    const firstBody = (await first.json()) as { payoutId?: string };
    const sent = captured!;
    const replayUrl = sent.url.replace(gatewayUrl, opts.gateway2.url);
    const replayed = await fetch(replayUrl, { method: sent.method, headers: sent.headers, body: sent.body });
    const replayType = replayed.headers.get('content-type') ?? '';
    const replayCode = await codeOf(replayed);
    const delta = (await payoutsHits(paymentsUrl)) - hits;
    const size = typeof sent.body === 'string' ? Buffer.byteLength(sent.body) : sent.body.byteLength;
    checks.add('gateway: replay refused by another instance', first.status === 201 && replayed.status === 400 && replayCode === 'ERR_REPLAY' && delta === 1,
      `whole-payload call through gateway 1 → ${first.status} ${firstBody.payoutId ?? ''}; the same ${sent.headers.get('content-type')} request (${size} bytes, captured) replayed to gateway 2 → ${replayed.status} ${replayType.split(';')[0]} ${replayCode}; upstream called once (${delta === 1 ? 'the replay was not forwarded' : `${delta} times`})`);
  }

  // 5. Switch the partner to its next key by editing the file; no restart.
  const from = opts.gateway.events.length;
  writeGatewayConfig(opts.configFile, gatewayConfig(paymentsUrl, 'partner-acme-2'));
  const loaded = await opts.gateway.waitFor((e) => e.event === 'config-loaded', from, 10_000);
  hits = await payoutsHits(paymentsUrl);
  const oldKey = await postSealed(encryptFields(partner1, payout, policy, { context: REQUEST }));
  const oldCode = await codeOf(oldKey);
  const newKey = await postSealed(encryptFields(partner2, payout, policy, { context: REQUEST }));
  const newBody = (await newKey.json()) as { beneficiary?: { iban?: string } };
  const newKid = typeof newBody.beneficiary?.iban === 'string' ? decodeProtectedHeader(newBody.beneficiary.iban).kid : undefined;
  const delta = (await payoutsHits(paymentsUrl)) - hits;
  checks.add('gateway: key change without restart', oldKey.status === 400 && oldCode === 'ERR_KEY_UNKNOWN' && newKey.status === 201 && newKid === 'partner-acme-2' && delta === 1,
    `config v${String(loaded.version)} (keyId partner-acme-2, no restart): old key → ${oldKey.status} ${oldCode}, new key → ${newKey.status}, answer sealed with ${newKid ?? '?'}`);
  detail('The configuration names keys by id only; key material stays in the gateway key store.');
}
