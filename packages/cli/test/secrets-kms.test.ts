// KMS-protected key sets against moto (Secrets Manager and KMS on one endpoint):
// secrets push --kms-key-id, keyset add|promote|retire|remove|list --secret-id on a
// protected secret (which KMS calls each makes, from moto's request recorder), and
// secrets migrate while a reader that accepts both formats keeps opening tokens, and
// while a Kafka consumer whose codec reads keys from the secret loses no record.
import { readFileSync, writeFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretsManagerKeyProvider } from '@wireseal/aws-secrets';
import { createKafkaCodec, wiresealEachMessage, wiresealProducer } from '@wireseal/kafka';
import { kafkaAvailable, startKafka } from '@wireseal-tooling/local-kafka';
import type { KafkaHandle } from '@wireseal-tooling/local-kafka';
import { secretsManagerAvailable, startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { SecretsManagerHandle } from '@wireseal-tooling/local-secrets';
import { FieldPolicy, KeySet, encryptFields, open, seal } from '@wireseal/core';
import type { Jwks } from '@wireseal/core';
import { errorCode, tempDir, wireseal } from './helpers.ts';

const avail = secretsManagerAvailable();
const tmp = tempDir();
let moto: SecretsManagerHandle;
let env: Record<string, string>;
let sm: SecretsManagerClient;
let kms: KMSClient;
let kmsKeyId: string;

beforeAll(async () => {
  if (!avail.ok) return;
  // moto's request recorder (started per test below) writes here: it tells which KMS actions each command made.
  process.env.MOTO_RECORDER_FILEPATH = tmp.path('moto-recording.jsonl');
  moto = await startSecretsManager();
  env = { AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey, AWS_REGION: moto.region };
  sm = new SecretsManagerClient(moto.clientConfig());
  kms = new KMSClient(moto.clientConfig());
  kmsKeyId = (await kms.send(new CreateKeyCommand({ Description: 'wireseal test' }))).KeyMetadata!.KeyId!;
});
afterAll(async () => {
  sm?.destroy();
  kms?.destroy();
  await moto?.stop();
  delete process.env.MOTO_RECORDER_FILEPATH;
  tmp.cleanup();
});

const aws = (): string[] => ['--endpoint', moto.endpoint];

/** Runs `fn` with moto recording, and returns the KMS actions it made (`Encrypt`, `Decrypt`, ...). */
async function kmsCallsDuring(fn: () => Promise<void>): Promise<string[]> {
  const api = (what: string): Promise<Response> => fetch(`${moto.endpoint}/moto-api/recorder/${what}`, { method: 'POST' });
  await api('reset-recording');
  await api('start-recording');
  try {
    await fn();
  } finally {
    await api('stop-recording');
  }
  const text = await (await fetch(`${moto.endpoint}/moto-api/recorder/download-recording`)).text();
  const calls: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const headers = (JSON.parse(line) as { headers: Record<string, string> }).headers;
    const target = Object.entries(headers).find(([k]) => k.toLowerCase() === 'x-amz-target')?.[1] ?? '';
    if (target.startsWith('TrentService.')) calls.push(target.slice('TrentService.'.length));
  }
  return calls;
}

interface Stored {
  wireseal?: string;
  kmsKeyId?: string;
  keys: Array<{ kid: string; k?: string; k_kms?: string; key_ops?: string[]; wireseal_retired?: string }>;
}
async function stored(secretId: string, stage = 'AWSCURRENT'): Promise<Stored & { versionId: string }> {
  const out = await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
  return { ...(JSON.parse(out.SecretString!) as Stored), versionId: out.VersionId! };
}
const blobs = (s: Stored): Record<string, string | undefined> => Object.fromEntries(s.keys.map((k) => [k.kid, k.k_kms]));
const ok = (r: { code: number | null; stderr: string }): void => expect(r.code, r.stderr).toBe(0);

