/** Counters of a re-encryption job and its summary line. */
import { count, formatDuration } from './progress.ts';
import type { ResealResult } from './record.ts';

/** What a re-encryption job counts. */
export interface Counters {
  /** Records read (blank lines excluded). */
  records: number;
  /** Records written to the output. */
  written: number;
  /** Records sent to the reject file. */
  failed: number;
  /** Fields re-sealed from an older kid (or into another context). */
  resealed: number;
  /** Fields already under the primary kid, left byte-identical. */
  current: number;
  /** Plaintext fields sealed for the first time. */
  fromPlaintext: number;
  /** Legacy ciphertexts converted. */
  legacy: number;
  /** Re-sealed fields per kid they were sealed under. */
  byKid: Record<string, number>;
  /** Failed records per error code. */
  failedByCode: Record<string, number>;
}

/** Adds `n` to `map[key]` as an own property (a kid may be any printable ASCII, `__proto__` included). */
function bump(map: Record<string, number>, key: string, n: number): void {
  const cur = Object.prototype.hasOwnProperty.call(map, key) ? map[key]! : 0;
  Object.defineProperty(map, key, { value: cur + n, enumerable: true, writable: true, configurable: true });
}

/** Fresh counters. */
export function newCounters(): Counters {
  return { records: 0, written: 0, failed: 0, resealed: 0, current: 0, fromPlaintext: 0, legacy: 0, byKid: {}, failedByCode: {} };
}

/** Adds one record's result. */
export function addResult(c: Counters, r: ResealResult): void {
  c.records++;
  c.written++;
  c.resealed += r.resealed;
  c.current += r.current;
  c.fromPlaintext += r.fromPlaintext;
  c.legacy += r.legacy;
  for (const kid of r.fromKids) bump(c.byKid, kid, 1);
}

/** Adds one failed record. */
export function addFailure(c: Counters, code: string): void {
  c.records++;
  c.failed++;
  bump(c.failedByCode, code, 1);
}

/** Adds `from` into `into`. */
export function mergeCounters(into: Counters, from: Counters): void {
  into.records += from.records;
  into.written += from.written;
  into.failed += from.failed;
  into.resealed += from.resealed;
  into.current += from.current;
  into.fromPlaintext += from.fromPlaintext;
  into.legacy += from.legacy;
  for (const [k, n] of Object.entries(from.byKid)) bump(into.byKid, k, n);
  for (const [k, n] of Object.entries(from.failedByCode)) bump(into.failedByCode, k, n);
}

/** The one-line human summary. */
export function summaryLine(c: Counters, seconds: number, primaryKid: string, rejectFile: string | undefined): string {
  const parts = [
    `${count(c.records)} records in ${formatDuration(seconds)}`,
    `${count(c.resealed)} fields re-sealed`,
    `${count(c.current)} already current`,
    `${count(c.fromPlaintext)} sealed from plaintext`,
  ];
  if (c.legacy > 0) parts.push(`${count(c.legacy)} legacy converted`);
  parts.push(`${count(c.failed)} failed${c.failed > 0 && rejectFile ? ` (see ${rejectFile})` : ''}`);
  const kids = Object.entries(c.byKid);
  const from = kids.length ? `; re-sealed from ${kids.map(([k, n]) => `"${k}" ×${count(n)}`).join(', ')}` : '';
  return `reencrypt: done under primary "${primaryKid}": ${parts.join(', ')}${from}`;
}
