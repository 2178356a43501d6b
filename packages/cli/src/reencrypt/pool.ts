/**
 * Worker threads for `reencrypt --jobs N`: batches go out round-robin and
 * results come back as promises, which the caller awaits in input order.
 * Without the worker script (running from sources) it processes in-thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KeySet, PrivateKeySet, PublicKeySet } from '@wireseal/core';
import type { AudienceKeySet, Context, FieldPolicy, FieldPolicyJson, Jwks } from '@wireseal/core';
import type { AudienceKind } from '../keys/audience.ts';
import { kindOf } from '../keys/audience.ts';
import type { BatchInput, BatchOutput } from './batch.ts';
import { processBatch } from './batch.ts';
import type { LegacySetup } from './legacy.ts';
import { legacyReader } from './legacy.ts';
import type { ResealKeys, ResealOptions } from './record.ts';

/** Keys as they cross to a worker: one key set, or a keyring's JWK Sets by audience. */
export type WorkerKeys = { jwks: Jwks } | { ring: Array<{ audience: string; kind: AudienceKind; jwks: { keys: unknown[] } }> };

/** The keys as plain JWK Sets (private ones included: they stay in this process's memory). */
export function keysToWorker(keys: ResealKeys): WorkerKeys {
  if (keys instanceof KeySet) return { jwks: keys.toJwks() };
  return {
    ring: Object.keys(keys).map((audience) => {
      const set: AudienceKeySet = keys[audience]!;
      const jwks = set instanceof KeySet ? set.toJwks() : set instanceof PrivateKeySet ? set.toPrivateJwks() : set.publicJwks();
      return { audience, kind: kindOf(set), jwks };
    }),
  };
}

/** The keys a worker was given. */
export function keysFromWorker(keys: WorkerKeys): ResealKeys {
  if ('jwks' in keys) return KeySet.fromJwks(keys.jwks);
  const ring = Object.create(null) as Record<string, AudienceKeySet>;
  for (const e of keys.ring) ring[e.audience] = e.kind === 'keyset' ? KeySet.fromJwks(e.jwks) : e.kind === 'private' ? PrivateKeySet.fromJwks(e.jwks) : PublicKeySet.fromJwks(e.jwks);
  return ring;
}

/** What a worker needs to rebuild the re-sealing setup (the keys included: they stay in memory). */
export interface WorkerSetup {
  keys: WorkerKeys;
  policy: FieldPolicyJson;
  fromContext?: Context;
  toContext?: Context;
  strict: boolean;
  legacy?: LegacySetup;
}

/** ResealOptions from a WorkerSetup. */
export function resealOptionsFrom(setup: WorkerSetup, policy: FieldPolicy): ResealOptions {
  return {
    policy,
    strict: setup.strict,
    ...(setup.legacy ? { legacy: [legacyReader(setup.legacy)] } : {}),
    ...(setup.fromContext ? { fromContext: Object.freeze({ ...setup.fromContext }) } : {}),
    ...(setup.toContext ? { toContext: Object.freeze({ ...setup.toContext }) } : {}),
  };
}

/** The built worker script, next to the bundle that holds this code. */
const WORKER_URL = new URL('./reencrypt-worker.js', import.meta.url);

/** Processes batches in worker threads, or in this thread when `jobs` is 1 or the worker script is absent. */
export class BatchPool {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, { resolve: (r: BatchOutput) => void; reject: (e: Error) => void }>();
  readonly #keys: ResealKeys;
  readonly #reseal: ResealOptions;
  #next = 0;
  #failure: Error | undefined;
  #closing = false;

  /**
   * @param legacy - how the workers rebuild `reseal.legacy` (readers do not cross threads)
   */
  constructor(jobs: number, keys: ResealKeys, reseal: ResealOptions, legacy?: LegacySetup) {
    this.#keys = keys;
    this.#reseal = reseal;
    if (jobs <= 1 || WORKER_URL.protocol !== 'file:' || !existsSync(fileURLToPath(WORKER_URL))) return;
    const setup: WorkerSetup = {
      keys: keysToWorker(keys),
      policy: reseal.policy.toJSON(),
      strict: Boolean(reseal.strict),
      ...(legacy ? { legacy } : {}),
      ...(reseal.fromContext ? { fromContext: { ...reseal.fromContext } } : {}),
      ...(reseal.toContext ? { toContext: { ...reseal.toContext } } : {}),
    };
    for (let i = 0; i < jobs; i++) {
      const w = new Worker(WORKER_URL, { workerData: setup });
      w.on('message', (msg: { id: number; result?: BatchOutput; error?: string }) => {
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        if (msg.result) p.resolve(msg.result);
        else p.reject(new Error(msg.error ?? 'worker failed'));
      });
      w.on('error', (err) => this.#fail(err));
      w.on('exit', (code) => {
        if (!this.#closing) this.#fail(new Error(`reencrypt worker exited with code ${code}`));
      });
      this.#workers.push(w);
    }
  }

  /** Number of worker threads (0: in-thread). */
  get threads(): number {
    return this.#workers.length;
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /** Submits a batch; its bytes are transferred to the worker. */
  submit(batch: BatchInput): Promise<BatchOutput> {
    if (this.#workers.length === 0) {
      try {
        return Promise.resolve(processBatch(this.#keys, this.#reseal, batch));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#next++;
    const worker = this.#workers[id % this.#workers.length]!;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, batch }, [batch.bytes.buffer as ArrayBuffer]);
    });
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.#closing = true;
    const workers = this.#workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
