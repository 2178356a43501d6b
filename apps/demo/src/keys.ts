/**
 * The demo's keys. First run: two JWK Set files under `.demo/`, mode 0600:
 * - `keyset.json`: the key set checkout, payments-api and ledger-worker share;
 * - `gateway-keys.json`: the gateway's key store, one key per partner service
 *   (`partner-acme-1` and `partner-acme-2`; the configuration picks one by id).
 * Later runs reuse them. With `--secrets-manager` the same sets are pushed to
 * a local Secrets Manager (moto) and the services read them from there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KeySet } from '@wireseal/core';
import { startSecretsManager } from '@wireseal-tooling/local-secrets';
import type { SecretsManagerHandle } from '@wireseal-tooling/local-secrets';

/** The demo's key files and what they hold (kids only). */
export interface DemoKeys {
  servicesFile: string;
  gatewayFile: string;
  created: boolean;
  services: KeySet;
  gateway: KeySet;
}

function kidOfThisMonth(prefix: string): string {
  const d = new Date();
  return `${prefix}-${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

function writeNew(file: string, keys: KeySet): void {
  // 'wx': never overwrite; mode 0600: key material is for this user only.
  fs.writeFileSync(file, `${JSON.stringify(keys.toJwks(), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
}

function readKeySet(file: string): KeySet {
  try {
    return KeySet.fromJwks(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} does not hold a valid key set (${(err as { code?: string }).code ?? 'unreadable'}); delete it and run the demo again to create a fresh one`);
  }
}

/** Creates the key files on first run (mode 0600), else reads and validates them. */
export function ensureDemoKeys(demoDir: string): DemoKeys {
  fs.mkdirSync(demoDir, { recursive: true, mode: 0o700 });
  const servicesFile = path.join(demoDir, 'keyset.json');
  const gatewayFile = path.join(demoDir, 'gateway-keys.json');
  let created = false;
  if (!fs.existsSync(servicesFile)) {
    writeNew(servicesFile, KeySet.generate({ kid: kidOfThisMonth('demo') }));
    created = true;
  }
  if (!fs.existsSync(gatewayFile)) {
    // The store's own primary is irrelevant: each service uses the key its configuration names.
    writeNew(gatewayFile, KeySet.generate({ kid: 'partner-acme-1' }).addKey({ kid: 'partner-acme-2' }));
    created = true;
  }
  return { servicesFile, gatewayFile, created, services: readKeySet(servicesFile), gateway: readKeySet(gatewayFile) };
}

/** The local Secrets Manager with the demo's two secrets in it. */
export interface DemoSecrets {
  handle: SecretsManagerHandle;
  servicesSecretId: string;
  gatewaySecretId: string;
  /** Environment for the services: secret id is added per service. */
  env: Record<string, string>;
}

async function push(client: SecretsManagerClient, name: string, keys: KeySet): Promise<void> {
  const SecretString = JSON.stringify(keys.toJwks());
  try {
    await client.send(new CreateSecretCommand({ Name: name, SecretString, Description: 'wireseal demo key set (JWK Set)' }));
  } catch (err) {
    if (!(err instanceof ResourceExistsException)) throw err;
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString }));
  }
}

/** Starts moto and pushes both key sets as secrets (CreateSecret, or PutSecretValue for a new AWSCURRENT). */
export async function startDemoSecrets(keys: DemoKeys): Promise<DemoSecrets> {
  const handle = await startSecretsManager();
  const cfg = handle.clientConfig();
  const client = new SecretsManagerClient(cfg);
  try {
    await push(client, 'wireseal-demo/services', keys.services);
    await push(client, 'wireseal-demo/gateway', keys.gateway);
  } finally {
    client.destroy();
  }
  return {
    handle,
    servicesSecretId: 'wireseal-demo/services',
    gatewaySecretId: 'wireseal-demo/gateway',
    env: {
      AWS_ENDPOINT_URL: cfg.endpoint,
      AWS_REGION: cfg.region,
      AWS_ACCESS_KEY_ID: cfg.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: cfg.credentials.secretAccessKey,
    },
  };
}
