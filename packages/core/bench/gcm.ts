/**
 * Micro-benchmark of the batched AES-256-GCM engine (src/gcm) against
 * node:crypto's per-field `aes-256-gcm`, on one document: eight fields of
 * 3-40 bytes of JSON text, each with its own ~140-byte protected header as
 * AAD. Cases run interleaved round by round (bench/harness.ts); figures are
 * CPU time of this process (process.cpuUsage), medians over rounds.
 *
 *   node --conditions=@wireseal/source packages/core/bench/gcm.ts
 *
 * Knobs: WIRESEAL_BENCH_ROUNDS (15), WIRESEAL_BENCH_MS (150 per case per round).
 */
import * as nodeCrypto from 'node:crypto';
import { deepStrictEqual } from 'node:assert/strict';
import type { Case } from './harness.ts';
import { envNumber, fmt, median, ratio, runGroup, table } from './harness.ts';
import { prepareGcmKey } from '../src/gcm/index.ts';
import { ghashMul, ghashTable } from '../src/gcm/ghash.ts';

const FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['card.number', '"4111111111111111"'],
  ['card.cvv', '"7"'],
  ['card.expiry', '"12/29"'],
  ['customer.ssn', '"123-45-6789"'],
  ['customer.dob', '"1990-01-31"'],
  ['accounts.0.iban', '"DE89370400440532013000"'],
  ['accounts.1.iban', '"GB29NWBK60161331926819"'],
  ['accounts.2.iban', '"FR1420041010050500013M02606 (joint)"'],
];
const N = FIELDS.length;

const key = nodeCrypto.randomBytes(32);
const keyObject = nodeCrypto.createSecretKey(key);
const enc = new TextEncoder();
const header = (path: string): Uint8Array =>
  enc.encode(Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: 'payments-2026-12-primary', cty: 'json', wsf: path, wsc: 'tenant-eu' })).toString('base64url'));
const aads = FIELDS.map(([path]) => header(path));
const plaintexts = FIELDS.map(([, text]) => enc.encode(text));
const ivs = FIELDS.map(() => nodeCrypto.randomBytes(12));

// node:crypto, per field, as engine.ts does it (KeyObject imported once).
const nodeSeal = (): Array<{ ciphertext: Uint8Array; tag: Uint8Array }> => {
  const out = new Array<{ ciphertext: Uint8Array; tag: Uint8Array }>(N);
  for (let i = 0; i < N; i++) {
    const c = nodeCrypto.createCipheriv('aes-256-gcm', keyObject, ivs[i]!);
    c.setAAD(aads[i]!);
    const ct = c.update(plaintexts[i]!);
    c.final();
    out[i] = { ciphertext: ct, tag: c.getAuthTag() };
  }
  return out;
};
const sealed = nodeSeal();
const nodeOpen = (): Uint8Array[] => {
  const out = new Array<Uint8Array>(N);
  for (let i = 0; i < N; i++) {
    const d = nodeCrypto.createDecipheriv('aes-256-gcm', keyObject, ivs[i]!, { authTagLength: 16 });
    d.setAAD(aads[i]!);
    d.setAuthTag(sealed[i]!.tag);
    out[i] = d.update(sealed[i]!.ciphertext);
    d.final();
  }
  return out;
};

// The batched engine, key and AADs prepared once (content-key reuse).
const gk = prepareGcmKey(key);
const prepared = aads.map((a) => gk.prepareAad(a));
const sealItems = FIELDS.map((_, i) => ({ iv: ivs[i]!, aad: prepared[i]!, plaintext: plaintexts[i]! }));
const openItems = FIELDS.map((_, i) => ({ iv: ivs[i]!, aad: prepared[i]!, ciphertext: sealed[i]!.ciphertext, tag: sealed[i]!.tag }));
const batchSeal = () => gk.sealBatch(sealItems);
const batchOpen = () => gk.openBatch(openItems);

