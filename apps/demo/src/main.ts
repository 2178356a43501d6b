/**
 * The wireseal demo, the README's main command (`./dev demo`):
 *
 *   checkout ──HTTP, fields sealed──▶ payments-api ──Kafka, fields sealed for the topic──▶ ledger-worker
 *   partner  ──HTTP, fields sealed──▶ gateway ──plaintext──▶ payments-api
 *
 * It creates a local key set on first run (`.demo/keyset.json`, mode 0600),
 * starts a real Kafka broker (tooling/local-kafka) and the services as child
 * processes, sends a few hundred payments and some poison records, calls
 * through the gateway, prints one request body and one Kafka record as they
 * crossed the wire, the counts, and checks that neither the topic read raw
 * nor the broker's log directory holds a card number. Exit code 0 only when
 * every check passed.
 *
 * Flags: --secrets-manager (keys from a local Secrets Manager instead of the
 * file), --count N (payments, default 300), --no-kafka (HTTP part only),
 * --dir DIR (instead of <repo>/.demo).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { contextDigest, decodeProtectedHeader } from '@wireseal/core';
import type { JsonValue } from '@wireseal/core';
import { generatePayments } from '@wireseal-apps/checkout';
import { EVENT_POLICY, PAYMENTS_TOPIC } from '@wireseal-apps/payments-api';
import { startKafka } from '@wireseal-tooling/local-kafka';
import { secretsManagerAvailable } from '@wireseal-tooling/local-secrets';
import type { Child } from './children.ts';
import { appMain, runToEnd, startChild } from './children.ts';
import { gatewayConfig, gatewayTour, writeGatewayConfig } from './gateway-tour.ts';
import { kafkaMissing, poisonRecords, publishRaw, readRaw } from './kafka-tools.ts';
import type { RawRecord } from './kafka-tools.ts';
import { ensureDemoKeys, startDemoSecrets } from './keys.ts';
import type { DemoSecrets } from './keys.ts';
import type { Needles } from './leak.ts';
import { emptyScan, scanBytes, scanDirectory } from './leak.ts';
import { Checks, block, bold, detail, dim, say, section, step, table } from './report.ts';
import { startWiretap } from './wiretap.ts';
import type { Wiretap } from './wiretap.ts';

const { values } = parseArgs({
  options: {
    'secrets-manager': { type: 'boolean', default: false },
    'no-kafka': { type: 'boolean', default: false },
    count: { type: 'string', default: '300' },
    dir: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  say('usage: ./dev demo [--secrets-manager] [--no-kafka] [--count N] [--dir DIR]');
  process.exit(0);
}
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1 || count > 100_000) {
  process.stderr.write('demo: --count must be an integer from 1 to 100000\n');
  process.exit(2);
}

const ROOT = process.env.WIRESEAL_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const demoDir = path.resolve(values.dir ?? process.env.WIRESEAL_DEMO_DIR ?? path.join(ROOT, '.demo'));
const runDir = path.join(demoDir, 'run');
/** A path relative to the repository when it is inside it (`.demo/keyset.json`), else absolute. */
const rel = (p: string): string => {
  const r = path.relative(ROOT, p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
};
const t0 = performance.now();
const since = (): number => performance.now() - t0;
const checks = new Checks();
const cleanups: Array<() => Promise<unknown>> = [];
const POISON_COUNT = 5;
let kafkaSkipped: string | undefined;

async function main(): Promise<void> {
  say(bold('wireseal demo') + dim(' — checkout → payments-api → Kafka → ledger-worker, and a partner call through the gateway'));
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });

  // ── Keys ──────────────────────────────────────────────────────────────────
  step('Keys', since());
  const keys = ensureDemoKeys(demoDir);
  const mode = (f: string): string => (fs.statSync(f).mode & 0o777).toString(8).padStart(4, '0');
  detail(`${rel(keys.servicesFile)} ${keys.created ? 'created' : 'reused'} (mode ${mode(keys.servicesFile)}): primary kid ${keys.services.primaryKid}; shared by checkout, payments-api, ledger-worker`);
  detail(`${rel(keys.gatewayFile)} (mode ${mode(keys.gatewayFile)}): the gateway's key store, kids ${keys.gateway.list().map((k) => k.kid).join(', ')}`);
  let secrets: DemoSecrets | undefined;
  if (values['secrets-manager']) {
    const avail = secretsManagerAvailable();
    if (!avail.ok) throw new Error(`--secrets-manager: ${avail.reason}`);
    secrets = await startDemoSecrets(keys);
    cleanups.push(() => secrets!.handle.stop());
    detail(`Secrets Manager (local moto at ${secrets.handle.endpoint}): secrets ${secrets.servicesSecretId} and ${secrets.gatewaySecretId} created; the services read their keys from there, not from the files`);
  }

  // ── Kafka ─────────────────────────────────────────────────────────────────
  step('Kafka', since());
  const missing = values['no-kafka'] ? ['--no-kafka given'] : kafkaMissing(ROOT);
  let broker: Awaited<ReturnType<typeof startKafka>> | undefined;
  let topic = PAYMENTS_TOPIC;
  if (missing) {
    kafkaSkipped = values['no-kafka'] ? '--no-kafka' : 'Kafka cannot run here, see above';
    detail(bold('Kafka part skipped; running the HTTP part only.'));
    for (const line of missing) detail(line);
  } else {
    broker = await startKafka();
    cleanups.push(() => broker!.stop());
    if (broker.external) topic = `${PAYMENTS_TOPIC}.demo-${Date.now()}`; // a shared cluster: our own topic
    detail(broker.external ? `existing cluster ${broker.brokers.join(',')} (WIRESEAL_KAFKA_BROKERS)` : `local broker ${broker.brokers.join(',')} (Kafka 3.9, KRaft), data in ${broker.logDir}`);
  }
  const dlqTopic = `${topic}.dlq`;

  // ── Services ──────────────────────────────────────────────────────────────
  step('Services', since());
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['WIRESEAL_KEYSET', 'WIRESEAL_KEYSET_FILE', 'WIRESEAL_SECRET_ID', 'PORT', 'KAFKA_BROKERS']) delete base[k];
  const servicesKeys = secrets ? { ...secrets.env, WIRESEAL_SECRET_ID: secrets.servicesSecretId } : { WIRESEAL_KEYSET_FILE: keys.servicesFile };
  const gatewayKeys = secrets ? { ...secrets.env, WIRESEAL_SECRET_ID: secrets.gatewaySecretId } : { WIRESEAL_KEYSET_FILE: keys.gatewayFile };
  const kafkaEnv = broker ? { KAFKA_BROKERS: broker.brokers.join(','), PAYMENTS_TOPIC: topic } : {};
  const children: Child[] = [];
  cleanups.push(() => Promise.all(children.map((c) => c.stop())));
  const [payments, ledger] = await Promise.all([
    startChild('payments-api', appMain('payments-api'), { ...base, ...servicesKeys, ...kafkaEnv }, runDir),
    broker
      ? startChild('ledger-worker', appMain('ledger-worker'), { ...base, ...servicesKeys, ...kafkaEnv, LEDGER_FILE: path.join(runDir, 'ledger.jsonl'), DLQ_TOPIC: dlqTopic }, runDir)
      : Promise.resolve(undefined),
  ]);
  children.push(payments);
  if (ledger) children.push(ledger);
  const paymentsUrl = String(payments.ready.url);
  const gatewayFile = path.join(runDir, 'gateway.json');
  writeGatewayConfig(gatewayFile, gatewayConfig(paymentsUrl, 'partner-acme-1'));
  const gateway = await startChild('gateway', appMain('gateway'), { ...base, ...gatewayKeys, GATEWAY_CONFIG: gatewayFile }, runDir);
  children.push(gateway);
  const gatewayUrl = String(gateway.ready.url);
  const tap: Wiretap = await startWiretap(paymentsUrl);
  cleanups.push(() => tap.stop());
  detail(`payments-api   ${paymentsUrl}  ${broker ? `(publishes to ${topic})` : '(Kafka publishing off)'}`);
  if (ledger) detail(`ledger-worker  ${String(ledger.ready.url)}  (consumes ${topic}, dead letters to ${dlqTopic}, ledger ${rel(path.join(runDir, 'ledger.jsonl'))})`);
  detail(`gateway        ${gatewayUrl}  (config ${rel(gatewayFile)}, watched)`);
  detail(`wire tap       ${tap.url} → payments-api  (keeps a copy of every request body checkout sends)`);
  detail(secrets
    ? `keys: every service reads its secret from Secrets Manager (secretsManagerKeyProvider: cached, refreshed, AWSPREVIOUS kept decrypt-only)`
    : `keys: every service reads its key file (fileKeyProvider: re-read when the file changes)`);
  detail(dim(`logs: ${rel(runDir)}/*.log`));

  // ── Payments ──────────────────────────────────────────────────────────────
  step(`Payments: ${count} through checkout → payments-api${broker ? ' → Kafka → ledger-worker' : ''}`, since());
  const seed = `run-${Date.now()}`;
  const sent = generatePayments(count, seed);
  const tPay = performance.now();
  const checkout = await runToEnd('checkout', appMain('checkout'), ['--payments-url', tap.url, '--count', String(count), '--seed', seed, '--concurrency', '8', '--json'], { ...base, ...servicesKeys }, runDir);
  const summary = checkout.events.find((e) => e.event === 'summary') as { sent?: number; authorized?: number; refused?: Record<string, number> } | undefined;
  const payMs = performance.now() - tPay;
  detail(`checkout sent ${summary?.sent ?? 0} payments in ${(payMs / 1000).toFixed(1)} s (${Math.round((summary?.sent ?? 0) / (payMs / 1000))}/s, 8 in flight), each with card.number, card.cvv and customer.ssn sealed`);
  let poison: ReturnType<typeof poisonRecords> = [];
  if (broker) {
    const docs = generatePayments(POISON_COUNT, `${seed}-poison`).map((p) => ({ type: 'payment.authorized', id: `poison-${p.id}`, card: { number: p.card.number, last4: p.card.number.slice(-4) }, customer: { name: p.customer.name, ssn: p.customer.ssn } }));
    poison = poisonRecords(keys.services, topic, EVENT_POLICY, docs as unknown as JsonValue[]);
    await publishRaw(broker.brokers, topic, poison);
    detail(`${poison.length} poison records published straight to ${topic}: ${poison.map((p) => p.key.replace('poison-', '')).join(', ')}`);
  }
  const paymentStats = (await (await fetch(`${paymentsUrl}/stats`)).json()) as { received: number; fieldsDecrypted: number; authorized: number; published: number; refusedByCode: Record<string, number> };

  let ledgerStats: { appended: number; verified: number; decrypted: number; deadLettered: number; deadLetteredByCode: Record<string, number> } | undefined;
  if (ledger) {
    const until = Date.now() + 60_000;
    for (;;) {
      ledgerStats = (await (await fetch(`${String(ledger.ready.url)}/stats`)).json()) as typeof ledgerStats;
      if (ledgerStats!.appended >= paymentStats.published && ledgerStats!.deadLettered >= poison.length) break;
      if (Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    detail(`ledger-worker appended ${ledgerStats!.appended} and dead-lettered ${ledgerStats!.deadLettered}`);
  }

  // ── Gateway ───────────────────────────────────────────────────────────────
  step('Gateway: a partner calls payments-api through the gateway', since());
  await gatewayTour({ gateway, gatewayUrl, paymentsUrl, configFile: gatewayFile, store: keys.gateway, checks });

  // ── What crossed the wire ─────────────────────────────────────────────────
  const firstReq = tap.requests[0];
  if (firstReq) {
    section('A request body as it crossed the wire (checkout → payments-api)');
    say(`    ${firstReq.method} ${firstReq.path}   content-type: ${firstReq.headers['content-type']}   wireseal: ${firstReq.headers.wireseal}`);
    const doc = JSON.parse(firstReq.body.toString('utf8')) as { card: { number: string } };
    block(JSON.stringify(doc, null, 2));
    say(dim(`    card.number token header: ${JSON.stringify(decodeProtectedHeader(doc.card.number))}`));
  }

  let raw: Map<string, RawRecord[]> | undefined;
  if (broker && ledgerStats) {
    raw = await readRaw(broker.brokers, { [topic]: paymentStats.published + poison.length, [dlqTopic]: poison.length });
    const rec = raw.get(topic)![0];
    if (rec) {
      section(`A Kafka record as the broker holds it (${topic}, offset ${rec.offset}, read raw)`);
      say(`    key: ${rec.key}   headers: ${Object.entries(rec.headers).map(([k, v]) => `${k}=${v}`).join(', ')}`);
      const doc = JSON.parse(rec.value.toString('utf8')) as { card: { number: string } };
      block(JSON.stringify(doc, null, 2));
      say(dim(`    card.number token header: ${JSON.stringify(decodeProtectedHeader(doc.card.number))}`));
      say(dim(`    wsc = the topic binding, base64url(SHA-256('[["topic","${topic}"]]')[0..16]) = ${contextDigest({ topic })}; the CVV is not in the event at all`));
    }
  }

  // ── Counts ────────────────────────────────────────────────────────────────
  section('Counts');
  const rows: Array<[string, string | number, string?]> = [
    ['sent by checkout', summary?.sent ?? 0],
    ['opened by payments-api', paymentStats.received, `${paymentStats.fieldsDecrypted} fields`],
    ['authorized', paymentStats.authorized],
  ];
  if (broker && ledgerStats) {
    const dlqCodes = Object.entries(ledgerStats.deadLetteredByCode).map(([c, n]) => `${c} ${n}`).join(', ');
    rows.push(
      [`published to ${topic}`, paymentStats.published],
      ['poison records published', poison.length],
      ['opened by ledger-worker', ledgerStats.decrypted],
      ['appended to the ledger', ledgerStats.appended, `${ledgerStats.verified} verified (Luhn + last4)`],
      ['dead-lettered', ledgerStats.deadLettered, dlqCodes],
    );
  }
  table(rows);
  say();
  checks.add('checkout', summary?.sent === count && summary.authorized === count && checkout.code === 0,
    `checkout: ${summary?.authorized ?? 0}/${count} authorized${summary && Object.keys(summary.refused ?? {}).length > 0 ? `, refused ${JSON.stringify(summary.refused)}` : ''}`);
  checks.add('payments-api', paymentStats.received === count && paymentStats.fieldsDecrypted === 3 * count,
    `payments-api opened ${paymentStats.received} requests, ${paymentStats.fieldsDecrypted} sealed fields`);
  if (broker && ledgerStats && raw) {
    checks.add('published', paymentStats.published === count, `${paymentStats.published}/${count} payment.authorized events published`);
    checks.add('ledger', ledgerStats.decrypted === count && ledgerStats.appended === count && ledgerStats.verified === count,
      `ledger-worker opened and appended ${ledgerStats.appended}/${count} events`);
    const expected = Object.fromEntries(poison.map((p) => [p.expected, 1]));
    const dlq = raw.get(dlqTopic)!;
    const dlqOk = ledgerStats.deadLettered === poison.length && JSON.stringify(Object.fromEntries(Object.entries(ledgerStats.deadLetteredByCode).sort())) === JSON.stringify(Object.fromEntries(Object.entries(expected).sort()))
      && dlq.length === poison.length && dlq.every((r) => poison.some((p) => p.key === r.key && p.value === r.value.toString('utf8') && p.expected === r.headers['wireseal-error']));
    checks.add('dead letters', dlqOk, `${dlq.length}/${poison.length} poison records in ${dlqTopic}, byte for byte, each with its error code in wireseal-error`);
  }

  // ── Leak check ────────────────────────────────────────────────────────────
  section('Leak check: are the card numbers or SSNs anywhere they should not be?');
  const needles: Needles = { cards: new Set(sent.map((p) => p.card.number)), ssns: new Set(sent.map((p) => p.customer.ssn)), ids: new Set(sent.map((p) => p.id)) };
  const secretsCount = needles.cards.size + needles.ssns.size;
  const report = (where: string, r: ReturnType<typeof emptyScan>, what: string): void => {
    checks.add(`leak: ${where}`, r.secretsFound.size === 0 && r.controlsFound.size === needles.ids.size,
      `${where}: ${what}; ${r.secretsFound.size} of ${secretsCount} card numbers/SSNs found ${dim(`(control: ${r.controlsFound.size}/${needles.ids.size} payment ids found)`)}`);
  };
  const wire = emptyScan();
  for (const r of tap.requests) scanBytes(r.body, needles, wire);
  report('HTTP wire', wire, `${tap.requests.length} request bodies, ${(wire.bytes / 1024).toFixed(0)} KiB`);
  if (broker && raw) {
    const topicScan = emptyScan();
    for (const r of raw.get(topic)!) scanBytes(r.value, needles, topicScan);
    report('topic read raw', topicScan, `${raw.get(topic)!.length} records of ${topic}, no keys`);
    if (broker.external) detail('broker log directory: not available for an external cluster (WIRESEAL_KAFKA_BROKERS)');
    else {
      const disk = scanDirectory(broker.logDir, needles);
      report('broker log dir', disk, `${disk.files} files, ${(disk.bytes / 1024 / 1024).toFixed(1)} MiB under ${broker.logDir}`);
    }
    const ledgerScan = scanBytes(fs.readFileSync(path.join(runDir, 'ledger.jsonl')), needles);
    report('ledger file', ledgerScan, 'the ledger keeps the last four digits only');
  }
}

let crashed: unknown;
try {
  await main();
} catch (err) {
  crashed = err;
}
const stopT = performance.now();
for (const c of cleanups.reverse()) await c().catch(() => undefined);
const total = (performance.now() - t0) / 1000;
say();
if (crashed) {
  say(bold('FAIL') + ` — the demo stopped: ${(crashed as Error).message ?? String(crashed)}`);
  process.exitCode = 1;
} else if (checks.failed.length > 0) {
  say(bold('FAIL') + ` — ${checks.failed.length} of ${checks.all.length} checks failed: ${checks.failed.map((c) => c.name).join('; ')} (${total.toFixed(1)} s)`);
  process.exitCode = 1;
} else {
  const scope = kafkaSkipped ? ` of the HTTP part (Kafka part skipped: ${kafkaSkipped})` : '';
  say(bold('PASS') + ` — all ${checks.all.length} checks${scope} passed in ${total.toFixed(1)} s ${dim(`(shutdown ${((performance.now() - stopT) / 1000).toFixed(1)} s)`)}`);
}
