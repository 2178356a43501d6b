/**
 * Unit tests with a fake client: scheduling, jitter, in-flight dedup, timeouts, option checks.
 * (The Secrets Manager boundary itself is tested against moto in *.moto.test.ts.)
 */
import type { GetSecretValueCommand, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KeySet } from '@wireseal/core';
import type { WiresealError } from '@wireseal/core/errors';
import { secretsManagerKeyProvider } from '../src/index.ts';
import type { SecretsManagerClientLike, SecretsManagerErrorInfo, SecretsManagerKeyProviderOptions } from '../src/index.ts';
import { RETRY_BASE_MS, jittered, nextRefreshDelay } from '../src/schedule.ts';
import { describeAwsError } from '../src/secret.ts';
import { caught, expectNoKeyBytes } from './helpers.ts';

/** A fake client: each GetSecretValue is answered by `answer` (stage → output, or throw). */
function fakeClient(answer: (stage: string, signal?: AbortSignal) => Promise<GetSecretValueCommandOutput>) {
  const calls: string[] = [];
  const client: SecretsManagerClientLike = {
    send(command: GetSecretValueCommand, options?: { abortSignal?: AbortSignal }) {
      const stage = command.input.VersionStage ?? 'AWSCURRENT';
      calls.push(stage);
      return answer(stage, options?.abortSignal);
    },
  };
  return { client, calls };
}

const notFound = () => Object.assign(new Error('not found'), { name: 'ResourceNotFoundException', $fault: 'client', $metadata: {} });
const out = (keys: KeySet, versionId: string) => ({ SecretString: JSON.stringify(keys.toJwks()), VersionId: versionId, $metadata: {} });

afterEach(() => {
  vi.useRealTimers();
});

describe('schedule', () => {
  it('jitter stays within ±jitter of the interval and reaches both ends', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.double({ min: 0, max: 0.99, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (base, jitter, r) => {
        const d = jittered(base, jitter, r);
        expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
        expect(d).toBeLessThanOrEqual(Math.ceil(base * (1 + jitter)));
      }),
    );
    expect(jittered(1000, 0.1, 0)).toBe(900);
    expect(jittered(1000, 0.1, 0.5)).toBe(1000);
    expect(jittered(1000, 0.1, 0.999999)).toBe(1100);
    expect(jittered(1000, 0, 0.9)).toBe(1000);
  });

  it('retries after failures with a doubling delay capped at the interval', () => {
    expect([0, 1, 2, 3, 4].map((n) => nextRefreshDelay(300_000, 0, n))).toEqual([300_000, RETRY_BASE_MS, 2 * RETRY_BASE_MS, 4 * RETRY_BASE_MS, 8 * RETRY_BASE_MS]);
    expect(nextRefreshDelay(300_000, 0, 50)).toBe(300_000);
    expect(nextRefreshDelay(200, 0, 1)).toBe(200);
  });

  it('spreads background refreshes of a fleet (jitter) and keeps them within the bounds', async () => {
    vi.useFakeTimers();
    const keys = KeySet.generate({ kid: 'j' });
    const times: number[] = [];
    const { client } = fakeClient(async (stage) => {
      if (stage === 'AWSPREVIOUS') throw notFound();
      times.push(Date.now());
      return out(keys, 'v1');
    });
    const provider = secretsManagerKeyProvider({ secretId: 's', client, refreshIntervalMs: 1000, jitter: 0.2, maxStaleMs: 10_000 });
    await provider.ready();
    await vi.advanceTimersByTimeAsync(20_000);
    await provider.close();
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(16);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(800);
      expect(g).toBeLessThanOrEqual(1200);
    }
    expect(new Set(gaps).size).toBeGreaterThan(1); // not lock-step
  });
});

describe('secretsManagerKeyProvider with a fake client', () => {
  it('keeps one request in flight however many callers', async () => {
    const keys = KeySet.generate({ kid: 'd' });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { client, calls } = fakeClient(async (stage) => {
      if (stage === 'AWSPREVIOUS') throw notFound();
      await gate;
      return out(keys, 'v1');
    });
    const provider = secretsManagerKeyProvider({ secretId: 's', client, refreshIntervalMs: 60_000 });
    const waiting = [...Array.from({ length: 100 }, () => provider.ready()), ...Array.from({ length: 100 }, () => provider.refresh())];
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual(['AWSCURRENT']);
    release();
    await Promise.all(waiting);
    expect(calls).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    expect(provider.current().primaryKid).toBe('d');
    await provider.close();
  });

  it('aborts a request that hangs after requestTimeoutMs and reports ERR_KEY_SOURCE', async () => {
    const { client } = fakeClient((_stage, signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })))));
    const errors: Array<[WiresealError, SecretsManagerErrorInfo]> = [];
    const provider = secretsManagerKeyProvider({ secretId: 's', client, requestTimeoutMs: 50, onError: (e, i) => errors.push([e, i]) });
    const t0 = Date.now();
    expect((await caught(() => provider.ready())).code).toBe('ERR_KEY_SOURCE');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(errors[0]![1]).toMatchObject({ phase: 'startup', stage: 'AWSCURRENT', consecutiveFailures: 1 });
    await provider.close();
  });

  it('ignores hooks that throw', async () => {
    const keys = KeySet.generate({ kid: 'h' });
    let fail = false;
    const { client } = fakeClient(async (stage) => {
      if (stage === 'AWSPREVIOUS') throw notFound();
      if (fail) throw Object.assign(new Error('down'), { name: 'InternalServiceError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
      return out(keys, 'v1');
    });
    const boom = () => {
      throw new Error('hook failed');
    };
    const provider = secretsManagerKeyProvider({ secretId: 's', client, onRefresh: boom, onError: boom });
    await provider.ready();
    fail = true;
    expect((await caught(() => provider.refresh())).code).toBe('ERR_KEY_SOURCE');
    expect(provider.current().primaryKid).toBe('h');
    await provider.close();
  });

  it('does not quote the body of a response it could not parse (only AWS and system errors keep their message)', () => {
    const k = KeySet.generate({ kid: 'x' }).toJwks();
    const body = JSON.stringify({ SecretString: JSON.stringify(k) });
    const parseError = Object.assign(new SyntaxError(`Unexpected token in ${body}`), { $response: { body } });
    expect(describeAwsError(parseError)).toBe('SyntaxError');
    expectNoKeyBytes([describeAwsError(parseError)], k);
    expect(describeAwsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toContain('ECONNREFUSED');
    expect(describeAwsError(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400, requestId: 'r-1' } })))
      .toBe('AccessDeniedException: HTTP 400: request r-1: User is not authorized');
  });

  it('rejects bad options with ERR_KEY_SOURCE', async () => {
    const { client } = fakeClient(async () => {
      throw notFound();
    });
    const bad: Array<Partial<SecretsManagerKeyProviderOptions>> = [
      { secretId: '' },
      { refreshIntervalMs: 0 },
      { refreshIntervalMs: Number.NaN },
      { jitter: 1 },
      { jitter: -0.1 },
      { maxStaleMs: -1 },
      { refreshIntervalMs: 1000, jitter: 0.1, maxStaleMs: 1100 }, // would go stale between refreshes
      { requestTimeoutMs: 0 },
    ];
    for (const o of bad) {
      expect((await caught(() => secretsManagerKeyProvider({ secretId: 's', client, ...o }))).code).toBe('ERR_KEY_SOURCE');
    }
  });
});
