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
 * a local Secrets Manager (moto) and the services read them from there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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
  /** Environment for the services: secret id is added per service. */
  env: Record<string, string>;
}

async function push(client: SecretsManagerClient, name: string, jwks: object): Promise<void> {
  const SecretString = JSON.stringify(jwks);
  try {
    await client.send(new CreateSecretCommand({ Name: name, SecretString, Description: 'wireseal demo key set (JWK Set)' }));
  } catch (err) {
    if (!(err instanceof ResourceExistsException)) throw err;
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString }));
  }
}

/** Starts moto and pushes the key sets as secrets (CreateSecret, or PutSecretValue for a new AWSCURRENT). */
export async function startDemoSecrets(keys: DemoKeys): Promise<DemoSecrets> {
  const handle = await startSecretsManager();
  const cfg = handle.clientConfig();
  const client = new SecretsManagerClient(cfg);
  try {
    await push(client, 'wireseal-demo/services', keys.services.toJwks());
    await push(client, 'wireseal-demo/gateway', keys.gateway.toJwks());
    await push(client, 'wireseal-demo/pci-private', keys.pciPrivate.toPrivateJwks());
    await push(client, 'wireseal-demo/pci-public', keys.pciPublic.publicJwks());
    await push(client, 'wireseal-demo/pii', keys.pii.toJwks());
  } finally {
    client.destroy();
  }
  return {
    handle,
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
