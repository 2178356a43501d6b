/**
 * KMS-protected key sets (docs/format.md §2.1) against moto's real KMS and
 * Secrets Manager APIs: two moto processes, one serving Secrets Manager and
 * one serving KMS, so either can fail alone; a third with IAM enforcement
 * (INITIAL_NO_AUTH_ACTION_COUNT) for the permission tests. KMS calls are
 * counted by a middleware on the KMS client.
 */
import net from 'node:net';
import { CreateAccessKeyCommand, CreateUserCommand, DeleteUserPolicyCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { KMSClientConfig } from '@aws-sdk/client-kms';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { AwsClientConfig, SecretsManagerHandle } from '@wireseal-tooling/local-secrets';
import { KeySet, open, seal } from '@wireseal/core';
import type { WiresealError } from '@wireseal/core/errors';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KeySourceFailure, isProtectedKeySet, protectKeySet, secretsManagerKeyProvider, secretsManagerKeyring, unprotectKeySet } from '../src/index.ts';
import type { KmsClientLike, ProtectedKeySet, SecretsManagerErrorInfo } from '../src/index.ts';
import { caught, countingClient, createSecret, expectNoKeyBytes, putSecret, secretName } from './helpers.ts';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A KMS client that counts Encrypt and Decrypt HTTP attempts. */
function countingKms(config: KMSClientConfig): { client: KMSClient; counts: { Encrypt: number; Decrypt: number } } {
  const client = new KMSClient(config);
  const counts = { Encrypt: 0, Decrypt: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'EncryptCommand') counts.Encrypt++;
      if (context.commandName === 'DecryptCommand') counts.Decrypt++;
      return next(args);
    },
    { step: 'deserialize', name: 'countKmsCalls' },
  );
  return { client, counts };
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A KMS client that can be switched to a closed port (KMS unreachable) and back. */
function switchableKms(up: KMSClient, down: KMSClient): { client: KmsClientLike; setDown: (d: boolean) => void } {
  let isDown = false;
  const client = { send: (command: never, options?: never) => (isDown ? down : up).send(command, options) } as unknown as KmsClientLike;
  return { client, setDown: (d) => (isDown = d) };
}

let sm: SecretsManagerHandle; // Secrets Manager
let kmsMoto: SecretsManagerHandle; // KMS, in another process
let kmsKeyId: string;
let admin: { client: KMSClient; counts: { Encrypt: number; Decrypt: number } };
let smAdmin: SecretsManagerClient;

beforeAll(async () => {
  [sm, kmsMoto] = await Promise.all([startSecretsManager(), startSecretsManager()]);
  admin = countingKms(kmsMoto.clientConfig());
  smAdmin = countingClient(sm.clientConfig()).client;
  kmsKeyId = (await admin.client.send(new CreateKeyCommand({ Description: 'wireseal test' }))).KeyMetadata!.KeyId!;
}, 60_000);
afterAll(async () => {
  await Promise.all([sm?.stop(), kmsMoto?.stop()]);
});

/** Protects `set` for secret `name` (re-using `previous`'s blobs) and stores it: a new secret, or a new AWSCURRENT. */
async function store(name: string, set: KeySet, previous?: ProtectedKeySet): Promise<ProtectedKeySet> {
  const prot = await protectKeySet(set.toJwks(), { kmsClient: admin.client, kmsKeyId, secretId: name, ...(previous ? { previous } : {}) });
  if (previous) await putSecret(smAdmin, name, JSON.stringify(prot));
  else await createSecret(smAdmin, name, JSON.stringify(prot));
  return prot;
}

/** A fast-refreshing provider for outage tests (200 ms refresh, stale after 1.5 s, one attempt per call), loaded, and a token sealed with it. */
async function outageProvider(name: string, kmsClient: KmsClientLike) {
  const errors: Array<[WiresealError, SecretsManagerErrorInfo]> = [];
  const provider = secretsManagerKeyProvider({
    secretId: name,
    client: countingClient({ ...sm.clientConfig(), maxAttempts: 1 }).client,
    kmsClient,
    refreshIntervalMs: 200,
    jitter: 0,
    maxStaleMs: 1500,
    requestTimeoutMs: 1000,
    onError: (e, i) => errors.push([e, i]),
  });
  await provider.ready();
  return { provider, errors, token: seal(provider.current(), 'before') };
}