// A fresh content key per document: node imports it once per document; the
// batched engine prepares it (one createCipheriv) and hashes each raw AAD.
const freshKeys = Array.from({ length: 64 }, () => nodeCrypto.randomBytes(32));
let fk = 0;
const nodeSealFresh = () => {
  const ko = nodeCrypto.createSecretKey(freshKeys[fk++ & 63]!);
  const out = new Array<Uint8Array>(N);
  for (let i = 0; i < N; i++) {
    const c = nodeCrypto.createCipheriv('aes-256-gcm', ko, ivs[i]!);
    c.setAAD(aads[i]!);
    out[i] = c.update(plaintexts[i]!);
    c.final();
    c.getAuthTag();
  }
  return out;
};
const rawItems = FIELDS.map((_, i) => ({ iv: ivs[i]!, aad: aads[i]!, plaintext: plaintexts[i]! }));
const batchSealFresh = () => prepareGcmKey(freshKeys[fk++ & 63]!).sealBatch(rawItems);

// GHASH alone: one block multiply.
const table16 = ghashTable(nodeCrypto.randomBytes(16));
const state = new Int32Array([1, 2, 3, 4]);
const GHASH_BLOCKS = 1000;
const ghashRun = () => {
  for (let i = 0; i < GHASH_BLOCKS; i++) ghashMul(state, table16);
  return state[0];
};

// Same bytes before measuring anything.
const ours = batchSeal();
for (let i = 0; i < N; i++) {
  deepStrictEqual(Buffer.from(ours[i]!.ciphertext), Buffer.from(sealed[i]!.ciphertext));
  deepStrictEqual(Buffer.from(ours[i]!.tag), Buffer.from(sealed[i]!.tag));
}
deepStrictEqual(batchOpen().map((p) => Buffer.from(p!)), plaintexts.map((p) => Buffer.from(p)));

const cases: Case[] = [
  { name: 'node:crypto seal, 8 fields', fn: nodeSeal },
  { name: 'gcm sealBatch(8)', fn: batchSeal },
  { name: 'node:crypto open, 8 fields', fn: nodeOpen },
  { name: 'gcm openBatch(8)', fn: batchOpen },
  { name: 'node:crypto seal, fresh key/doc', fn: nodeSealFresh },
  { name: 'gcm prepareGcmKey+sealBatch(8), raw AADs', fn: batchSealFresh },
  { name: 'GHASH x1000 blocks', fn: ghashRun },
];
const rounds = envNumber('WIRESEAL_BENCH_ROUNDS', 15);
const ms = envNumber('WIRESEAL_BENCH_MS', 150);
console.log(`AES-256-GCM, ${N} fields of ${Math.min(...plaintexts.map((p) => p.length))}-${Math.max(...plaintexts.map((p) => p.length))} bytes, AAD ${Math.min(...aads.map((a) => a.length))}-${Math.max(...aads.map((a) => a.length))} bytes; node ${process.version}; ${rounds} rounds x ${ms} ms, CPU time`);
const m = await runGroup(cases, { rounds, msPerRound: ms, warmupMs: 500 });
const perField = (i: number): number => 1e6 / (median(m[i]!.perRoundCpu) * N);
const pairs: Array<[string, number, number]> = [
  ['seal', 0, 1],
  ['open', 2, 3],
  ['seal, fresh key per document', 4, 5],
];
console.log(
  table(
    ['per field', 'node:crypto µs', 'gcm batch µs', 'speed-up (median of per-round ratios)'],
    pairs.map(([what, a, b]) => [what, fmt(perField(a), 2), fmt(perField(b), 2), `${fmt(ratio(m[b]!, m[a]!, 'cpu'), 2)}x`]),
  ),
);
const sealOpen = (perField(0) + perField(2)) / (perField(1) + perField(3));
console.log(`seal+open of a batch of 8: ${fmt(sealOpen, 2)}x faster than node:crypto per field`);
console.log(`GHASH block multiply: ${fmt(1e9 / (median(m[6]!.perRoundCpu) * GHASH_BLOCKS), 0)} ns`);
