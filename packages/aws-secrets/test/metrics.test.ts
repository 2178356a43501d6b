/**
 * Key-source gauges, read with the OpenTelemetry SDK: refresh age, usable,
 * and one series per kid with its role, for a provider, a keyring and any
 * provider with status() (core's envKeyProvider). Fake client, fake clock.
 */
import type { GetSecretValueCommand, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { testMeters } from '@wireseal-tooling/vitest-config/metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { KeySet, PrivateKeySet, envKeyProvider } from '@wireseal/core';
import { observeKeySource, secretsManagerKeyProvider, secretsManagerKeyring } from '../src/index.ts';
import type { SecretsManagerClientLike } from '../src/index.ts';

const notFound = () => Object.assign(new Error('not found'), { name: 'ResourceNotFoundException', $fault: 'client', $metadata: {} });

/** A client holding one secret string per secret id (AWSPREVIOUS: not found). */
function client(secrets: Record<string, string>): SecretsManagerClientLike {
  return {
    send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput> {
      if ((command.input.VersionStage ?? 'AWSCURRENT') !== 'AWSCURRENT') return Promise.reject(notFound());
      const content = secrets[command.input.SecretId!]!;
      return Promise.resolve({ SecretString: content, VersionId: `v-${content.length}`, $metadata: {} }); // a new version when the content changes
    },
  };
}

const two = KeySet.fromJwks({ keys: [KeySet.generateKey({ kid: 'g-new', primary: true }), KeySet.generateKey({ kid: 'g-old' })] });
const pairs = PrivateKeySet.generate({ kid: 'pii-1', type: 'X25519' });

describe('key-source gauges', () => {
  const closers: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('a provider: refresh age from its clock, usable, each kid with its role; stale and closed', async () => {
    const reader = testMeters();
    const { meterProvider } = reader;
    closers.push(() => reader.shutdown());
    let now = 1_000_000;
    const provider = secretsManagerKeyProvider({
      secretId: 'prod/gauges',
      client: client({ 'prod/gauges': JSON.stringify(two.toJwks()) }),
      meterProvider,
      now: () => now,
      refreshIntervalMs: 60_000,
      maxStaleMs: 120_000,
    });
    closers.push(() => provider.close());
    expect(await reader.points('wireseal.keys.loaded')).toEqual([]); // nothing before ready()
    await provider.ready();
    now += 42_000;
    const base = { package: '@wireseal/aws-secrets', source: 'prod/gauges' };
    expect(await reader.points('wireseal.keys.refresh_age')).toEqual([{ attributes: base, value: 42 }]);
    expect(await reader.points('wireseal.keys.usable')).toEqual([{ attributes: base, value: 1 }]);
    const kids = await reader.points('wireseal.keys.loaded');
    expect(kids).toEqual(
      expect.arrayContaining([
        { attributes: { ...base, kid: 'g-new', role: 'primary' }, value: 1 },
        { attributes: { ...base, kid: 'g-old', role: 'decrypt-only' }, value: 1 },
      ]),
    );
    expect(kids).toHaveLength(2);
    // Past maxStaleMs: not usable, no kid in force (each reports 0), the age keeps growing.
    now += 100_000;
    expect(await reader.points('wireseal.keys.usable')).toEqual([{ attributes: base, value: 0 }]);
    expect((await reader.points('wireseal.keys.loaded')).map((s) => s.value)).toEqual([0, 0]);
    expect(await reader.points('wireseal.keys.refresh_age')).toEqual([{ attributes: base, value: 142 }]);
  });

  it('a kid removed by a refresh reports 0; a closed provider reports nothing more', async () => {
    const reader = testMeters({ delta: true }); // only what the callbacks observe now
    const { meterProvider } = reader;
    closers.push(() => reader.shutdown());
    const secrets = { 'prod/rotating': JSON.stringify(two.toJwks()) };
    const provider = secretsManagerKeyProvider({ secretId: 'prod/rotating', client: client(secrets), meterProvider });
    closers.push(() => provider.close());
    await provider.ready();
    expect((await reader.points('wireseal.keys.loaded')).map((s) => s.value)).toEqual([1, 1]);
    secrets['prod/rotating'] = JSON.stringify(KeySet.fromJwks({ keys: [two.toJwks().keys[0]!] }).toJwks());
    await provider.refresh();
    const kids = (await reader.points('wireseal.keys.loaded')).map((s) => [s.attributes.kid, s.value]);
    expect(kids.sort()).toEqual([['g-new', 1], ['g-old', 0]]);
    await provider.close();
    expect(await reader.points('wireseal.keys.loaded')).toEqual([]);
    expect(await reader.points('wireseal.keys.usable')).toEqual([]);
    expect(await reader.points('wireseal.keys.refresh_age')).toEqual([]);
  });

  it('a keyring: one set of series per audience, with the audience and the kinds of keys', async () => {
    const reader = testMeters();
    const { meterProvider } = reader;
    closers.push(() => reader.shutdown());
    const ring = secretsManagerKeyring({
      audiences: { pci: { secretId: 'prod/pci' }, pii: { secretId: 'prod/pii', kind: 'private' } },
      client: client({ 'prod/pci': JSON.stringify(two.toJwks()), 'prod/pii': JSON.stringify(pairs.toPrivateJwks()) }),
      meterProvider,
    });
    closers.push(() => ring.close());
    await ring.ready();
    const kids = (await reader.points('wireseal.keys.loaded')).map((s) => s.attributes);
    expect(kids).toEqual(
      expect.arrayContaining([
        { package: '@wireseal/aws-secrets', source: 'prod/pci', audience: 'pci', kid: 'g-new', role: 'primary' },
        { package: '@wireseal/aws-secrets', source: 'prod/pci', audience: 'pci', kid: 'g-old', role: 'decrypt-only' },
        { package: '@wireseal/aws-secrets', source: 'prod/pii', audience: 'pii', kid: 'pii-1', role: 'private' },
      ]),
    );
    expect(kids).toHaveLength(3);
    expect((await reader.points('wireseal.keys.usable')).map((s) => [s.attributes.audience, s.value]).sort()).toEqual([['pci', 1], ['pii', 1]]);
  });

  it('observeKeySource: any provider with status(), here core\'s envKeyProvider', async () => {
    const reader = testMeters({ delta: true });
    const { meterProvider } = reader;
    closers.push(() => reader.shutdown());
    const env = envKeyProvider({ env: { WIRESEAL_KEYSET: JSON.stringify(two.toJwks()) } });
    await env.ready();
    const observation = observeKeySource(env, { source: 'WIRESEAL_KEYSET', meterProvider });
    expect((await reader.points('wireseal.keys.loaded')).map((s) => s.attributes.kid).sort()).toEqual(['g-new', 'g-old']);
    expect((await reader.points('wireseal.keys.refresh_age'))[0]!.value).toBeGreaterThanOrEqual(0);
    observation.close();
    expect(await reader.points('wireseal.keys.loaded')).toEqual([]);
  });
});