describe('protectKeySet / unprotectKeySet on moto KMS', () => {
  it('protectKeySet with previous encrypts only the new keys (Encrypt calls counted); blobs are bound to the secret name and kid', async () => {
    const name = secretName();
    const v1 = KeySet.generate({ kid: 'p-1' }).addKey({ kid: 'p-2' });
    const { client, counts } = countingKms(kmsMoto.clientConfig());
    const p1 = await protectKeySet(v1.toJwks(), { kmsClient: client, kmsKeyId, secretId: name });
    expect(counts.Encrypt).toBe(2);
    const v2 = v1.addKey({ kid: 'p-3' }).promote('p-3').remove('p-1');
    const p2 = await protectKeySet(v2.toJwks(), { kmsClient: client, kmsKeyId, secretId: name, previous: JSON.stringify(p1) });
    expect(counts.Encrypt).toBe(3); // only p-3
    expect(p2.keys.find((k) => k.kid === 'p-2')!.k_kms).toBe(p1.keys.find((k) => k.kid === 'p-2')!.k_kms);
    expect(p2.keys.map((k) => [k.kid, k.key_ops])).toEqual([['p-2', ['decrypt']], ['p-3', ['encrypt', 'decrypt']]]);
    expectNoKeyBytes([p1, p2], v1.toJwks(), v2.toJwks());

    expect(KeySet.fromJwks(await unprotectKeySet(p2, { kmsClient: client, secretId: name })).toJwks()).toEqual(v2.toJwks());
    expect(counts.Decrypt).toBe(2);
    // moto checks the encryption context: another secret's name, or a blob moved to another kid, does not decrypt
    const moved = await caught(() => unprotectKeySet(p2, { kmsClient: client, secretId: secretName() }));
    expect([moved.code, (moved as KeySourceFailure).reason]).toEqual(['ERR_KEY_SOURCE', 'kms']);
    expect(moved.message).toContain('InvalidCiphertextException');
    const swapped = { ...p2, keys: [{ ...p2.keys[0]!, k_kms: p2.keys[1]!.k_kms }, p2.keys[1]!] };
    expect((await caught(() => unprotectKeySet(swapped, { kmsClient: client, secretId: name }))).message).toContain('key "p-2"');
    client.destroy();
  });
});

