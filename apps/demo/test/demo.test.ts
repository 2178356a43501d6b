import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kafkaAvailable } from '@wireseal-tooling/local-kafka';
import { secretsManagerAvailable } from '@wireseal-tooling/local-secrets';
import { redisAvailable } from '@wireseal-tooling/local-redis';

const main = path.resolve(import.meta.dirname, '..', 'src', 'main.ts');

function demo(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 170_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, ms: Date.now() - t0 };
}

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-demo-test-'));
const CARD = /\b400000\d{10}\b/; // every generated card number is in this range
const SSN = /"9\d\d-\d\d-\d{4}"/; // every generated SSN has an area number of 900-999

const kafka = kafkaAvailable();
const redis = redisAvailable(); // installed in CI: two gateways share a Redis replay store (one more check)
const R = redis.ok ? 1 : 0;
/** Checks: 23 with Kafka, 9 for the HTTP part alone; one more (the replay across gateways) with Redis. */
const CHECKS = { kafka: 23 + R, http: 9 + R };
/** With --secrets-manager, two more: the protected secrets hold no key bytes, and the keys came through KMS. */
const SM = 2;

/** The --secrets-manager output's KMS lines: a key created in moto, the AES sets stored kms-v1 (kids and k_kms, no k), services decrypting through it. */
function assertKmsProtected(out: string, dir: string, withKafka: boolean): void {
  const m = /KMS key (\S+) created in the same moto \(CreateKey\); wireseal-demo\/services, wireseal-demo\/gateway, wireseal-demo\/pii are KMS-protected/.exec(out);
  assert.ok(m, out);
  const id = m[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const [secret, kids] of [['services', ['demo-\\d{4}-\\d{2}']], ['gateway', ['partner-acme-1', 'partner-acme-2']], ['pii', ['pii-\\d{4}-\\d{2}']]] as const) {
    assert.match(out, new RegExp(`wireseal-demo/${secret} holds kms-v1, kmsKeyId ${id}, keys: ${kids.map((k) => `${k} \\[kty, kid, key_ops, k_kms\\]`).join('; ')}: no "k", no key bytes`), secret);
  }
  assert.match(out, /wireseal-demo\/pci-public \(public keys\) and wireseal-demo\/pci-private \(an X25519 pair: the protected format holds AES keys only\) are plain JWK Sets/);
  assert.match(out, /PASS {2}raw SecretString of the KMS-protected secrets: key bytes found wireseal-demo\/services 0 of 1, wireseal-demo\/gateway 0 of 2, wireseal-demo\/pii 0 of 1/);
  assert.match(out, new RegExp(`payments-api +decrypted its keys through KMS: .*keys demo-\\d{4}-\\d{2} via KMS key ${id}`));
  assert.match(out, new RegExp(`gateway +decrypted its keys through KMS: keys partner-acme-1,partner-acme-2 via KMS key ${id}`));
  assert.match(out, new RegExp(`PASS {2}payments-api, gateway, checkout${withKafka ? ', fraud-scorer' : ''} loaded their keys through KMS key ${id}`));
  if (withKafka) {
    assert.match(out, new RegExp(`fraud-scorer +decrypted its keys through KMS: pii pii-\\d{4}-\\d{2} via KMS key ${id}`));
    assert.match(out, /ledger-worker +no KMS-protected keys/);
  }
  // The services' own logs: keys-loaded names the KMS key; nothing in the logs is a key's bytes.
  const keyBytes = ['keyset.json', 'gateway-keys.json', 'pii-keyset.json'].flatMap((f) => (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { keys: Array<{ k: string }> }).keys.map((k) => k.k));
  for (const service of ['payments-api', 'checkout', 'gateway']) {
    const log = fs.readFileSync(path.join(dir, 'run', `${service}.log`), 'utf8');
    assert.match(log, new RegExp(`"event":"keys-loaded","source":"secrets-manager","primaryKid":"[^"]+","kids":\\[[^\\]]*\\],"kmsKeyId":"${id}"`), service);
    for (const k of keyBytes) assert.ok(!log.includes(k), `${service}.log holds a key's bytes`);
  }
}

