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
  /** Tokens of audiences the keys cannot open (none, or public keys only), left byte-identical. */
  leftSealed: number;
  /** Those, per audience. */
  leftSealedByAudience: Record<string, number>;
  /** Re-sealed fields per kid they were sealed under. */
  byKid: Record<string, number>;
  /** Failed records per error code. */
  failedByCode: Record<string, number>;
}

/** Adds `n` to `map[key]` as an own property (a kid may be any printable ASCII, `__proto__` included). */
export function bump(map: Record<string, number>, key: string, n = 1): void {
  const cur = Object.prototype.hasOwnProperty.call(map, key) ? map[key]! : 0;
  Object.defineProperty(map, key, { value: cur + n, enumerable: true, writable: true, configurable: true });
}

/** Fresh counters. */
export function newCounters(): Counters {
  return { records: 0, written: 0, failed: 0, resealed: 0, current: 0, fromPlaintext: 0, legacy: 0, leftSealed: 0, leftSealedByAudience: {}, byKid: {}, failedByCode: {} };
}

/** Adds one record's result. */
export function addResult(c: Counters, r: ResealResult): void {
  c.records++;
  c.written++;
  c.resealed += r.resealed;
  c.current += r.current;
  c.fromPlaintext += r.fromPlaintext;
  c.legacy += r.legacy;
  c.leftSealed += r.leftSealed;
  for (const kid of r.fromKids) bump(c.byKid, kid, 1);
  for (const audience of r.leftAudiences) bump(c.leftSealedByAudience, audience, 1);
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
  into.leftSealed += from.leftSealed;
  for (const [k, n] of Object.entries(from.byKid)) bump(into.byKid, k, n);
  for (const [k, n] of Object.entries(from.leftSealedByAudience)) bump(into.leftSealedByAudience, k, n);
  for (const [k, n] of Object.entries(from.failedByCode)) bump(into.failedByCode, k, n);
}

/**
 * The one-line human summary. `under` says what was sealed under: `primary "k2"`,
 * or per audience with a keyring (`pci "k2", pii "p1"`).
 */
export function summaryLine(c: Counters, seconds: number, under: string, rejectFile: string | undefined): string {
  const parts = [
    `${count(c.records)} records in ${formatDuration(seconds)}`,
    `${count(c.resealed)} fields re-sealed`,
    `${count(c.current)} already current`,
    `${count(c.fromPlaintext)} sealed from plaintext`,
  ];
  if (c.legacy > 0) parts.push(`${count(c.legacy)} legacy converted`);
  if (c.leftSealed > 0) {
    const by = Object.entries(c.leftSealedByAudience).map(([a, n]) => `"${a}" ×${count(n)}`).join(', ');
    parts.push(`${count(c.leftSealed)} left sealed (no keys to open ${by})`);
  }
  parts.push(`${count(c.failed)} failed${c.failed > 0 && rejectFile ? ` (see ${rejectFile})` : ''}`);
  const kids = Object.entries(c.byKid);
  const from = kids.length ? `; re-sealed from ${kids.map(([k, n]) => `"${k}" ×${count(n)}`).join(', ')}` : '';
  return `reencrypt: done under ${under}: ${parts.join(', ')}${from}`;
}
