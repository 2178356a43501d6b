/**
 * The wireseal demo, the README's main command (`./dev demo`):
 *
 *   checkout ──HTTP, fields sealed──▶ payments-api ──Kafka, card number for pci, SSN for pii──▶ ledger-worker (pci)
 *                                                                                           ├──▶ fraud-scorer (pii)
 *                                                                                           └──▶ analytics (no keys)
 *   partner  ──HTTP, fields sealed──▶ gateway ──plaintext──▶ payments-api
 *
 * It creates local keys on first run (`.demo/*.json`, mode 0600; the pci
 * audience's public key 0644), starts a real Kafka broker
 * (tooling/local-kafka) and the services as child processes, sends a few
 * hundred payments and some poison records, calls through the gateway,
 * prints one request body and one Kafka record as they crossed the wire, the
 * counts per consumer (what each opened, left sealed, dead-lettered), and
 * checks that neither the topic read raw nor the broker's log directory
 * holds a card number or SSN, and that each consumer's output holds only
 * the fields of its own audience. With redis-server installed, two gateway
 * instances share a Redis replay store and a captured whole-payload request
 * replayed to the second one is refused. At the end, what each process's own
 * OpenTelemetry metrics SDK collected. Exit code 0 only when every check passed.
 *
 * Flags: --secrets-manager (keys from a local Secrets Manager instead of the
 * file), --count N (payments, default 300), --no-kafka (HTTP part only),
 * --dir DIR (instead of <repo>/.demo), --keep (after the run, print the gateway
 * console's address and admin token and stay up until Ctrl-C).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { contextDigest, decodeProtectedHeader } from '@wireseal/core';
import type { JsonValue } from '@wireseal/core';
import { generatePayments } from '@wireseal-apps/checkout';
import { EVENT_POLICY, PAYMENTS_TOPIC } from '@wireseal-apps/payments-api';
import type { PaymentsApiStats } from '@wireseal-apps/payments-api';
import { startKafka } from '@wireseal-tooling/local-kafka';
import { secretsManagerAvailable } from '@wireseal-tooling/local-secrets';
import { redisAvailable, startRedis } from '@wireseal-tooling/local-redis';
import type { RedisHandle } from '@wireseal-tooling/local-redis';
import type { Child, ChildEvent } from './children.ts';
import { appMain, runToEnd, startChild } from './children.ts';
import { gatewayConfig, gatewayTour, writeGatewayConfig } from './gateway-tour.ts';
import { CONSUMERS, kafkaMissing, poisonRecords, publishRaw, readRaw } from './kafka-tools.ts';
import type { ConsumerName, Poison, RawRecord } from './kafka-tools.ts';
import { ensureDemoKeys, startDemoSecrets } from './keys.ts';
import type { DemoSecrets } from './keys.ts';
import type { Needles, ScanResult } from './leak.ts';
import { emptyScan, scanBytes, scanDirectory } from './leak.ts';
import { codes, installMetrics, mergeSummaries } from './metrics.ts';
import type { MetricsSummary } from './metrics.ts';
import { Checks, block, bold, detail, dim, grid, say, section, step, table } from './report.ts';
import { startWiretap } from './wiretap.ts';
import type { Wiretap } from './wiretap.ts';

const { values } = parseArgs({
  options: {
    'secrets-manager': { type: 'boolean', default: false },
    'no-kafka': { type: 'boolean', default: false },
    count: { type: 'string', default: '300' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  say('usage: ./dev demo [--secrets-manager] [--no-kafka] [--count N] [--dir DIR] [--keep]');
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
// The demo's own calls (the gateway tour's partner client) record into this SDK; each service has its own (otel-child.ts).
const demoMetrics = installMetrics();
const t0 = performance.now();
const since = (): number => performance.now() - t0;
const checks = new Checks();
const cleanups: Array<() => Promise<unknown>> = [];
let kafkaSkipped: string | undefined;

/** A service's `keys-loaded` events of KMS-protected secrets: `<audience or "keys"> <kids> via KMS key <id>` (kids and the key id, never bytes). */
function kmsLoads(events: readonly ChildEvent[]): string[] {
  return events.filter((e) => e.event === 'keys-loaded' && typeof e.kmsKeyId === 'string')
    .map((e) => `${typeof e.audience === 'string' ? e.audience : 'keys'} ${(e.kids as string[] | undefined ?? []).join(',')} via KMS key ${String(e.kmsKeyId)}`);
}