describe.skipIf(!avail.ok)('KMS-protected key sets (moto)', () => {
  it('secrets push --kms-key-id stores no key in clear; seal, open and keyset list --secret-id read it', async () => {
    const keys = tmp.path('push.json');
    ok(await wireseal(['keygen', '--kid', 'p1', '--out', keys]));
    const push = await wireseal(['secrets', 'push', '--secret-id', 'app/kms-push', '--keyset', keys, '--kms-key-id', kmsKeyId, '--json', ...aws()], { env });
    ok(push);
    expect(JSON.parse(push.out)).toMatchObject({ action: 'created', format: 'kms-v1', encrypted: ['p1'], primaryKid: 'p1' });
    const s = await stored('app/kms-push');
    expect(s).toMatchObject({ wireseal: 'kms-v1', kmsKeyId, keys: [{ kid: 'p1', key_ops: ['encrypt', 'decrypt'] }] });
    expect(s.keys.every((k) => k.k === undefined && typeof k.k_kms === 'string')).toBe(true);
    const k = (JSON.parse(readFileSync(keys, 'utf8')) as Jwks).keys[0]!.k;
    expect(JSON.stringify(s) + push.stderr + push.out).not.toContain(k);

    const sealed = await wireseal(['seal', '--secret-id', 'app/kms-push', ...aws(), '--context', 'topic=t'], { env, input: 'wrapped' });
    ok(sealed);
    expect((await wireseal(['open', '--keyset', keys, '--context', 'topic=t'], { input: sealed.out })).out).toBe('wrapped');
    const opened = await wireseal(['open', '--secret-id', 'app/kms-push', ...aws(), '--context', 'topic=t'], { env, input: sealed.out });
    expect([opened.code, opened.out]).toEqual([0, 'wrapped']);

    let list: Awaited<ReturnType<typeof wireseal>> | undefined;
    const listCalls = await kmsCallsDuring(async () => {
      list = await wireseal(['keyset', 'list', '--secret-id', 'app/kms-push', '--json', ...aws()], { env });
    });
    ok(list!);
    expect(JSON.parse(list!.out)).toEqual([{ kid: 'p1', role: 'primary' }]);
    expect(listCalls).toEqual([]);

    // The same file again: the blob is kept (one Decrypt to check the bytes, no Encrypt) and nothing is put.
    let again: Awaited<ReturnType<typeof wireseal>> | undefined;
    const againCalls = await kmsCallsDuring(async () => {
      again = await wireseal(['secrets', 'push', '--secret-id', 'app/kms-push', '--keyset', keys, '--kms-key-id', kmsKeyId, '--json', ...aws()], { env });
    });
    ok(again!);
    expect(JSON.parse(again!.out)).toMatchObject({ action: 'unchanged', encrypted: [] });
    expect(againCalls.filter((c) => c === 'Encrypt')).toEqual([]);

    // A plain push over a protected secret is refused (it would put the keys in clear).
    const plain = await wireseal(['secrets', 'push', '--secret-id', 'app/kms-push', '--keyset', keys, ...aws()], { env });
    expect([plain.code, errorCode(plain)]).toEqual([2, 'ERR_USAGE']);
  });

  it('keyset add|promote|retire|remove --secret-id on a protected secret: only add calls KMS (one Encrypt), every other blob stays byte-identical', async () => {
    const id = 'app/kms-rotate';
    const keys = tmp.path('rotate.json');
    ok(await wireseal(['keygen', '--kid', 'r1', '--out', keys]));
    ok(await wireseal(['secrets', 'push', '--secret-id', id, '--keyset', keys, '--kms-key-id', kmsKeyId, ...aws()], { env }));
    const before = await stored(id);
    const oldToken = (await wireseal(['seal', '--secret-id', id, ...aws()], { env, input: 'sealed under r1' })).out;

    const step = async (args: string[]): Promise<string[]> =>
      kmsCallsDuring(async () => {
        ok(await wireseal(['keyset', ...args, '--secret-id', id, ...aws()], { env }));
      });

    expect(await step(['add', '--kid', 'r2', '--kms-key-id', kmsKeyId])).toEqual(['Encrypt']);
    const added = await stored(id);
    expect(added.versionId).not.toBe(before.versionId);
    expect(blobs(added).r1).toBe(blobs(before).r1);
    expect(added.keys.map((k) => [k.kid, k.key_ops])).toEqual([
      ['r1', ['encrypt', 'decrypt']],
      ['r2', ['decrypt']],
    ]);
    expect(added.keys.every((k) => k.k === undefined)).toBe(true);

    expect(await step(['promote', 'r2'])).toEqual([]);
    const promoted = await stored(id);
    expect(blobs(promoted)).toEqual(blobs(added));
    expect(promoted.keys.map((k) => [k.kid, k.key_ops])).toEqual([
      ['r1', ['decrypt']],
      ['r2', ['encrypt', 'decrypt']],
    ]);
    expect(await step(['retire', 'r1'])).toEqual([]);
    expect((await stored(id)).keys[0]!.wireseal_retired).toMatch(/^\d{4}-/);
    expect(blobs(await stored(id))).toEqual(blobs(added));

    // While r1 is still in the set, the old token opens and new tokens are sealed under r2.
    const openOld = await wireseal(['open', '--secret-id', id, ...aws()], { env, input: oldToken });
    expect([openOld.code, openOld.out]).toEqual([0, 'sealed under r1']);
    const fresh = (await wireseal(['seal', '--secret-id', id, ...aws()], { env, input: 'new' })).out;
    expect(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid).toBe('r2');

    expect(await step(['remove', 'r1'])).toEqual([]);
    const removed = await stored(id);
    expect(blobs(removed)).toEqual({ r2: blobs(added).r2 });
    const list = await wireseal(['keyset', 'list', '--secret-id', id, '--json', ...aws()], { env });
    // AWSPREVIOUS (the retire put) still lends r1 as decrypt-only, as readers merge it.
    expect(JSON.parse(list.out)).toEqual([
      { kid: 'r2', role: 'primary' },
      { kid: 'r1', role: 'decrypt-only', retired: expect.any(String) },
    ]);

    // Another KMS key than the secret's is refused; --kms-key-id without --secret-id too.
    const other = await wireseal(['keyset', 'add', '--kid', 'r3', '--secret-id', id, '--kms-key-id', 'alias/other', ...aws()], { env });
    expect([other.code, errorCode(other)]).toEqual([2, 'ERR_USAGE']);
    const noSecret = await wireseal(['keyset', 'add', '--kid', 'r3', '--keyset', keys, '--kms-key-id', kmsKeyId]);
    expect([noSecret.code, errorCode(noSecret)]).toEqual([2, 'ERR_USAGE']);
  });

  it('rotation through the protected format with stored data: scan counts tokens per kid before and after re-encryption, with no key', async () => {
    const id = 'app/kms-scan';
    const keys = tmp.path('scan-keys.json');
    const policyFile = tmp.path('scan-policy.json');
    const data = tmp.path('scan-data.jsonl');
    const out = tmp.path('scan-data.v2.jsonl');
    writeFileSync(policyFile, JSON.stringify({ fields: ['card.number', 'customer.ssn'] }));
    ok(await wireseal(['keygen', '--kid', 's1', '--out', keys]));
    ok(await wireseal(['secrets', 'push', '--secret-id', id, '--keyset', keys, '--kms-key-id', kmsKeyId, ...aws()], { env }));
    // A writer holding the protected secret (through KMS) seals 40 records: 80 tokens under s1.
    const writer = secretsManagerKeyProvider({ secretId: id, client: sm, kmsClient: kms, refreshIntervalMs: 60_000 });
    await writer.ready();
    const policy = FieldPolicy.parse(readFileSync(policyFile, 'utf8'));
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify(encryptFields(writer.current(), { id: i, card: { number: `4111${i}` }, customer: { ssn: `078-${i}` } }, policy)));
    await writer.close();
    writeFileSync(data, `${lines.join('\n')}\n`);
    const scan = async (file: string, extra: string[] = []) => wireseal(['scan', '--policy', policyFile, '--in', file, '--json', '--progress', 'none', ...extra]);
    const before = await scan(data, ['--require-absent', 's1']);
    expect(before.code).toBe(4);
    expect(JSON.parse(before.out)).toMatchObject({ records: 40, tokens: 80, tokensByKid: { s1: 80 }, requireAbsent: { s1: 80 } });

    // Rotate on the protected secret: add (one Encrypt), promote; then re-encrypt the data with the secret.
    ok(await wireseal(['keyset', 'add', '--kid', 's2', '--secret-id', id, '--kms-key-id', kmsKeyId, ...aws()], { env }));
    ok(await wireseal(['keyset', 'promote', 's2', '--secret-id', id, ...aws()], { env }));
    const re = await wireseal(['reencrypt', '--policy', policyFile, '--secret-id', id, '--in', data, '--out', out, '--json', '--progress', 'none', ...aws()], { env });
    expect(re.code, re.stderr).toBe(0);
    expect(JSON.parse(re.out)).toMatchObject({ records: 40, failed: 0, fieldsResealed: 80, resealedByKid: { s1: 80 } });
    const after = await scan(out, ['--require-absent', 's1']);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.out)).toMatchObject({ records: 40, tokens: 80, tokensByKid: { s2: 80 } });
    // The original file still holds s1 tokens: s1 may only be removed once nothing sealed with it is kept.
    expect((await scan(data, ['--require-absent', 's1'])).code).toBe(4);
  });

  it('keyset edits a plain secret in place too, and refuses --kms-key-id on it (migrate first)', async () => {
    const id = 'app/plain-edit';
    const keys = tmp.path('plain-edit.json');
    ok(await wireseal(['keygen', '--kid', 'e1', '--out', keys]));
    ok(await wireseal(['secrets', 'push', '--secret-id', id, '--keyset', keys, ...aws()], { env }));
    ok(await wireseal(['keyset', 'add', 'e2', '--secret-id', id, ...aws()], { env }));
    const s = await stored(id);
    expect(s.wireseal).toBeUndefined();
    expect(s.keys.map((k) => [k.kid, k.key_ops, typeof k.k])).toEqual([
      ['e1', ['encrypt', 'decrypt'], 'string'],
      ['e2', ['decrypt'], 'string'],
    ]);
    const refused = await wireseal(['keyset', 'add', 'e3', '--secret-id', id, '--kms-key-id', kmsKeyId, ...aws()], { env });
    expect([refused.code, errorCode(refused)]).toEqual([2, 'ERR_USAGE']);
  });

  it('secrets migrate converts a plain secret in place while a reader refreshing in a loop keeps opening tokens (zero failures)', async () => {
    const id = 'app/kms-migrate';
    const keys = tmp.path('migrate.json');
    ok(await wireseal(['keygen', '--kid', 'm1', '--out', keys]));
    ok(await wireseal(['secrets', 'push', '--secret-id', id, '--keyset', keys, ...aws()], { env }));
    const plainVersion = (await stored(id)).versionId;
    const token = seal(KeySet.fromJwks(readFileSync(keys, 'utf8')), new TextEncoder().encode('before, during and after'));

    const reader = secretsManagerKeyProvider({ secretId: id, client: sm, kmsClient: kms, refreshIntervalMs: 1_000, jitter: 0 });
    await reader.ready();
    let stop = false;
    let opens = 0;
    const failures: string[] = [];
    const formats = new Set<string>();
    const loop = (async () => {
      while (!stop) {
        try {
          await reader.refresh();
          formats.add(reader.status().kmsKeyId ?? 'plain');
          expect(new TextDecoder().decode(open(reader.current(), token))).toBe('before, during and after');
          opens++;
        } catch (err) {
          failures.push(`${(err as { code?: string }).code}: ${(err as Error).message}`);
        }
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const before = opens;
      const migrate = await wireseal(['secrets', 'migrate', '--secret-id', id, '--kms-key-id', kmsKeyId, '--json', ...aws()], { env });
      ok(migrate);
      expect(JSON.parse(migrate.out)).toMatchObject({ action: 'migrated', previousVersionId: plainVersion, kmsKeyId, kids: ['m1'] });
      const during = opens - before;
      const afterMigrate = opens;
      const until = Date.now() + 5_000;
      while (Date.now() < until && (!formats.has(kmsKeyId) || opens < afterMigrate + 5)) await new Promise((r) => setTimeout(r, 50));
      expect(during).toBeGreaterThan(0);
    } finally {
      stop = true;
      await loop;
      await reader.close();
    }
    expect(failures).toEqual([]);
    expect(opens).toBeGreaterThan(10);
    expect([...formats]).toEqual(['plain', kmsKeyId]);

    // AWSCURRENT is protected, AWSPREVIOUS is the plain version; a second migrate changes nothing.
    const s = await stored(id);
    expect(s).toMatchObject({ wireseal: 'kms-v1', kmsKeyId });
    expect(s.keys.every((k) => k.k === undefined)).toBe(true);
    expect((await stored(id, 'AWSPREVIOUS')).versionId).toBe(plainVersion);
    const again = await wireseal(['secrets', 'migrate', '--secret-id', id, '--kms-key-id', kmsKeyId, '--json', ...aws()], { env });
    expect(JSON.parse(again.out)).toMatchObject({ action: 'unchanged', versionId: s.versionId });
    const opened = await wireseal(['open', '--secret-id', id, ...aws()], { env, input: token });
    expect([opened.code, opened.out]).toEqual([0, 'before, during and after']);

    // Under another KMS key: re-wrapped (new blobs, same kids and roles), and the token still opens.
    const key2 = (await kms.send(new CreateKeyCommand({ Description: 'wireseal test 2' }))).KeyMetadata!.KeyId!;
    const rewrap = await wireseal(['secrets', 'migrate', '--secret-id', id, '--kms-key-id', key2, '--json', ...aws()], { env });
    ok(rewrap);
    expect(JSON.parse(rewrap.out)).toMatchObject({ action: 'rewrapped', previousVersionId: s.versionId, kmsKeyId: key2, kids: ['m1'] });
    const rewrapped = await stored(id);
    expect(rewrapped).toMatchObject({ wireseal: 'kms-v1', kmsKeyId: key2, keys: [{ kid: 'm1', key_ops: ['encrypt', 'decrypt'] }] });
    expect(blobs(rewrapped).m1).not.toBe(blobs(s).m1);
    const openedRewrapped = await wireseal(['open', '--secret-id', id, ...aws()], { env, input: token });
    expect([openedRewrapped.code, openedRewrapped.out]).toEqual([0, 'before, during and after']);

    // --drop-plain: AWSPREVIOUS no longer holds the keys in clear.
    const keys2 = tmp.path('migrate2.json');
    ok(await wireseal(['keygen', '--kid', 'd1', '--out', keys2]));
    ok(await wireseal(['secrets', 'push', '--secret-id', 'app/kms-drop', '--keyset', keys2, ...aws()], { env }));
    ok(await wireseal(['secrets', 'migrate', '--secret-id', 'app/kms-drop', '--kms-key-id', kmsKeyId, '--drop-plain', ...aws()], { env }));
    expect((await stored('app/kms-drop', 'AWSPREVIOUS')).wireseal).toBe('kms-v1');
  });
});