describe('secretsManagerKeyProvider over a protected secret', () => {
  it('refuses a protected secret without kmsClient: ERR_KEY_SOURCE saying a KMS client is needed (reason kms)', async () => {
    const name = secretName();
    const set = KeySet.generate({ kid: 'nk-1' });
    await store(name, set);
    const provider = secretsManagerKeyProvider({ secretId: name, client: smAdmin });
    const err = await caught(() => provider.ready());
    expect(err.code).toBe('ERR_KEY_SOURCE');
    expect((err as KeySourceFailure).reason).toBe('kms');
    expect(err.message).toMatch(/KMS client is needed/);
    expect(provider.status().lastErrorReason).toBe('kms');
    expectNoKeyBytes([err, provider.status(), provider.health()], set.toJwks());
    await provider.close();
  });

  it('rotation through the protected format (add, promote, remove across refreshes): zero failed opens', async () => {
    const name = secretName();
    const { client: kmsClient, counts } = countingKms(kmsMoto.clientConfig());
    const opts = { secretId: name, client: smAdmin, kmsClient, refreshIntervalMs: 3_600_000, maxStaleMs: 7_200_000 };
    let set = KeySet.generate({ kid: 'r-1' });
    let prot = await store(name, set);
    const writer = secretsManagerKeyProvider(opts);
    const reader = secretsManagerKeyProvider(opts);
    await Promise.all([writer.ready(), reader.ready()]);
    const tokens: Array<{ kid: string; token: string; value: string }> = [];
    let opens = 0;
    let failed = 0;
    const sealOne = (step: string) => {
      const value = `sealed at ${step}`;
      tokens.push({ kid: writer.current().primaryKid, token: seal(writer.current(), value), value });
    };
    const openAll = () => {
      for (const t of tokens) {
        try {
          expect(text(open(reader.current(), t.token))).toBe(t.value);
          opens++;
        } catch {
          failed++;
        }
      }
    };
    sealOne('start');
    const encryptsBefore = admin.counts.Encrypt;
    const steps: Array<[string, (s: KeySet) => KeySet]> = [
      ['add r-2', (s) => s.addKey({ kid: 'r-2' })],
      ['promote r-2', (s) => s.promote('r-2')],
      ['remove r-1', (s) => s.remove('r-1')],
    ];
    for (const [step, change] of steps) {
      set = change(set);
      prot = await store(name, set, prot);
      // readers first, then the writer: what the writer seals after the step opens everywhere
      await reader.refresh();
      openAll();
      await writer.refresh();
      sealOne(step);
      openAll();
      expect(reader.current().primaryKid).toBe(set.primaryKid);
    }
    expect(admin.counts.Encrypt - encryptsBefore).toBe(1); // only r-2 was ever encrypted again
    expect(failed).toBe(0);
    expect(opens).toBe(1 + 2 + 2 + 3 + 3 + 4); // every token sealed so far, after each refresh of each step
    expect(tokens.map((t) => t.kid)).toEqual(['r-1', 'r-1', 'r-2', 'r-2']);
    // r-1 is gone from AWSCURRENT but AWSPREVIOUS still holds it: its tokens open
    expect(reader.current().list()).toEqual([{ kid: 'r-2', role: 'primary' }, { kid: 'r-1', role: 'decrypt-only' }]);
    // 4 loads per provider (ready + 3 changed versions), at most one Decrypt per distinct key per load
    expect(counts.Decrypt).toBeLessThanOrEqual(2 * (1 + 2 + 2 + 2));
    expect(writer.status().kmsKeyId).toBe(kmsKeyId);
    await Promise.all([writer.close(), reader.close()]);
    kmsClient.destroy();
  });

  it('100,000 seal operations across 10 refreshes cost at most 10 × (number of keys) KMS Decrypt calls', async () => {
    const name = secretName();
    let set = KeySet.generate({ kid: 'd-1' }).addKey({ kid: 'd-2' }).addKey({ kid: 'd-3' });
    let prot = await store(name, set);
    const { client: kmsClient, counts } = countingKms(kmsMoto.clientConfig());
    const provider = secretsManagerKeyProvider({ secretId: name, client: smAdmin, kmsClient, refreshIntervalMs: 3_600_000, maxStaleMs: 7_200_000 });
    const perRefresh: number[] = [];
    let seals = 0;
    let last = 0;
    for (let refresh = 1; refresh <= 10; refresh++) {
      if (refresh === 1) await provider.ready();
      else {
        if (refresh === 6) {
          set = set.promote('d-2'); // one real rotation among the refreshes: a new AWSCURRENT version
          prot = await store(name, set, prot);
        }
        await provider.refresh();
      }
      perRefresh.push(counts.Decrypt - last);
      last = counts.Decrypt;
      for (let i = 0; i < 10_000; i++) {
        seal(provider.current(), 'x');
        seals++;
      }
      expect(counts.Decrypt).toBe(last); // none per message
    }
    expect(seals).toBe(100_000);
    // first load: 3 (one per key); unchanged version: 1 (the re-check of one key);
    // the new version: 3 (its AWSPREVIOUS holds the same blobs: decrypted once)
    expect(perRefresh).toEqual([3, 1, 1, 1, 1, 3, 1, 1, 1, 1]);
    expect(counts.Decrypt).toBe(14);
    expect(counts.Decrypt).toBeLessThanOrEqual(10 * set.size);
    await provider.close();
    kmsClient.destroy();
  }, 60_000);

  it('KMS unreachable while Secrets Manager is up: reason kms; stale after maxStaleMs; recovers by itself', async () => {
    const name = secretName();
    const set = KeySet.generate({ kid: 'k-1' });
    await store(name, set);
    const up = new KMSClient({ ...kmsMoto.clientConfig(), maxAttempts: 1 });
    const down = new KMSClient({ ...kmsMoto.clientConfig(), endpoint: `http://127.0.0.1:${await closedPort()}`, maxAttempts: 1 });
    const kms = switchableKms(up, down);
    const { provider, errors, token } = await outageProvider(name, kms.client);
    kms.setDown(true);
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: 5000, interval: 20 });
    const [err, info] = errors[0]!;
    expect(err.code).toBe('ERR_KEY_SOURCE');
    expect(err).toBeInstanceOf(KeySourceFailure);
    expect((err as KeySourceFailure).reason).toBe('kms');
    expect(info).toMatchObject({ reason: 'kms', phase: 'refresh', stage: 'AWSCURRENT', servingPrimaryKid: 'k-1' });
    expect(err.message).toMatch(/cannot decrypt the keys of secret .* KMS Decrypt of key "k-1"/);
    expect(text(open(provider.current(), token))).toBe('before'); // still within maxStaleMs
    expect(provider.status().lastErrorReason).toBe('kms');
    expect(provider.health()).toMatchObject({ state: 'failing', ready: true, lastErrorReason: 'kms' });
    // past maxStaleMs: ERR_KEY_SOURCE, the cause says KMS
    await vi.waitFor(() => expect(provider.status().usable).toBe(false), { timeout: 5000, interval: 20 });
    const stale = await caught(() => provider.current());
    expect(stale.code).toBe('ERR_KEY_SOURCE');
    expect((stale.cause as KeySourceFailure).reason).toBe('kms');
    expect(provider.health()).toMatchObject({ state: 'stale', ready: false, lastErrorReason: 'kms' });
    // KMS back: the next retry succeeds, no call from the test
    kms.setDown(false);
    await vi.waitFor(() => expect(provider.status().usable).toBe(true), { timeout: 5000, interval: 20 });
    expect(text(open(provider.current(), token))).toBe('before');
    expect(provider.status().lastErrorReason).toBeUndefined();
    expect(provider.health().lastErrorReason).toBeUndefined();
    expectNoKeyBytes([...errors.flat(), stale, provider.status(), provider.health()], set.toJwks());
    await provider.close();
    up.destroy();
    down.destroy();
  }, 20_000);

  it('a keyring audience loads a protected secret next to a plain one', async () => {
    const pci = secretName();
    const pii = secretName();
    const pciSet = KeySet.generate({ kid: 'pci-1' });
    const piiSet = KeySet.generate({ kid: 'pii-1' });
    await store(pci, pciSet);
    await createSecret(smAdmin, pii, piiSet.toJwks());
    const ring = secretsManagerKeyring({ client: smAdmin, kmsClient: admin.client, audiences: { pci: { secretId: pci }, pii: { secretId: pii } } });
    await ring.ready();
    expect(ring.keyring.pci.current().primaryKid).toBe('pci-1');
    expect(ring.keyring.pii.current().primaryKid).toBe('pii-1');
    expect(ring.status().audiences.pci.kmsKeyId).toBe(kmsKeyId);
    expect(ring.status().audiences.pii.kmsKeyId).toBeUndefined();
    await ring.close();
  });

  // Last: it stops and restarts the Secrets Manager moto (which loses its state).
  it('Secrets Manager down while KMS is up: reason secrets-manager; recovers by itself once the secret is back', async () => {
    const name = secretName();
    const set = KeySet.generate({ kid: 's-1' }).addKey({ kid: 's-2' });
    const prot = await store(name, set);
    const { client: kmsClient, counts } = countingKms({ ...kmsMoto.clientConfig(), maxAttempts: 1 });
    const { provider, errors, token } = await outageProvider(name, kmsClient);
    await sm.stop();
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: 5000, interval: 20 });
    const [err, info] = errors[0]!;
    expect((err as KeySourceFailure).reason).toBe('secrets-manager');
    expect(info.reason).toBe('secrets-manager');
    expect(err.message).toMatch(/cannot read secret .* \(AWSCURRENT\)/);
    await vi.waitFor(() => expect(provider.status().usable).toBe(false), { timeout: 5000, interval: 20 });
    expect(((await caught(() => provider.current())).cause as KeySourceFailure).reason).toBe('secrets-manager');
    expect(provider.health()).toMatchObject({ state: 'stale', lastErrorReason: 'secrets-manager' });
    const decryptsWhileDown = counts.Decrypt;
    // Secrets Manager back (moto lost its state: the same protected content is stored again)
    await sm.start();
    await createSecret(countingClient(sm.clientConfig()).client, name, JSON.stringify(prot));
    await vi.waitFor(() => expect(provider.status().usable).toBe(true), { timeout: 5000, interval: 20 });
    expect(text(open(provider.current(), token))).toBe('before');
    expect(counts.Decrypt - decryptsWhileDown).toBe(2); // the new version: one Decrypt per key
    expectNoKeyBytes(errors.flat(), set.toJwks());
    await provider.close();
    kmsClient.destroy();
    smAdmin = countingClient(sm.clientConfig()).client;
  }, 20_000);
});

