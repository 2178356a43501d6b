/**
 * The demo's keys. First run: JWK Set files under `.demo/`, mode 0600:
 * - `keyset.json`: the key set checkout and payments-api share (the HTTP call);
 * - `gateway-keys.json`: the gateway's key store, one key per partner service
 *   (`partner-acme-1` and `partner-acme-2`; the configuration picks one by id);
 * - the `payment.authorized` event's audiences: `pci-private.json` (an X25519
 *   key pair: the ledger-worker's), `pci-public.json` (its public key, mode
 *   0644: payments-api seals card numbers with it and cannot open them) and
 *   `pii-keyset.json` (a shared key: payments-api and the fraud scorer).
 * Later runs reuse them. With `--secrets-manager` the same sets are pushed to
 * a local Secrets Manager (moto) and the services read them from there. The
 * AES key sets (services, gateway, pii) are stored KMS-protected: a KMS key is
 * created in the same moto (CreateKey) and each secret holds kids and `k_kms`
 * (`protectKeySet`, bound to the secret's name), never `k`; the services
 * decrypt them with a `KMSClient`. The pci sets are X25519 (the protected
 * format holds AES keys only): the public one holds nothing secret, the
 * private one is stored as a plain JWK Set.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { protectKeySet } from '@wireseal/aws-secrets';
import { KeySet, PrivateKeySet, PublicKeySet } from '@wireseal/core';
import { startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { SecretsManagerHandle } from '@wireseal-tooling/local-secrets';

/** The demo's key files and what they hold (kids only). */
export interface DemoKeys {
  servicesFile: string;
  gatewayFile: string;
  pciPrivateFile: string;
  pciPublicFile: string;
  piiFile: string;
  /** Files created by this run (the others were reused). */
  created: string[];
  services: KeySet;
  gateway: KeySet;
  /** The pci audience's key pair (the ledger-worker's) and its public half (payments-api's). */
  pciPrivate: PrivateKeySet;
  pciPublic: PublicKeySet;
  /** The pii audience's shared key (payments-api's and the fraud scorer's). */
  pii: KeySet;
}

function kidOfThisMonth(prefix: string): string {
  const d = new Date();
  return `${prefix}-${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

function writeNew(file: string, jwks: object, mode = 0o600): void {
  // 'wx': never overwrite; mode 0600: key material is for this user only.
  fs.writeFileSync(file, `${JSON.stringify(jwks, null, 2)}\n`, { mode, flag: 'wx' });
}

function readKeys<T>(file: string, parse: (text: string) => T): T {
  try {
    return parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} does not hold a valid key set (${(err as { code?: string }).code ?? 'unreadable'}); delete it and run the demo again to create a fresh one`);
  }
}

/** Creates the key files on first run (mode 0600), else reads and validates them. */
export function ensureDemoKeys(demoDir: string): DemoKeys {
  fs.mkdirSync(demoDir, { recursive: true, mode: 0o700 });
  const file = (name: string): string => path.join(demoDir, name);
  const servicesFile = file('keyset.json');
  const gatewayFile = file('gateway-keys.json');
  const pciPrivateFile = file('pci-private.json');
  const pciPublicFile = file('pci-public.json');
  const piiFile = file('pii-keyset.json');
  const created: string[] = [];
  const ensure = (f: string, make: () => object, mode?: number): void => {
    if (fs.existsSync(f)) return;
    writeNew(f, make(), mode);
    created.push(f);
  };
  ensure(servicesFile, () => KeySet.generate({ kid: kidOfThisMonth('demo') }).toJwks());
  // The store's own primary is irrelevant: each service uses the key its configuration names.
  ensure(gatewayFile, () => KeySet.generate({ kid: 'partner-acme-1' }).addKey({ kid: 'partner-acme-2' }).toJwks());
  if (!fs.existsSync(pciPrivateFile)) fs.rmSync(pciPublicFile, { force: true }); // a new pair needs its new public half
  ensure(pciPrivateFile, () => PrivateKeySet.generate({ kid: kidOfThisMonth('pci'), type: 'X25519' }).toPrivateJwks());
  const pciPrivate = readKeys(pciPrivateFile, (t) => PrivateKeySet.fromJwks(t));
  // Public: not a secret, and nothing in it opens a token.
  ensure(pciPublicFile, () => pciPrivate.publicJwks(), 0o644);
  ensure(piiFile, () => KeySet.generate({ kid: kidOfThisMonth('pii') }).toJwks());
  const pciPublic = readKeys(pciPublicFile, (t) => PublicKeySet.fromJwks(t));
  if (pciPublic.kids.join() !== pciPrivate.kids.join()) throw new Error(`${pciPublicFile} does not hold the public half of ${pciPrivateFile}; delete it and run the demo again`);
  return {
    servicesFile, gatewayFile, pciPrivateFile, pciPublicFile, piiFile, created,
    services: readKeys(servicesFile, (t) => KeySet.fromJwks(t)),
    gateway: readKeys(gatewayFile, (t) => KeySet.fromJwks(t)),
    pciPrivate, pciPublic,
    pii: readKeys(piiFile, (t) => KeySet.fromJwks(t)),
  };
}