const kafkaAvail = kafkaAvailable();

describe.skipIf(!avail.ok || !kafkaAvail.ok)('secrets migrate under a running Kafka consumer (moto + real Kafka)', () => {
  let broker: KafkaHandle;
  let kafka: Kafka;
  beforeAll(async () => {
    broker = await startKafka();
    kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
  }, 180_000);
  afterAll(async () => {
    await broker?.stop();
  });

  it('a consumer whose keys come from the secret loses no record and dead-letters none while the secret is migrated', async () => {
    const id = 'app/kms-kafka';
    const keysFile = tmp.path('kafka.json');
    ok(await wireseal(['keygen', '--kid', 'kf1', '--out', keysFile]));
    ok(await wireseal(['secrets', 'push', '--secret-id', id, '--keyset', keysFile, ...aws()], { env }));
    const topic = `kms-migrate-${process.pid}-${Date.now()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const topics = { [topic]: { mode: 'fields' as const, policy: { fields: ['pan'] } } };

    const reader = secretsManagerKeyProvider({ secretId: id, client: sm, kmsClient: kms, refreshIntervalMs: 200, jitter: 0 });
    await reader.ready();
    const consumerCodec = createKafkaCodec({ keys: reader, topics });
    const got = new Map<number, string>();
    const deadLettered: unknown[] = [];
    const formatsSeen = new Set<string>();
    const consumer = kafka.consumer({ groupId: `g-${topic}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: wiresealEachMessage(
        consumerCodec,
        async ({ message }) => {
          const doc = message.wireseal.doc as { id: number; pan: string };
          got.set(doc.id, doc.pan);
          formatsSeen.add(reader.status().kmsKeyId ?? 'plain');
        },
        { deadLetter: { producer: { send: async (record: unknown) => (deadLettered.push(record), []) } as never } },
      ),
    });

    const producer = wiresealProducer(kafka.producer(), createKafkaCodec({ keys: KeySet.fromJwks(readFileSync(keysFile, 'utf8')), topics }));
    await producer.connect();
    const N = 300;
    let migrated: Awaited<ReturnType<typeof wireseal>> | undefined;
    let finalKmsKeyId: string | undefined;
    try {
      for (let i = 0; i < N; i += 5) {
        await producer.send({ topic, messages: Array.from({ length: 5 }, (_, j) => ({ key: `k${i + j}`, value: { id: i + j, pan: `4111-${i + j}` } })) });
        if (i === 100) migrated = await wireseal(['secrets', 'migrate', '--secret-id', id, '--kms-key-id', kmsKeyId, ...aws()], { env });
        await new Promise((r) => setTimeout(r, 25));
      }
      const until = Date.now() + 60_000;
      while (got.size < N && deadLettered.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      await reader.refresh();
      finalKmsKeyId = reader.status().kmsKeyId;
    } finally {
      await producer.disconnect();
      await consumer.disconnect();
      await reader.close();
    }
    ok(migrated!);
    expect(deadLettered).toEqual([]);
    expect(got.size).toBe(N);
    for (let i = 0; i < N; i++) expect(got.get(i)).toBe(`4111-${i}`);
    expect([...formatsSeen]).toEqual(['plain', kmsKeyId]); // records were opened under both versions
    expect(finalKmsKeyId).toBe(kmsKeyId); // the consumer's keys came from the protected version in the end
  }, 120_000);
});