/** What each consumer of the payments topic holds, and where its dead letters go. */
const ROLES: Record<ConsumerName, { holds: string; audience: 'pci' | 'pii' | undefined; opens: string[]; leavesSealed: string[]; dlqSuffix: string }> = {
  'ledger-worker': { holds: 'pci (X25519 private key)', audience: 'pci', opens: ['card.number'], leavesSealed: ['customer.ssn'], dlqSuffix: '.dlq' },
  'fraud-scorer': { holds: 'pii (shared key)', audience: 'pii', opens: ['customer.ssn'], leavesSealed: ['card.number'], dlqSuffix: '.fraud-scorer.dlq' },
  analytics: { holds: 'none', audience: undefined, opens: [], leavesSealed: ['card.number', 'customer.ssn'], dlqSuffix: '.analytics.dlq' },
};

/** A consumer's `GET /stats` (the shared event consumer's counters, plus the ledger's). */
interface ConsumerStats {
  handled: number;
  deadLettered: number;
  openedByPath: Record<string, number>;
  sealedByPath: Record<string, number>;
  deadLetteredByCode: Record<string, number>;
  appended?: number;
  verified?: number;
}

async function main(): Promise<void> {
  say(bold('wireseal demo') + dim(' — checkout → payments-api → Kafka → ledger-worker, fraud-scorer, analytics (each opens only its own fields), and a partner call through the gateway'));
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });

  // ── Keys ──────────────────────────────────────────────────────────────────
  step('Keys', since());
  const keys = ensureDemoKeys(demoDir);
  const mode = (f: string): string => (fs.statSync(f).mode & 0o777).toString(8).padStart(4, '0');
  const made = (f: string): string => `${rel(f)} ${keys.created.includes(f) ? 'created' : 'reused'} (mode ${mode(f)})`;
  detail(`${made(keys.servicesFile)}: primary kid ${keys.services.primaryKid}; shared by checkout and payments-api (the HTTP call)`);
  detail(`${made(keys.gatewayFile)}: the gateway's key store, kids ${keys.gateway.list().map((k) => k.kid).join(', ')}`);
  detail('payment.authorized events split their sealed fields between two audiences, every token bound to the topic and the event id:');
  detail(`  pci (card.number): ${made(keys.pciPrivateFile)}: X25519 key pair ${keys.pciPrivate.kids.join(', ')}, ledger-worker only;`);
  detail(`                     ${made(keys.pciPublicFile)}: its public key, payments-api seals with it and cannot open`);
  detail(`  pii (customer.ssn): ${made(keys.piiFile)}: shared key ${keys.pii.primaryKid}, payments-api and fraud-scorer; analytics holds no key`);
  let secrets: DemoSecrets | undefined;
  /** Per KMS-protected secret: how many of its keys' bytes its raw SecretString contains (base64url, base64 or hex). */
  let secretBytesChecked: Array<{ name: string; keys: number; found: number; hasK: boolean }> = [];
  if (values['secrets-manager']) {
    const avail = secretsManagerAvailable();
    if (!avail.ok) throw new Error(`--secrets-manager: ${avail.reason}`);
    secrets = await startDemoSecrets(keys);
    cleanups.push(() => secrets!.handle.stop());
    detail(`Secrets Manager (local moto at ${secrets.handle.endpoint}): secrets ${secrets.servicesSecretId} and ${secrets.gatewaySecretId} created, and ${secrets.pciPublicSecretId}, ${secrets.pciPrivateSecretId}, ${secrets.piiSecretId} for the event audiences; the services read their keys from there, not from the files`);
    const prot = Object.keys(secrets.protectedSecrets);
    detail(`KMS key ${secrets.kmsKeyId} created in the same moto (CreateKey); ${prot.join(', ')} are KMS-protected (protectKeySet: one Encrypt per key, bound to the secret's name and the kid)`);
    for (const [name, { stored }] of Object.entries(secrets.protectedSecrets)) {
      const doc = JSON.parse(stored) as { wireseal?: string; kmsKeyId?: string; keys?: Array<Record<string, unknown>> };
      const members = (doc.keys ?? []).map((k) => `${String(k.kid)} [${Object.keys(k).join(', ')}]`).join('; ');
      const noK = (doc.keys ?? []).every((k) => !('k' in k) && typeof k.k_kms === 'string');
      detail(`  ${name} holds ${doc.wireseal}, kmsKeyId ${doc.kmsKeyId}, keys: ${members}: ${noK ? 'no "k", no key bytes' : 'KEY BYTES ("k") FOUND'}`);
    }
    detail(`  ${secrets.pciPublicSecretId} (public keys) and ${secrets.pciPrivateSecretId} (an X25519 pair: the protected format holds AES keys only) are plain JWK Sets`);
    secretBytesChecked = Object.entries(secrets.protectedSecrets).map(([name, { stored, keyBytes }]) => {
      const found = keyBytes.filter((b) => stored.includes(b) || stored.includes(Buffer.from(b, 'base64url').toString('base64').replace(/=+$/, '')) || stored.includes(Buffer.from(b, 'base64url').toString('hex')));
      return { name, keys: keyBytes.length, found: found.length, hasK: /"k"\s*:/.test(stored) };
    });
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

  // ── Redis ─────────────────────────────────────────────────────────────────
  step("Redis: the gateways' shared replay store", since());
  const redisOk = redisAvailable();
  let redis: RedisHandle | undefined;
  if (redisOk.ok) {
    redis = await startRedis();
    cleanups.push(() => redis!.stop());
    detail(`local redis-server ${redis.url} (no persistence): two gateway instances remember whole-payload tokens there (RedisReplayStore, GATEWAY_REPLAY_REDIS_URL)`);
  } else {
    detail(bold('Redis part skipped: one gateway instance, its replay store in memory.'));
    detail(`redis-server: MISSING (${redisOk.reason})`);
  }

  // ── Services ──────────────────────────────────────────────────────────────
  step('Services', since());
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('WIRESEAL_KEYRING_')) delete base[k];
  for (const k of ['WIRESEAL_KEYSET', 'WIRESEAL_KEYSET_FILE', 'WIRESEAL_SECRET_ID', 'PORT', 'KAFKA_BROKERS', 'DLQ_TOPIC', 'GROUP_ID', 'HANDLED_FILE', 'LEDGER_FILE']) delete base[k];
  const servicesKeys = secrets ? { ...secrets.env, WIRESEAL_SECRET_ID: secrets.servicesSecretId } : { WIRESEAL_KEYSET_FILE: keys.servicesFile };
  const gatewayKeys = secrets ? { ...secrets.env, WIRESEAL_SECRET_ID: secrets.gatewaySecretId } : { WIRESEAL_KEYSET_FILE: keys.gatewayFile };
  /** One audience of a service's event keyring: its file or secret, and the kind it must hold. */
  const ring = (audience: 'pci' | 'pii', kind: 'public' | 'private' | 'shared'): Record<string, string> => {
    const prefix = `WIRESEAL_KEYRING_${audience.toUpperCase()}`;
    const file = audience === 'pii' ? keys.piiFile : kind === 'private' ? keys.pciPrivateFile : keys.pciPublicFile;
    const secretId = secrets && (audience === 'pii' ? secrets.piiSecretId : kind === 'private' ? secrets.pciPrivateSecretId : secrets.pciPublicSecretId);
    return { ...(secrets ? { ...secrets.env, [`${prefix}_SECRET_ID`]: secretId! } : { [`${prefix}_FILE`]: file }), [`${prefix}_KIND`]: kind };
  };
  const kafkaEnv = broker ? { KAFKA_BROKERS: broker.brokers.join(','), PAYMENTS_TOPIC: topic } : {};
  const handledFile = (name: ConsumerName): string => path.join(runDir, `${name}.handled.jsonl`);
  const consumerEnv: Record<ConsumerName, Record<string, string>> = {
    'ledger-worker': { ...ring('pci', 'private'), LEDGER_FILE: path.join(runDir, 'ledger.jsonl') },
    'fraud-scorer': ring('pii', 'shared'),
    analytics: {},
  };
  const children: Child[] = [];
  cleanups.push(() => Promise.all(children.map((c) => c.stop())));
  const [payments, ...consumerChildren] = await Promise.all([
    startChild('payments-api', appMain('payments-api'), { ...base, ...servicesKeys, ...kafkaEnv, ...(broker ? { ...ring('pci', 'public'), ...ring('pii', 'shared') } : {}) }, runDir),
    ...(broker
      ? CONSUMERS.map((name) => startChild(name, appMain(name), { ...base, ...kafkaEnv, ...consumerEnv[name], DLQ_TOPIC: `${topic}${ROLES[name].dlqSuffix}`, HANDLED_FILE: handledFile(name) }, runDir))
      : []),
  ]);
  children.push(payments!, ...consumerChildren);
  const consumers = new Map<ConsumerName, Child>(broker ? CONSUMERS.map((name, i) => [name, consumerChildren[i]!]) : []);
  const paymentsUrl = String(payments!.ready.url);
  const gatewayFile = path.join(runDir, 'gateway.json');
  writeGatewayConfig(gatewayFile, gatewayConfig(paymentsUrl, 'partner-acme-1'));
  const gatewayEnv: NodeJS.ProcessEnv = { ...base, ...gatewayKeys, GATEWAY_CONFIG: gatewayFile };
  delete gatewayEnv.GATEWAY_REPLAY_REDIS_URL;
  if (redis) gatewayEnv.GATEWAY_REPLAY_REDIS_URL = redis.url;
  for (const k of ['GATEWAY_ADMIN_TOKEN', 'GATEWAY_ADMIN_TOKEN_FILE', 'GATEWAY_ADMIN_PORT', 'GATEWAY_ADMIN_HOST', 'GATEWAY_ADMIN_AUDIT_FILE', 'GATEWAY_TEST_PAUSE_AT']) delete gatewayEnv[k];
  // The first gateway runs the admin API and console (loopback, a token made for this run, kept in a 0600 file).
  const adminToken = randomBytes(24).toString('base64url');
  const adminTokenFile = path.join(runDir, 'gateway-admin-token');
  fs.writeFileSync(adminTokenFile, `${adminToken}\n`, { mode: 0o600 });
  const adminEnv = { GATEWAY_ADMIN_TOKEN_FILE: adminTokenFile, GATEWAY_ADMIN_HOST: '127.0.0.1', ...(process.env.GATEWAY_ADMIN_PORT ? { GATEWAY_ADMIN_PORT: process.env.GATEWAY_ADMIN_PORT } : {}) };
  const [gateway, gateway2] = await Promise.all([
    startChild('gateway', appMain('gateway'), { ...gatewayEnv, ...adminEnv }, runDir),
    ...(redis ? [startChild('gateway-2', appMain('gateway'), gatewayEnv, runDir)] : []),
  ]);
  children.push(gateway!, ...(gateway2 ? [gateway2] : []));
  const gatewayUrl = String(gateway!.ready.url);
  const adminUrl = String(gateway!.ready.adminUrl);
  const tap: Wiretap = await startWiretap(paymentsUrl);
  cleanups.push(() => tap.stop());
  detail(`payments-api   ${paymentsUrl}  ${broker ? `(publishes to ${topic}; event keys: pci public key only, pii shared key)` : '(Kafka publishing off)'}`);
  for (const [name, child] of consumers) {
    const extra = name === 'ledger-worker' ? `, ledger ${rel(path.join(runDir, 'ledger.jsonl'))}` : '';
    detail(`${name.padEnd(14)} ${String(child.ready.url)}  (consumes ${topic}; keys: ${ROLES[name].holds}; dead letters to ${topic}${ROLES[name].dlqSuffix}${extra})`);
  }
  detail(`gateway        ${gatewayUrl}  (config ${rel(gatewayFile)}, watched${gateway2 ? '; replay store: Redis' : '; replay store: in memory'}; admin API and console on ${adminUrl})`);
  if (gateway2) detail(`gateway-2      ${String(gateway2.ready.url)}  (a second instance: same config, same key store, same Redis replay store)`);
  detail(`wire tap       ${tap.url} → payments-api  (keeps a copy of every request body checkout sends)`);
  detail(secrets
    ? `keys: every service reads its secrets from Secrets Manager (secretsManagerKeyProvider, secretsManagerKeyring for the event audiences: cached, refreshed, AWSPREVIOUS kept decrypt-only), with a KMSClient beside it for the protected ones`
    : `keys: every service reads its key files (re-read when a file changes)`);
  if (secrets) {
    for (const child of children) {
      const loaded = kmsLoads(child.events);
      detail(`  ${child.name.padEnd(14)} ${loaded.length > 0 ? `decrypted its keys through KMS: ${loaded.join('; ')}` : 'no KMS-protected keys'}`);
    }
  }
  if (broker) detail(`each consumer writes the documents it handled, as its handler got them, to ${rel(runDir)}/<name>.handled.jsonl (for the leak check)`);
  detail(dim(`logs: ${rel(runDir)}/*.log`));

  // ── Payments ──────────────────────────────────────────────────────────────
  step(`Payments: ${count} through checkout → payments-api${broker ? ' → Kafka → ledger-worker, fraud-scorer, analytics' : ''}`, since());
  const seed = `run-${Date.now()}`;
  const sent = generatePayments(count, seed);
  const tPay = performance.now();
  const checkout = await runToEnd('checkout', appMain('checkout'), ['--payments-url', tap.url, '--count', String(count), '--seed', seed, '--concurrency', '8', '--json'], { ...base, ...servicesKeys }, runDir);
  const summary = checkout.events.find((e) => e.event === 'summary') as { sent?: number; authorized?: number; refused?: Record<string, number> } | undefined;
  const payMs = performance.now() - tPay;
  detail(`checkout sent ${summary?.sent ?? 0} payments in ${(payMs / 1000).toFixed(1)} s (${Math.round((summary?.sent ?? 0) / (payMs / 1000))}/s, 8 in flight), each with card.number, card.cvv and customer.ssn sealed`);
  let poison: ReturnType<typeof poisonRecords> = [];
  if (broker) {
    const docs = generatePayments(8, `${seed}-poison`).map((p) => ({ type: 'payment.authorized', id: `poison-${p.id}`, merchant: p.merchant, amount: p.amount, card: { number: p.card.number, last4: p.card.number.slice(-4) }, customer: { name: p.customer.name, ssn: p.customer.ssn } }));
    poison = poisonRecords({ pci: keys.pciPublic, pii: keys.pii }, topic, EVENT_POLICY, docs as unknown as JsonValue[]);
    await publishRaw(broker.brokers, topic, poison);
    detail(`${poison.length} poison records published straight to ${topic}: ${poison.map((p) => p.key.replace('poison-', '')).join(', ')}`);
  }
  const paymentStats = (await (await fetch(`${paymentsUrl}/stats`)).json()) as PaymentsApiStats;

  const consumerStats = new Map<ConsumerName, ConsumerStats>();
  const handedOn = (name: ConsumerName): number => poison.filter((p) => p.expected[name] === null).length;
  if (broker) {
    const until = Date.now() + 60_000;
    for (const [name, child] of consumers) {
      for (;;) {
        const st = (await (await fetch(`${String(child.ready.url)}/stats`)).json()) as ConsumerStats;
        consumerStats.set(name, st);
        if (st.handled + st.deadLettered >= paymentStats.published + poison.length || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    detail(CONSUMERS.map((n) => `${n} handled ${consumerStats.get(n)!.handled} and dead-lettered ${consumerStats.get(n)!.deadLettered}`).join('; '));
    const own = paymentStats.ownEventCheck;
    checks.add('payments-api cannot open its own card numbers', !!own && own.stayedSealed.join() === 'card.number' && own.opened.join() === 'customer.ssn',
      own
        ? `payments-api tried to open its own event ${own.id} with its keys: ${own.opened.join(', ') || 'nothing'} opened (pii, shared key); ${own.stayedSealed.join(', ') || 'nothing'} stayed sealed (pci: it holds the public key only, no decryption key)`
        : 'payments-api did not report opening its own event');
  }

  // ── Gateway ───────────────────────────────────────────────────────────────
  step('Gateway: a partner calls payments-api through the gateway', since());
  await gatewayTour({ gateway: gateway!, gatewayUrl, ...(gateway2 ? { gateway2: { url: String(gateway2.ready.url) } } : {}), admin: { url: adminUrl, token: adminToken }, paymentsUrl, configFile: gatewayFile, store: keys.gateway, checks });
  if (!gateway2) detail(`replay across instances: skipped (no redis-server; apt-get install redis-server, or ./dev setup as root)`);

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
  const dlqTopic = (name: ConsumerName): string => `${topic}${ROLES[name].dlqSuffix}`;
  const expectedDead = (name: ConsumerName): Poison[] => poison.filter((p) => p.expected[name] !== null);
  if (broker && consumerStats.size > 0) {
    raw = await readRaw(broker.brokers, { [topic]: paymentStats.published + poison.length, ...Object.fromEntries(CONSUMERS.map((n) => [dlqTopic(n), expectedDead(n).length])) });
    const rec = raw.get(topic)![0];
    if (rec) {
      section(`A Kafka record as the broker holds it (${topic}, offset ${rec.offset}, read raw)`);
      say(`    key: ${rec.key}   headers: ${Object.entries(rec.headers).map(([k, v]) => `${k}=${v}`).join(', ')}`);
      const doc = JSON.parse(rec.value.toString('utf8')) as { id: string; card: { number: string }; customer: { ssn: string } };
      block(JSON.stringify(doc, null, 2));
      const header = (t: string): string => {
        const { epk: _epk, ...h } = decodeProtectedHeader(t) as Record<string, unknown>;
        return JSON.stringify(h);
      };
      say(dim(`    card.number token header (pci): ${header(doc.card.number)} + its epk`));
      say(dim(`    customer.ssn token header (pii): ${header(doc.customer.ssn)}`));
      say(dim(`    wsc = the topic and the event id, base64url(SHA-256('[["$id","\\"${doc.id}\\""],["topic","${topic}"]]')[0..16]) = ${contextDigest({ topic, $id: JSON.stringify(doc.id) })}; the CVV is not in the event at all`));
    }
  }

  // ── Counts ────────────────────────────────────────────────────────────────
  section('Counts');
  const rows: Array<[string, string | number, string?]> = [
    ['sent by checkout', summary?.sent ?? 0],
    ['opened by payments-api', paymentStats.received, `${paymentStats.fieldsDecrypted} fields`],
    ['authorized', paymentStats.authorized],
  ];
  if (broker && consumerStats.size > 0) {
    rows.push(
      [`published to ${topic}`, paymentStats.published, 'card.number sealed for pci, customer.ssn for pii'],
      ['poison records published', poison.length],
    );
  }
  table(rows);
  if (broker && consumerStats.size > 0) {
    say();
    const byPath = (counts: Record<string, number>): string => Object.entries(counts).map(([p, n]) => `${p} ${n}`).join(', ') || '-';
    grid(['consumer', 'keys', 'handled', 'opened', 'left sealed', 'dead-lettered'],
      CONSUMERS.map((n) => {
        const st = consumerStats.get(n)!;
        return [n, ROLES[n].holds, st.handled, byPath(st.openedByPath), byPath(st.sealedByPath), st.deadLettered];
      }), new Set([2, 5]));
    const ledgerStats = consumerStats.get('ledger-worker')!;
    say(dim(`    ledger: ${ledgerStats.appended ?? 0} appended, ${ledgerStats.verified ?? 0} verified (Luhn + last4 of the card number it opened)`));
  }
  say();
  if (secrets) {
    const byteFindings = secretBytesChecked.map((c) => `${c.name} ${c.found} of ${c.keys}${c.hasK ? ' (has "k")' : ''}`).join(', ');
    checks.add('secrets hold no key bytes', secretBytesChecked.length === 3 && secretBytesChecked.every((c) => c.keys > 0 && c.found === 0 && !c.hasK),
      `raw SecretString of the KMS-protected secrets: key bytes found ${byteFindings}`);
    const viaKms: Array<[string, ChildEvent[]]> = [...children.map((c): [string, ChildEvent[]] => [c.name, c.events]), ['checkout', checkout.events]];
    const want = ['payments-api', 'gateway', 'checkout', ...(broker ? ['fraud-scorer'] : [])];
    const missed = want.filter((n) => !viaKms.some(([name, events]) => name === n && kmsLoads(events).length > 0 && kmsLoads(events).every((l) => l.endsWith(secrets!.kmsKeyId))));
    checks.add('keys through KMS', missed.length === 0,
      `${want.join(', ')} loaded their keys through KMS key ${secrets.kmsKeyId}${missed.length > 0 ? `; not: ${missed.join(', ')}` : ''}`);
  }
  checks.add('checkout', summary?.sent === count && summary.authorized === count && checkout.code === 0,
    `checkout: ${summary?.authorized ?? 0}/${count} authorized${summary && Object.keys(summary.refused ?? {}).length > 0 ? `, refused ${JSON.stringify(summary.refused)}` : ''}`);
  checks.add('payments-api', paymentStats.received === count && paymentStats.fieldsDecrypted === 3 * count,
    `payments-api opened ${paymentStats.received} requests, ${paymentStats.fieldsDecrypted} sealed fields`);
  if (broker && consumerStats.size > 0 && raw) {
    checks.add('published', paymentStats.published === count, `${paymentStats.published}/${count} payment.authorized events published`);
    for (const name of CONSUMERS) {
      const st = consumerStats.get(name)!;
      const role = ROLES[name];
      const skipped = poison.filter((p) => p.expected[name] === null);
      const want = count + skipped.length;
      const exact = (counts: Record<string, number>, paths: string[]): boolean => JSON.stringify(counts) === JSON.stringify(Object.fromEntries(paths.map((p) => [p, want])));
      const ledgerOk = name !== 'ledger-worker' || (st.appended === want && st.verified === want);
      checks.add(`${name}: opened its audience only`, st.handled === want && exact(st.openedByPath, role.opens) && exact(st.sealedByPath, role.leavesSealed) && ledgerOk,
        `${name} (${role.audience ?? 'no keys'}): handled ${st.handled} = ${count} payments + ${skipped.length} poison it holds no key to check (${skipped.map((p) => p.key.replace('poison-', '')).join(', ') || '-'}); `
        + `opened ${role.opens.join(', ') || 'nothing'}, left ${role.leavesSealed.join(' and ')} sealed, in every one${name === 'ledger-worker' ? `; ${st.appended} appended to the ledger, ${st.verified} verified` : ''}`);
    }
    for (const name of CONSUMERS) {
      const st = consumerStats.get(name)!;
      const want = expectedDead(name);
      const dlq = raw.get(dlqTopic(name))!;
      const codes: Record<string, number> = {};
      for (const p of want) codes[p.expected[name]!] = (codes[p.expected[name]!] ?? 0) + 1;
      const sorted = (o: Record<string, number>): string => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));
      const ok = st.deadLettered === want.length && sorted(st.deadLetteredByCode) === sorted(codes)
        && dlq.length === want.length && dlq.every((r) => want.some((p) => p.key === r.key && p.value === r.value.toString('utf8') && p.expected[name] === r.headers['wireseal-error']));
      checks.add(`${name}: dead letters`, ok, `${name}: ${dlq.length}/${want.length} poison records in ${dlqTopic(name)}, byte for byte, each with its code (${Object.entries(codes).map(([c, n]) => `${c} ${n}`).join(', ')})`);
    }
  }

  // ── Leak check ────────────────────────────────────────────────────────────
  section('Leak check: are the card numbers or SSNs anywhere they should not be?');
  const needles: Needles = { cards: new Set(sent.map((p) => p.card.number)), ssns: new Set(sent.map((p) => p.customer.ssn)), ids: new Set(sent.map((p) => p.id)) };
  const secretsCount = needles.cards.size + needles.ssns.size;
  const controls = (r: ScanResult): string => dim(`(control: ${r.controlsFound.size}/${needles.ids.size} payment ids found)`);
  const report = (where: string, r: ScanResult, what: string): void => {
    checks.add(`leak: ${where}`, r.secretsFound.size === 0 && r.controlsFound.size === needles.ids.size,
      `${where}: ${what}; ${r.secretsFound.size} of ${secretsCount} card numbers/SSNs found ${controls(r)}`);
  };
  /** A consumer's output: none of the other audience's values, all of its own (it opened them). */
  const reportOutput = (name: ConsumerName, r: ScanResult, documents: number): void => {
    const sets = { 'card numbers': [r.cardsFound, needles.cards.size], SSNs: [r.ssnsFound, needles.ssns.size] } as const;
    const own = name === 'ledger-worker' ? 'card numbers' : name === 'fraud-scorer' ? 'SSNs' : undefined;
    const forbidden = (Object.keys(sets) as Array<keyof typeof sets>).filter((k) => k !== own);
    const ok = forbidden.every((k) => sets[k][0].size === 0) && (!own || sets[own][0].size === sets[own][1]) && r.controlsFound.size === needles.ids.size;
    checks.add(`leak: ${name} output`, ok,
      `${name} output: ${documents} handled documents; ${forbidden.map((k) => `${sets[k][0].size} of ${sets[k][1]} ${k}`).join(', ')} found`
      + `${own ? ` (${sets[own][0].size}/${sets[own][1]} ${own} opened: its own audience)` : ''} ${controls(r)}`);
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
    for (const name of CONSUMERS) {
      const bytes = fs.readFileSync(handledFile(name));
      reportOutput(name, scanBytes(bytes, needles), bytes.toString('utf8').split('\n').filter(Boolean).length);
    }
  }

  // ── Metrics ───────────────────────────────────────────────────────────────
  section("Metrics: what each process's OpenTelemetry SDK collected (wireseal.values, wireseal.records)");
  detail(dim('every service is its own process with its own SDK (sdk-metrics MeterProvider, preloaded with --import otel-child.ts); the demo asks each for its numbers (SIGUSR2); checkout printed its own when it exited; "demo" is the partner client in this process'));
  const perProcess: Array<[string, MetricsSummary]> = [];
  const checkoutMetrics = checkout.events.find((e) => e.event === 'otel-metrics') as unknown as MetricsSummary | undefined;
  if (checkoutMetrics) perProcess.push(['checkout', checkoutMetrics]);
  for (const c of children) perProcess.push([c.name, await c.metrics()]);
  perProcess.push(['demo', await demoMetrics.snapshot()]);
  const n = (o: Record<string, number>, k: string): number => o[k] ?? 0;
  const total = perProcess.reduce<MetricsSummary>((a, [, m]) => mergeSummaries(a, m), { values: {}, rejectedByCode: {}, kids: [] });
  grid(['process', 'values opened', 'sealed', 'left sealed', 'rejected (records, by code)', 'kids'],
    [...perProcess, ['all', total] as [string, MetricsSummary]].map(([name, m]) => [name, n(m.values, 'opened'), n(m.values, 'sealed'), n(m.values, 'left_sealed'), codes(m.rejectedByCode), m.kids.join(', ') || '-']),
    new Set([1, 2, 3]));
  say();
  detail(`values opened ${n(total.values, 'opened')}, sealed ${n(total.values, 'sealed')}, left sealed ${n(total.values, 'left_sealed')}; rejected: ${codes(total.rejectedByCode)}; kids in use: ${total.kids.join(', ')}`);
  // The SDKs' rejections, process by process, against what the services counted themselves.
  const of = (name: string): MetricsSummary | undefined => perProcess.find(([p]) => p === name)?.[1];
  const mismatches: string[] = [];
  const expectRejected = async (name: string, own: Record<string, number>): Promise<void> => {
    const got = codes(of(name)?.rejectedByCode ?? {});
    if (got !== codes(own)) mismatches.push(`${name}: metrics ${got}, own count ${codes(own)}`);
  };
  for (const [name] of consumers) await expectRejected(name, consumerStats.get(name)?.deadLetteredByCode ?? {});
  for (const g of [gateway!, ...(gateway2 ? [gateway2] : [])]) {
    const st = (await (await fetch(`${String(g.ready.url)}/_gateway/stats`)).json()) as Record<string, { refusedByCode: Record<string, number> }>;
    const own: Record<string, number> = {};
    for (const s of Object.values(st)) for (const [c, k] of Object.entries(s.refusedByCode)) own[c] = (own[c] ?? 0) + k;
    await expectRejected(g.name, own);
  }
  const opened = n(of('payments-api')?.values ?? {}, 'opened');
  if (opened < paymentStats.fieldsDecrypted) mismatches.push(`payments-api: metrics ${opened} values opened, own count ${paymentStats.fieldsDecrypted}`);
  checks.add('metrics agree', !!checkoutMetrics && mismatches.length === 0,
    mismatches.length === 0 && checkoutMetrics
      ? `metrics agree with the services' own counters: rejections by code per consumer (its dead letters) and per gateway (its refusedByCode), payments-api's values opened ≥ its ${paymentStats.fieldsDecrypted} fields`
      : `metrics disagree with the services' own counters: ${checkoutMetrics ? '' : 'checkout printed no metrics; '}${mismatches.join('; ')}`);

  // ── --keep: the gateway console stays up ──────────────────────────────────
  if (values.keep) {
    section('Gateway console (--keep)');
    say(`    console      ${adminUrl}/admin/`);
    say(`    admin token  ${adminToken}   ${dim(`(also in ${rel(adminTokenFile)}, mode 0600; valid for this run only)`)}`);
    say(`    gateway      ${gatewayUrl}   ${dim('try: curl -s -X POST -H content-type:application/json -d \'{"beneficiary":{"iban":"x"}}\' ' + gatewayUrl + '/partner/payouts')}`);
    say(dim(`    ${checks.failed.length === 0 ? 'all checks passed so far' : `${checks.failed.length} checks failed`}; everything stays up until Ctrl-C`));
    await new Promise<void>((resolve) => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
    });
    say();
    say(dim('Ctrl-C: stopping the services'));
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