/** The local Secrets Manager with the demo's secrets in it. */
export interface DemoSecrets {
  handle: SecretsManagerHandle;
  servicesSecretId: string;
  gatewaySecretId: string;
  /** The event audiences' secrets. */
  pciPrivateSecretId: string;
  pciPublicSecretId: string;
  piiSecretId: string;
  /** The KMS key (in the same moto) the protected secrets' keys are encrypted under. */
  kmsKeyId: string;
  /** The KMS-protected secrets: name → the raw SecretString Secrets Manager holds (read back with GetSecretValue) and the base64url bytes of the keys it protects. */
  protectedSecrets: Record<string, { stored: string; keyBytes: string[] }>;
  /** Environment for the services: secret id is added per service. */
  env: Record<string, string>;
}

async function push(client: SecretsManagerClient, name: string, jwks: object, description = 'wireseal demo key set (JWK Set)'): Promise<void> {
  const SecretString = JSON.stringify(jwks);
  try {
    await client.send(new CreateSecretCommand({ Name: name, SecretString, Description: description }));
  } catch (err) {
    if (!(err instanceof ResourceExistsException)) throw err;
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString }));
  }
}

/**
 * Starts moto, creates a KMS key there and pushes the key sets as secrets
 * (CreateSecret, or PutSecretValue for a new AWSCURRENT): the AES sets
 * KMS-protected (one Encrypt per key, bound to the secret's name and kid).
 */
export async function startDemoSecrets(keys: DemoKeys): Promise<DemoSecrets> {
  const handle = await startSecretsManager();
  const cfg = handle.clientConfig();
  const client = new SecretsManagerClient(cfg);
  const kmsClient = new KMSClient(cfg);
  const protectedSecrets: DemoSecrets['protectedSecrets'] = {};
  let kmsKeyId: string;
  try {
    const key = await kmsClient.send(new CreateKeyCommand({ Description: 'wireseal demo: encrypts the keys in the demo secrets' }));
    kmsKeyId = key.KeyMetadata?.KeyId ?? '';
    if (!kmsKeyId) throw new Error('KMS CreateKey (moto) returned no key id');
    const pushProtected = async (name: string, set: KeySet): Promise<void> => {
      const jwks = set.toJwks();
      await push(client, name, await protectKeySet(jwks, { kmsClient, kmsKeyId, secretId: name }), 'wireseal demo key set (KMS-protected, kms-v1)');
      const out = await client.send(new GetSecretValueCommand({ SecretId: name }));
      protectedSecrets[name] = { stored: out.SecretString ?? '', keyBytes: jwks.keys.map((k) => k.k) };
    };
    await pushProtected('wireseal-demo/services', keys.services);
    await pushProtected('wireseal-demo/gateway', keys.gateway);
    await push(client, 'wireseal-demo/pci-private', keys.pciPrivate.toPrivateJwks());
    await push(client, 'wireseal-demo/pci-public', keys.pciPublic.publicJwks());
    await pushProtected('wireseal-demo/pii', keys.pii);
  } catch (err) {
    await handle.stop();
    throw err;
  } finally {
    client.destroy();
    kmsClient.destroy();
  }
  return {
    handle,
    kmsKeyId,
    protectedSecrets,
    servicesSecretId: 'wireseal-demo/services',
    gatewaySecretId: 'wireseal-demo/gateway',
    pciPrivateSecretId: 'wireseal-demo/pci-private',
    pciPublicSecretId: 'wireseal-demo/pci-public',
    piiSecretId: 'wireseal-demo/pii',
    env: {
      AWS_ENDPOINT_URL: cfg.endpoint,
      AWS_REGION: cfg.region,
      AWS_ACCESS_KEY_ID: cfg.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: cfg.credentials.secretAccessKey,
    },
  };
}