describe('IAM enforced (moto INITIAL_NO_AUTH_ACTION_COUNT)', () => {
  let iamMoto: SecretsManagerHandle;
  let cfg: (creds: { accessKeyId: string; secretAccessKey: string }) => AwsClientConfig;
  let iam: IAMClient;
  let adminCreds: { accessKeyId: string; secretAccessKey: string };

  async function user(name: string, policies: Record<string, object>): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    await iam.send(new CreateUserCommand({ UserName: name }));
    for (const [policy, doc] of Object.entries(policies)) {
      await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: policy, PolicyDocument: JSON.stringify(doc) }));
    }
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
    return { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
  }
  const policy = (...Statement: object[]) => ({ Version: '2012-10-17', Statement });
  const readSecret = { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' };

  beforeAll(async () => {
    // three unauthenticated calls make an admin user; everything after is checked against IAM policies
    iamMoto = await startSecretsManager({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '3' } });
    cfg = (credentials) => ({ ...iamMoto.clientConfig(), credentials: { ...credentials } });
    iam = new IAMClient(iamMoto.clientConfig());
    adminCreds = await user('wireseal-admin', { all: policy({ Effect: 'Allow', Action: '*', Resource: '*' }) });
    iam.destroy();
    iam = new IAMClient(cfg(adminCreds));
  }, 60_000);
  afterAll(async () => {
    iam?.destroy();
    await iamMoto?.stop();
  });

  it('a service allowed secretsmanager:GetSecretValue but not kms:Decrypt cannot obtain the key set (IAM AccessDenied); revoking kms:Decrypt shows at the next refresh', async () => {
    const adminKms = new KMSClient(cfg(adminCreds));
    const adminSm = countingClient(cfg(adminCreds)).client;
    const keyId = (await adminKms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const name = secretName();
    const set = KeySet.generate({ kid: 'iam-1' }).addKey({ kid: 'iam-2' });
    await createSecret(adminSm, name, JSON.stringify(await protectKeySet(set.toJwks(), { kmsClient: adminKms, kmsKeyId: keyId, secretId: name })));

    // 1. no kms:Decrypt: the secret is readable, its keys are not
    const noKms = await user('svc-no-kms', { secret: policy(readSecret) });
    const sm1 = countingClient(cfg(noKms));
    const raw = await sm1.client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(isProtectedKeySet(raw.SecretString)).toBe(true);
    expectNoKeyBytes([raw.SecretString], set.toJwks());
    const kms1 = countingKms(cfg(noKms));
    const reported: unknown[] = [];
    const denied = secretsManagerKeyProvider({ secretId: name, client: sm1.client, kmsClient: kms1.client, onError: (e, i) => reported.push(e, i) });
    const err = await caught(() => denied.ready());
    expect(err.code).toBe('ERR_KEY_SOURCE');
    expect((err as KeySourceFailure).reason).toBe('kms');
    // moto answers an IAM denial with an XML body, which the JSON-protocol SDK cannot parse: only the 403 is left
    expect(err.message).toMatch(/KMS Decrypt of key "iam-[12]" under .* failed: .*HTTP 403/);
    expect(kms1.counts.Decrypt).toBeGreaterThan(0);
    expect(() => denied.current()).toThrow(/not ready/);
    expectNoKeyBytes([err, ...reported, denied.status(), denied.health()], set.toJwks());
    await denied.close();

    // 2. with kms:Decrypt (the documented policy; moto does not evaluate the kms:EncryptionContext condition itself)
    const withKms = await user('svc-with-kms', {
      secret: policy(readSecret),
      kms: policy({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:wireseal:secret': name } } }),
    });
    const kms2 = countingKms(cfg(withKms));
    const errors: Array<[WiresealError, SecretsManagerErrorInfo]> = [];
    const ok = secretsManagerKeyProvider({ secretId: name, client: countingClient(cfg(withKms)).client, kmsClient: kms2.client, refreshIntervalMs: 3_600_000, maxStaleMs: 7_200_000, onError: (e, i) => errors.push([e, i]) });
    await ok.ready();
    expect(kms2.counts.Decrypt).toBe(2);
    const token = seal(ok.current(), 'hello');

    // 3. kms:Decrypt revoked: the version is unchanged, the next refresh's re-check (one Decrypt) reports it
    await iam.send(new DeleteUserPolicyCommand({ UserName: 'svc-with-kms', PolicyName: 'kms' }));
    const revoked = await caught(() => ok.refresh());
    expect(kms2.counts.Decrypt).toBe(3);
    expect((revoked as KeySourceFailure).reason).toBe('kms');
    expect(errors[0]![1]).toMatchObject({ reason: 'kms', phase: 'refresh' });
    expect(ok.health()).toMatchObject({ state: 'failing', lastErrorReason: 'kms' });
    // 4. granted again: the next refresh succeeds, no restart
    await iam.send(new PutUserPolicyCommand({ UserName: 'svc-with-kms', PolicyName: 'kms', PolicyDocument: JSON.stringify(policy({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' })) }));
    await ok.refresh();
    expect(ok.health()).toMatchObject({ state: 'ready' });
    expect(text(open(ok.current(), token))).toBe('hello');
    await ok.close();
    adminKms.destroy();
  }, 30_000);
});
