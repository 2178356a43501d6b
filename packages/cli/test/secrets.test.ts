// secrets push against a real Secrets Manager API (moto_server), then the
// commands that read keys with --secret-id, through a rotation across versions.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetSecretValueCommand, ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretsManagerAvailable, startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { SecretsManagerHandle } from '@wireseal-tooling/local-secrets';
import { KeySet } from '@wireseal/core';
import type { Jwks } from '@wireseal/core';
import { errorCode, tempDir, wireseal } from './helpers.ts';

const avail = secretsManagerAvailable();
const tmp = tempDir();
let moto: SecretsManagerHandle;
let env: Record<string, string>;
let client: SecretsManagerClient;

beforeAll(async () => {
  if (!avail.ok) return;
  moto = await startSecretsManager();
  env = { AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey, AWS_REGION: moto.region };
  client = new SecretsManagerClient(moto.clientConfig());
});
afterAll(async () => {
  client?.destroy();
  await moto?.stop();
  tmp.cleanup();
});

const aws = (): string[] => ['--endpoint', moto.endpoint];
const kidOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

describe.skipIf(!avail.ok)('secrets push and --secret-id (moto)', () => {
  it('creates the secret, then open --secret-id opens what seal --secret-id sealed', async () => {
    const keys = tmp.path('keys.json');
    await wireseal(['keygen', '--kid', 'v1', '--out', keys]);
    const push = await wireseal(['secrets', 'push', '--secret-id', 'app/keys', '--keyset', keys, '--json', ...aws()], { env });
    expect(push.code, push.stderr).toBe(0);
    const pushed = JSON.parse(push.out);
    expect(pushed).toMatchObject({ secretId: 'app/keys', action: 'created', primaryKid: 'v1' });
    const stored = await client.send(new GetSecretValueCommand({ SecretId: 'app/keys' }));
    expect(stored.VersionId).toBe(pushed.versionId);
    expect(KeySet.fromJwks(stored.SecretString!).toJwks()).toEqual(KeySet.fromJwks(readFileSync(keys, 'utf8')).toJwks());
    const k = (JSON.parse(readFileSync(keys, 'utf8')) as Jwks).keys[0]!.k;
    expect(push.stderr + push.out).not.toContain(k);

    const sealed = await wireseal(['seal', '--secret-id', 'app/keys', ...aws(), '--context', 'topic=orders'], { env, input: 'order 66' });
    expect(sealed.code, sealed.stderr).toBe(0);
    const opened = await wireseal(['open', '--secret-id', 'app/keys', ...aws(), '--context', 'topic=orders'], { env, input: sealed.out });
    expect([opened.code, opened.out]).toEqual([0, 'order 66']);
    // The same token opens with the file, and pushing the same set again changes nothing.
    expect((await wireseal(['open', '--keyset', keys, '--context', 'topic=orders'], { input: sealed.out })).out).toBe('order 66');
    const again = await wireseal(['secrets', 'push', '--secret-id', 'app/keys', '--keyset', keys, '--json', ...aws()], { env });
    expect(JSON.parse(again.out)).toMatchObject({ action: 'unchanged', versionId: pushed.versionId });
  });

  it('rotates across versions: AWSPREVIOUS keys still open, and an unsafe push is refused', async () => {
    const keys = tmp.path('rot.json');
    const id = 'app/rotating';
    await wireseal(['keygen', '--kid', 'r1', '--out', keys]);
    expect((await wireseal(['secrets', 'push', '--secret-id', id, '--keyset', keys, ...aws()], { env })).code).toBe(0);
    const oldToken = (await wireseal(['seal', '--secret-id', id, ...aws()], { env, input: 'old secret' })).out;
    expect(kidOf(oldToken)).toBe('r1');

    // Skipping step 1 (promote before readers know the key) is refused.
    const unsafe = tmp.path('unsafe.json');
    writeFileSync(unsafe, JSON.stringify(KeySet.fromJwks(readFileSync(keys, 'utf8')).addKey({ kid: 'r2' }).promote('r2').toJwks()));
    const refused = await wireseal(['secrets', 'push', '--secret-id', id, '--keyset', unsafe, ...aws()], { env });
    expect([refused.code, errorCode(refused)]).toEqual([2, 'ERR_USAGE']);

    // Step 1: add r2, push. Step 2: promote r2, push. Then drop r1 from the file and push (r1 lives on in AWSPREVIOUS).
    await wireseal(['keyset', 'add', '--keyset', keys, '--kid', 'r2']);
    expect((await wireseal(['secrets', 'push', '--secret-id', id, '--keyset', keys, ...aws()], { env })).code).toBe(0);
    await wireseal(['keyset', 'promote', 'r2', '--keyset', keys]);
    expect((await wireseal(['secrets', 'push', '--secret-id', id, '--keyset', keys, ...aws()], { env })).code).toBe(0);
    await wireseal(['keyset', 'retire', 'r1', '--keyset', keys]);
    await wireseal(['keyset', 'remove', 'r1', '--keyset', keys]);
    expect((await wireseal(['secrets', 'push', '--secret-id', id, '--keyset', keys, ...aws()], { env })).code).toBe(0);
    const versions = await client.send(new ListSecretVersionIdsCommand({ SecretId: id }));
    expect(versions.Versions?.length).toBeGreaterThanOrEqual(4);

    const list = await wireseal(['keyset', 'list', '--secret-id', id, '--json', ...aws()], { env });
    // AWSCURRENT holds r2 only; AWSPREVIOUS (the promote push) adds r1 as decrypt-only.
    expect(JSON.parse(list.out)).toEqual([
      { kid: 'r2', role: 'primary' },
      { kid: 'r1', role: 'decrypt-only' },
    ]);
    const openOld = await wireseal(['open', '--secret-id', id, ...aws()], { env, input: oldToken });
    expect([openOld.code, openOld.out]).toEqual([0, 'old secret']);
    const fresh = (await wireseal(['seal', '--secret-id', id, ...aws()], { env, input: 'new' })).out;
    expect(kidOf(fresh)).toBe('r2');
  });

  it('a missing secret is ERR_KEY_SOURCE; no region is ERR_KEY_SOURCE; --region without --secret-id is a usage error', async () => {
    const missing = await wireseal(['open', '--secret-id', 'nope', ...aws()], { env, input: 'x' });
    expect([missing.code, errorCode(missing)]).toEqual([1, 'ERR_KEY_SOURCE']);
    const { AWS_REGION: _, ...noRegion } = env;
    const region = await wireseal(['open', '--secret-id', 'app/keys', ...aws()], { env: noRegion, input: 'x' });
    expect([region.code, errorCode(region)]).toEqual([1, 'ERR_KEY_SOURCE']);
    const usage = await wireseal(['open', '--keyset', 'k.json', '--region', 'eu-west-1'], { input: 'x' });
    expect([usage.code, errorCode(usage)]).toEqual([2, 'ERR_USAGE']);
  });

  it('an unreachable endpoint makes secrets push fail with ERR_IO (exit 3)', async () => {
    const keys = tmp.path('io.json');
    await wireseal(['keygen', '--kid', 'io', '--out', keys]);
    const r = await wireseal(['secrets', 'push', '--secret-id', 'x', '--keyset', keys, '--endpoint', 'http://127.0.0.1:9'], { env: { ...env, AWS_MAX_ATTEMPTS: '1' } });
    expect([r.code, errorCode(r)]).toEqual([3, 'ERR_IO']);
  });
});
