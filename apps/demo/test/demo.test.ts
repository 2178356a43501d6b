import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kafkaAvailable } from '@wireseal-tooling/local-kafka';
import { secretsManagerAvailable } from '@wireseal-tooling/local-secrets';

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

const kafka = kafkaAvailable();

test('the whole demo, from a fresh key directory: every check passes and no card number is printed', { skip: kafka.ok ? false : kafka.reason }, () => {
  const dir = tmp();
  try {
    const { code, out, ms } = demo(['--dir', dir]);
    assert.equal(code, 0, out);
    assert.ok(ms < 120_000, `the demo took ${ms} ms`);
    assert.match(out, /keyset\.json created \(mode 0600\): primary kid demo-\d{4}-\d{2}/);
    assert.equal(fs.statSync(path.join(dir, 'keyset.json')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(dir, 'gateway-keys.json')).mode & 0o777, 0o600);
    // One request body and one Kafka record as they crossed the wire, tokens visible.
    assert.match(out, /A request body as it crossed the wire[\s\S]*"number": "eyJ[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+"/);
    assert.match(out, /A Kafka record as the broker holds it[\s\S]*headers: event-type=payment\.authorized, wireseal=1/);
    assert.match(out, /"wsf":"card\.number","wsc":"[\w-]{22}"/);
    // Counts.
    assert.match(out, /sent by checkout\s+300\n/);
    assert.match(out, /opened by ledger-worker\s+300\n/);
    assert.match(out, /dead-lettered\s+5\s+ERR_DECRYPT 1, ERR_CONTEXT_MISMATCH 1, ERR_KEY_UNKNOWN 1, ERR_FIELD_MISMATCH 1, ERR_TOKEN_MALFORMED 1/);
    // The leak check ran on the raw topic and the broker's disk, with working controls.
    assert.match(out, /PASS {2}topic read raw: 305 records of payments\.authorized, no keys; 0 of 600 card numbers\/SSNs found \(control: 300\/300 payment ids found\)/);
    assert.match(out, /PASS {2}broker log dir: \d+ files, [\d.]+ MiB under .*; 0 of 600 card numbers\/SSNs found \(control: 300\/300 payment ids found\)/);
    assert.match(out, /PASS {2}config v2 \(keyId partner-acme-2, no restart\): old key → 400 ERR_KEY_UNKNOWN, new key → 201/);
    assert.match(out, /PASS — all 13 checks passed in [\d.]+ s/);
    assert.doesNotMatch(out, /FAIL/);
    assert.doesNotMatch(out, CARD);
    const ledger = fs.readFileSync(path.join(dir, 'run', 'ledger.jsonl'), 'utf8').trim().split('\n');
    assert.equal(ledger.length, 300);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without the Kafka jars it says exactly what is missing and runs the HTTP part', () => {
  const dir = tmp();
  try {
    const { code, out } = demo(['--dir', dir, '--count', '40'], { WIRESEAL_KAFKA_LIBS: path.join(dir, 'no-such-libs') });
    assert.equal(code, 0, out);
    assert.match(out, /Kafka part skipped; running the HTTP part only\./);
    assert.match(out, /Kafka jars: MISSING in .*no-such-libs\n/);
    assert.match(out, /To run the Kafka part: .*\.\/dev setup/);
    assert.match(out, /\(Kafka publishing off\)/);
    assert.match(out, /sent by checkout\s+40\n/);
    assert.match(out, /PASS {2}HTTP wire: 40 request bodies, \d+ KiB; 0 of 80 card numbers\/SSNs found \(control: 40\/40 payment ids found\)/);
    assert.match(out, /PASS — all 7 checks of the HTTP part \(Kafka part skipped: Kafka cannot run here, see above\) passed/);
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
    assert.match(out, /PASS — all 7 checks of the HTTP part \(Kafka part skipped: --no-kafka\) passed/);
    for (const [service, kid] of [['payments-api', 'demo-'], ['checkout', 'demo-'], ['gateway', 'partner-acme-1']] as const) {
      const log = fs.readFileSync(path.join(dir, 'run', `${service}.log`), 'utf8');
      assert.match(log, new RegExp(`"event":"keys-loaded","source":"secrets-manager","primaryKid":"${kid}`), service);
    }
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
