/**
 * A worker thread of `wireseal reencrypt --jobs N`: re-seals batches of JSONL
 * lines with the keys (one key set or a keyring), policy and contexts it was started with.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FieldPolicy } from '@wireseal/core';
import type { BatchInput } from './batch.ts';
import { processBatch } from './batch.ts';
import type { WorkerSetup } from './pool.ts';
import { keysFromWorker, resealOptionsFrom } from './pool.ts';

const setup = workerData as WorkerSetup;
const keys = keysFromWorker(setup.keys);
const reseal = resealOptionsFrom(setup, FieldPolicy.parse(setup.policy));

parentPort!.on('message', (msg: { id: number; batch: BatchInput }) => {
  try {
    parentPort!.postMessage({ id: msg.id, result: processBatch(keys, reseal, msg.batch) });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? `${err.name}: ${err.message}` : 'unknown failure' });
  }
});