test('the whole demo, from a fresh key directory: every check passes and no card number is printed', { skip: kafka.ok ? false : kafka.reason }, () => {
  const dir = tmp();
  try {
    const { code, out, ms } = demo(['--dir', dir]);
    assert.equal(code, 0, out);
    assert.ok(ms < 120_000, `the demo took ${ms} ms`);
    assert.match(out, /keyset\.json created \(mode 0600\): primary kid demo-\d{4}-\d{2}/);
    assert.match(out, /pci \(card\.number\): .*pci-private\.json created \(mode 0600\): X25519 key pair pci-\d{4}-\d{2}, ledger-worker only/);
    assert.match(out, /pci-public\.json created \(mode 0644\): its public key, payments-api seals with it and cannot open/);
    assert.match(out, /pii \(customer\.ssn\): .*pii-keyset\.json created \(mode 0600\): shared key pii-\d{4}-\d{2}, payments-api and fraud-scorer; analytics holds no key/);
    for (const [file, mode] of [['keyset.json', 0o600], ['gateway-keys.json', 0o600], ['pci-private.json', 0o600], ['pci-public.json', 0o644], ['pii-keyset.json', 0o600]] as const) {
      assert.equal(fs.statSync(path.join(dir, file)).mode & 0o777, mode, file);
    }
    assert.ok(!('d' in (JSON.parse(fs.readFileSync(path.join(dir, 'pci-public.json'), 'utf8')) as { keys: object[] }).keys[0]!), 'a private key in the public file');
    // One request body and one Kafka record as they crossed the wire, tokens visible.
    assert.match(out, /A request body as it crossed the wire[\s\S]*"number": "eyJ[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+"/);
    assert.match(out, /A Kafka record as the broker holds it[\s\S]*headers: event-type=payment\.authorized, wireseal=1/);
    assert.match(out, /"wsf":"card\.number","wsc":"[\w-]{22}"/);
    assert.match(out, /card\.number token header \(pci\): \{"alg":"ECDH-ES\+A256KW","enc":"A256GCM","kid":"pci-\d{4}-\d{2}","wsf":"card\.number","wsc":"([\w-]{22})"\} \+ its epk\n\s+customer\.ssn token header \(pii\): \{"alg":"A256KW","enc":"A256GCM","kid":"pii-\d{4}-\d{2}","wsf":"customer\.ssn","wsc":"\1"\}/);
    // payments-api seals card numbers it cannot open: it tried, with its own keys.
    assert.match(out, /PASS {2}payments-api tried to open its own event pay_\w+ with its keys: customer\.ssn opened \(pii, shared key\); card\.number stayed sealed \(pci: it holds the public key only, no decryption key\)/);
    // Counts, per consumer: what it handled, opened, left sealed and dead-lettered.
    assert.match(out, /sent by checkout\s+300\n/);
    assert.match(out, /published to payments\.authorized\s+300 /);
    assert.match(out, /poison records published\s+7\n/);
    assert.match(out, /ledger-worker\s+pci \(X25519 private key\)\s+301\s+card\.number 301\s+customer\.ssn 301\s+6\n/);
    assert.match(out, /fraud-scorer\s+pii \(shared key\)\s+302\s+customer\.ssn 302\s+card\.number 302\s+5\n/);
    assert.match(out, /analytics\s+none\s+306\s+-\s+card\.number 306, customer\.ssn 306\s+1\n/);
    assert.match(out, /ledger: 301 appended, 301 verified/);
    assert.match(out, /PASS {2}ledger-worker \(pci\): handled 301 = 300 payments \+ 1 poison it holds no key to check \(tampered-ssn\); opened card\.number, left customer\.ssn sealed/);
    assert.match(out, /PASS {2}fraud-scorer \(pii\): handled 302 = 300 payments \+ 2 poison it holds no key to check \(tampered-card, card-from-other-event\); opened customer\.ssn, left card\.number sealed/);
    assert.match(out, /PASS {2}analytics \(no keys\): handled 306 = 300 payments \+ 6 poison .*; opened nothing, left card\.number and customer\.ssn sealed/);
    // Each consumer dead-letters what its keys let it check, to its own dead-letter topic.
    assert.match(out, /PASS {2}ledger-worker: 6\/6 poison records in payments\.authorized\.dlq, byte for byte, each with its code \(ERR_DECRYPT 1, ERR_CONTEXT_MISMATCH 2, ERR_KEY_UNKNOWN 1, ERR_FIELD_MISMATCH 1, ERR_TOKEN_MALFORMED 1\)/);
    assert.match(out, /PASS {2}fraud-scorer: 5\/5 poison records in payments\.authorized\.fraud-scorer\.dlq, byte for byte, each with its code \(ERR_DECRYPT 1, ERR_CONTEXT_MISMATCH 1, ERR_KEY_UNKNOWN 1, ERR_FIELD_MISMATCH 1, ERR_TOKEN_MALFORMED 1\)/);
    assert.match(out, /PASS {2}analytics: 1\/1 poison records in payments\.authorized\.analytics\.dlq, byte for byte, each with its code \(ERR_TOKEN_MALFORMED 1\)/);
    // The leak check ran on the raw topic, the broker's disk and each consumer's output, with working controls.
    assert.match(out, /PASS {2}topic read raw: 307 records of payments\.authorized, no keys; 0 of 600 card numbers\/SSNs found \(control: 300\/300 payment ids found\)/);
    assert.match(out, /PASS {2}broker log dir: \d+ files, [\d.]+ MiB under .*; 0 of 600 card numbers\/SSNs found \(control: 300\/300 payment ids found\)/);
    assert.match(out, /PASS {2}ledger-worker output: 301 handled documents; 0 of 300 SSNs found \(300\/300 card numbers opened: its own audience\) \(control: 300\/300 payment ids found\)/);
    assert.match(out, /PASS {2}fraud-scorer output: 302 handled documents; 0 of 300 card numbers found \(300\/300 SSNs opened: its own audience\) \(control: 300\/300 payment ids found\)/);
    assert.match(out, /PASS {2}analytics output: 306 handled documents; 0 of 300 card numbers, 0 of 300 SSNs found \(control: 300\/300 payment ids found\)/);
    assert.match(out, /PASS {2}config v4 \(keyId partner-acme-2, no restart\): old key → 400 ERR_KEY_UNKNOWN, new key → 201/);
    // Two gateways share a Redis replay store: the exact sealed request, replayed to the second, is refused.
    if (redis.ok) {
      assert.match(out, /gateway-2 {6}http:\/\/127\.0\.0\.1:\d+ {2}\(a second instance: same config, same key store, same Redis replay store\)/);
      assert.match(out, /PASS {2}whole-payload call through gateway 1 → 201 po_\w+; the same application\/jose request \(\d+ bytes, captured\) replayed to gateway 2 → 400 application\/problem\+json ERR_REPLAY; upstream called once \(the replay was not forwarded\)/);
    }
    // What each process's own OpenTelemetry SDK collected: values by outcome, rejections by code, kids.
    const KID = (p: string): string => `${p}-\\d{4}-\\d{2}`;
    const row = (name: string, opened: number, sealed: number, leftSealed: number, rejected: string, kids: string): RegExp =>
      new RegExp(`\\n {4}${name} +${opened} +${sealed} +${leftSealed} {2}${rejected.replace(/[+()]/g, '\\$&')} +${kids}\\n`);
    const led = 'ERR_CONTEXT_MISMATCH 2, ERR_DECRYPT 1, ERR_FIELD_MISMATCH 1, ERR_KEY_UNKNOWN 1, ERR_TOKEN_MALFORMED 1';
    const fraud = 'ERR_CONTEXT_MISMATCH 1, ERR_DECRYPT 1, ERR_FIELD_MISMATCH 1, ERR_KEY_UNKNOWN 1, ERR_TOKEN_MALFORMED 1';
    assert.match(out, /Metrics: what each process's OpenTelemetry SDK collected/);
    assert.match(out, row('checkout', 0, 900, 0, '-', KID('demo')));
    assert.match(out, row('payments-api', 900, 600, 0, '-', `${KID('demo')}, ${KID('pci')}, ${KID('pii')}`));
    assert.match(out, row('ledger-worker', 301, 0, 301, led, KID('pci')));
    assert.match(out, row('fraud-scorer', 302, 0, 302, fraud, KID('pii')));
    assert.match(out, row('analytics', 0, 0, 612, 'ERR_TOKEN_MALFORMED 1', '-'));
    assert.match(out, row('gateway', 4 + R, 4 + R, 0, 'ERR_DECRYPT 1, ERR_KEY_UNKNOWN 1', 'partner-acme-1, partner-acme-2'));
    if (redis.ok) assert.match(out, row('gateway-2', 0, 0, 0, 'ERR_REPLAY 1', '-'));
    assert.match(out, row('demo', 2 + R, 2 + R, 0, '-', 'partner-acme-1'));
    const total = 900 + 301 + 302 + 4 + R + 2 + R;
    assert.match(out, new RegExp(`values opened ${total}, sealed ${900 + 600 + 4 + R + 2 + R}, left sealed ${301 + 302 + 612}; rejected: ERR_CONTEXT_MISMATCH 3, ERR_DECRYPT 3, ERR_FIELD_MISMATCH 2, ERR_KEY_UNKNOWN 3, ${redis.ok ? 'ERR_REPLAY 1, ' : ''}ERR_TOKEN_MALFORMED 3; kids in use: ${KID('demo')}, partner-acme-1, partner-acme-2, ${KID('pci')}, ${KID('pii')}\\n`));
    assert.match(out, /PASS {2}metrics agree with the services' own counters: rejections by code per consumer \(its dead letters\) and per gateway \(its refusedByCode\), payments-api's values opened ≥ its 900 fields/);
    assert.match(out, new RegExp(`PASS — all ${CHECKS.kafka} checks passed in [\\d.]+ s`));
    assert.doesNotMatch(out, /FAIL/);
    assert.doesNotMatch(out, CARD);
    const ledger = fs.readFileSync(path.join(dir, 'run', 'ledger.jsonl'), 'utf8').trim().split('\n');
    assert.equal(ledger.length, 301);
    // The outputs themselves, checked here too: the fraud scorer's and analytics' hold no card number, the ledger's no SSN.
    const output = (name: string): string => fs.readFileSync(path.join(dir, 'run', `${name}.handled.jsonl`), 'utf8');
    assert.doesNotMatch(output('fraud-scorer'), CARD);
    assert.doesNotMatch(output('analytics'), CARD);
    assert.doesNotMatch(output('analytics'), SSN);
    assert.doesNotMatch(output('ledger-worker'), SSN);
    assert.match(output('ledger-worker'), CARD); // it did open its own audience
    assert.match(output('fraud-scorer'), SSN);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without the Kafka jars and redis-server it says exactly what is missing and runs the HTTP part', () => {
  const dir = tmp();
  try {
    const { code, out } = demo(['--dir', dir, '--count', '40'], { WIRESEAL_KAFKA_LIBS: path.join(dir, 'no-such-libs'), WIRESEAL_REDIS_SERVER: path.join(dir, 'no-such-redis-server') });
    assert.equal(code, 0, out);
    assert.match(out, /Kafka part skipped; running the HTTP part only\./);
    assert.match(out, /Kafka jars: MISSING in .*no-such-libs\n/);
    assert.match(out, /To run the Kafka part: .*\.\/dev setup/);
    assert.match(out, /\(Kafka publishing off\)/);
    assert.match(out, /sent by checkout\s+40\n/);
    assert.match(out, /PASS {2}HTTP wire: 40 request bodies, \d+ KiB; 0 of 80 card numbers\/SSNs found \(control: 40\/40 payment ids found\)/);
    assert.match(out, /Redis part skipped: one gateway instance, its replay store in memory\.\n\s+redis-server: MISSING \(.*no-such-redis-server.*apt-get install redis-server\)/);
    assert.match(out, /replay across instances: skipped \(no redis-server; apt-get install redis-server, or \.\/dev setup as root\)/);
    assert.doesNotMatch(out, /gateway-2/);
    // The metrics summary still comes, from each process's own SDK.
    assert.match(out, /\n {4}checkout +0 +120 +0 {2}- +demo-\d{4}-\d{2}\n/);
    assert.match(out, /\n {4}payments-api +120 +0 +0 {2}- +demo-\d{4}-\d{2}\n/);
    assert.match(out, /PASS {2}metrics agree with the services' own counters/);
    assert.match(out, /PASS — all 9 checks of the HTTP part \(Kafka part skipped: Kafka cannot run here, see above\) passed/);
    assert.match(out, /PASS {2}admin API: partner-payouts off \(config v2\) → a plaintext call passed through untouched \(201 po_\w+, untouched 0 → 1, the answer not sealed\) → on again \(v3, written to gateway\.json\), no restart/);
    assert.doesNotMatch(out, /A Kafka record/);
    assert.doesNotMatch(out, CARD);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const sm = secretsManagerAvailable();
test('--secrets-manager: the services read their keys from a local Secrets Manager', { skip: sm.ok ? false : sm.reason }, () => {
  const dir = tmp();
  try {
    const { code, out } = demo(['--dir', dir, '--count', '20', '--secrets-manager', '--no-kafka']);
    assert.equal(code, 0, out);
    assert.match(out, /Secrets Manager \(local moto at http:\/\/127\.0\.0\.1:\d+\): secrets wireseal-demo\/services and wireseal-demo\/gateway created/);
    assert.match(out, new RegExp(`PASS — all ${CHECKS.http + SM} checks of the HTTP part \\(Kafka part skipped: --no-kafka\\) passed`));
    assertKmsProtected(out, dir, false);
    for (const [service, kid] of [['payments-api', 'demo-'], ['checkout', 'demo-'], ['gateway', 'partner-acme-1']] as const) {
      const log = fs.readFileSync(path.join(dir, 'run', `${service}.log`), 'utf8');
      assert.match(log, new RegExp(`"event":"keys-loaded","source":"secrets-manager","primaryKid":"${kid}`), service);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--secrets-manager with Kafka: each service reads its event audiences from their own secrets, of the kind it must hold', { skip: !kafka.ok ? kafka.reason : !sm.ok ? sm.reason : false }, () => {
  const dir = tmp();
  try {
    const { code, out } = demo(['--dir', dir, '--count', '20', '--secrets-manager']);
    assert.equal(code, 0, out);
    assert.match(out, /and wireseal-demo\/pci-public, wireseal-demo\/pci-private, wireseal-demo\/pii for the event audiences/);
    assert.match(out, new RegExp(`PASS — all ${CHECKS.kafka + SM} checks passed`));
    assertKmsProtected(out, dir, true);
    const loaded = (service: string): string[] => fs.readFileSync(path.join(dir, 'run', `${service}.log`), 'utf8').split('\n').filter((l) => l.includes('"keys-loaded"') && l.includes('"audience"'))
      .map((l) => { const e = JSON.parse(l) as { source: string; audience: string; kind: string }; return `${e.source} ${e.audience} ${e.kind}`; }).sort();
    assert.deepEqual(loaded('payments-api'), ['secrets-manager pci public', 'secrets-manager pii shared']);
    assert.deepEqual(loaded('ledger-worker'), ['secrets-manager pci private']);
    assert.deepEqual(loaded('fraud-scorer'), ['secrets-manager pii shared']);
    assert.deepEqual(loaded('analytics'), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a broken key file stops the demo with exit 1 and says how to fix it, without printing key material', () => {
  const dir = tmp();
  try {
    const secret = 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE';
    fs.writeFileSync(path.join(dir, 'keyset.json'), JSON.stringify({ keys: [{ kty: 'oct', kid: 'x', k: secret.slice(0, 20), key_ops: ['encrypt', 'decrypt'] }] }), { mode: 0o600 });
    const { code, out } = demo(['--dir', dir, '--no-kafka']);
    assert.equal(code, 1, out);
    assert.match(out, /FAIL — the demo stopped: .*keyset\.json does not hold a valid key set \(ERR_KEYSET_INVALID\); delete it and run the demo again/);
    assert.ok(!out.includes(secret.slice(0, 20)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--keep: after the run it prints the gateway console and its admin token, serves them, and stops on Ctrl-C (SIGINT)', async () => {
  const dir = tmp();
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', main, '--dir', dir, '--count', '10', '--no-kafka', '--keep'], {
    env: { ...process.env, NO_COLOR: '1', WIRESEAL_REDIS_SERVER: path.join(dir, 'no-such-redis-server') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const until = Date.now() + 120_000;
    while (!/everything stays up until Ctrl-C/.test(out)) {
      if (Date.now() > until || child.exitCode !== null) assert.fail(`no console address:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const consoleUrl = /\n {4}console {6}(http:\/\/127\.0\.0\.1:\d+\/admin\/)\n/.exec(out)?.[1];
    const token = /\n {4}admin token {2}([\w-]{32}) /.exec(out)?.[1];
    assert.ok(consoleUrl && token, out);
    assert.match(out, /PASS {2}admin API: partner-payouts off/);
    const page = await fetch(consoleUrl);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    await page.body?.cancel();
    const services = await fetch(`${consoleUrl}api/services`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(services.status, 200);
    const names = ((await services.json()) as { services: Array<{ service: { name: string } }> }).services.map((s) => s.service.name);
    assert.deepEqual(names, ['partner-payouts', 'partner-payouts-whole', 'status']);
    assert.equal((await fetch(`${consoleUrl}api/services`)).status, 401);
    child.kill('SIGINT');
    assert.equal(await exited, 0, out);
    assert.match(out, /PASS — all 9 checks of the HTTP part \(Kafka part skipped: --no-kafka\) passed/);
    await assert.rejects(fetch(consoleUrl), 'the console still answers after Ctrl-C');
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGINT'); // the demo stops its services on SIGINT; SIGKILL would orphan them
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
