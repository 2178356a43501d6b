/**
 * health() of secretsManagerKeyProvider and secretsManagerKeyring, with a fake client and a
 * controlled clock: ready, failing while the cached set serves, stale past maxStaleMs, ready
 * after recovery, closed; the keyring combines its audiences. Never key bytes.
 */
import type { GetSecretValueCommand, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { KeySet, PrivateKeySet } from '@wireseal/core';
import { secretsManagerKeyProvider, secretsManagerKeyring } from '../src/index.ts';
import type { SecretsManagerClientLike } from '../src/index.ts';
import { expectNoKeyBytes } from './helpers.ts';

/** A client serving `secrets` (id → JWK Set text); ids in `down` fail as a network error would. */
function fakeSecrets(secrets: Record<string, string>) {
  const down = new Set<string>();
  const client: SecretsManagerClientLike = {
    async send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput> {
      const id = command.input.SecretId!;
      const stage = command.input.VersionStage ?? 'AWSCURRENT';
      if (down.has(id)) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError', code: 'ECONNREFUSED', $metadata: {} });
      if (stage !== 'AWSCURRENT' || !(id in secrets)) throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException', $fault: 'client', $metadata: {} });
      return { SecretString: secrets[id], VersionId: `v-${id}`, $metadata: {} };
    },
  };
  return { client, down };
}

describe('secretsManagerKeyProvider.health()', () => {
  it('starting → ready → failing (serving) → stale → ready → closed, naming the secret', async () => {
    const keys = KeySet.generate({ kid: 'sm-h' });
    const { client, down } = fakeSecrets({ 'prod/keys': JSON.stringify(keys.toJwks()) });
    let now = 10_000;
    const provider = secretsManagerKeyProvider({ secretId: 'prod/keys', client, refreshIntervalMs: 1_000, jitter: 0, maxStaleMs: 5_000, now: () => now });
    expect(provider.health()).toMatchObject({ state: 'starting', ready: false, source: 'secret prod/keys' });
    try {
      await provider.ready();
      expect(provider.health()).toEqual({ state: 'ready', ready: true, stale: false, source: 'secret prod/keys', lastSuccessAt: 10_000, consecutiveFailures: 0, usableForMs: 5_000 });

      down.add('prod/keys');
      now = 12_000;
      await expect(provider.refresh()).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE' });
      expect(provider.health()).toMatchObject({ state: 'failing', ready: true, stale: false, consecutiveFailures: 1, lastErrorCode: 'ERR_KEY_SOURCE', usableForMs: 3_000 });
      expect(provider.health().lastErrorMessage).toContain('prod/keys');

      now = 15_001;
      expect(provider.health()).toMatchObject({ state: 'stale', ready: false, stale: true, lastSuccessAt: 10_000 });
      expect(provider.status().usable).toBe(false);
      expectNoKeyBytes([provider.health()], keys.toJwks());

      down.delete('prod/keys');
      await provider.refresh();
      expect(provider.health()).toMatchObject({ state: 'ready', ready: true, stale: false, lastSuccessAt: 15_001, consecutiveFailures: 0 });
    } finally {
      await provider.close();
    }
    expect(provider.health()).toMatchObject({ state: 'closed', ready: false });
  });

  it('a bad secret at start-up: failing, not ready, ERR_KEYSET_INVALID', async () => {
    const { client } = fakeSecrets({ bad: JSON.stringify({ keys: [{ kty: 'oct', kid: 'x', k: 'AAAA' }] }) });
    const provider = secretsManagerKeyProvider({ secretId: 'bad', client });
    await expect(provider.ready()).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE' });
    expect(provider.health()).toMatchObject({ state: 'failing', ready: false, stale: false, consecutiveFailures: 1, lastErrorCode: 'ERR_KEYSET_INVALID' });
    await provider.close();
  });
});

describe('secretsManagerKeyring.health()', () => {
  it('combines the audiences: one stale audience makes it unready and names it; recovery makes it ready', async () => {
    const pii = KeySet.generate({ kid: 'pii-h' });
    const pci = PrivateKeySet.generate({ kid: 'pci-h', type: 'X25519' });
    const { client, down } = fakeSecrets({ 'prod/pii': JSON.stringify(pii.toJwks()), 'prod/pci': JSON.stringify(pci.toPrivateJwks()) });
    let now = 0;
    const ring = secretsManagerKeyring({
      audiences: { pci: { secretId: 'prod/pci', kind: 'private' }, pii: { secretId: 'prod/pii' } },
      client,
      refreshIntervalMs: 1_000,
      jitter: 0,
      maxStaleMs: 5_000,
      now: () => now,
    });
    expect(ring.health()).toMatchObject({ state: 'starting', ready: false, unready: ['pci', 'pii'] });
    try {
      await ring.ready();
      expect(ring.health()).toMatchObject({ state: 'ready', ready: true, stale: false, unready: [], lastSuccessAt: 0 });
      expect(Object.keys(ring.health().sources)).toEqual(['pci', 'pii']);

      down.add('prod/pii');
      now = 6_000;
      await ring.keyring.pci.refresh();
      await expect(ring.keyring.pii.refresh()).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE' });
      const h = ring.health();
      expect(h).toMatchObject({ state: 'stale', ready: false, stale: true, unready: ['pii'], lastErrorCode: 'ERR_KEY_SOURCE', lastSuccessAt: 0 });
      expect(h.sources.pci).toMatchObject({ state: 'ready', ready: true, source: 'secret prod/pci for audience "pci"' });
      expect(h.sources.pii).toMatchObject({ state: 'stale', ready: false, source: 'secret prod/pii for audience "pii"' });
      expect(ring.status().unusable).toEqual(h.unready);
      expectNoKeyBytes([h], pii.toJwks(), { keys: pci.toPrivateJwks().keys.map((k) => ({ k: String(k.d) })) });

      down.delete('prod/pii');
      await ring.refresh();
      expect(ring.health()).toMatchObject({ state: 'ready', ready: true, unready: [] });
    } finally {
      await ring.close();
    }
    expect(ring.health()).toMatchObject({ state: 'closed', ready: false });
  });
});
