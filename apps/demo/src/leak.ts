/**
 * The leak check: look for the plaintext card numbers and SSNs in bytes that
 * crossed the wire, sit on the broker's disk, or came out of a consumer. Each
 * scan also counts the payment ids it finds (plaintext on purpose), a control
 * that proves the scan sees the data it claims to have scanned. Card numbers
 * and SSNs are counted apart: a consumer's output may hold the fields of the
 * audience it holds, and must not hold the others.
 *
 * Every run of 16+ ASCII digits is checked window by window against the card
 * numbers, every `ddd-dd-dddd` against the SSNs: one pass over the bytes,
 * however many values there are (the broker's preallocated index files alone
 * are tens of MB).
 */
import fs from 'node:fs';
import path from 'node:path';

/** What to look for. */
export interface Needles {
  /** 16-digit card numbers that must never be found. */
  cards: ReadonlySet<string>;
  /** SSNs (`ddd-dd-dddd`) that must never be found. */
  ssns: ReadonlySet<string>;
  /** Payment ids (`pay_xxxxxx_nnnnnn`) that must be found: the control. */
  ids: ReadonlySet<string>;
}

/** The result of scanning some bytes. */
export interface ScanResult {
  /** Distinct card numbers and SSNs found. */
  secretsFound: Set<string>;
  /** Distinct card numbers found. */
  cardsFound: Set<string>;
  /** Distinct SSNs found. */
  ssnsFound: Set<string>;
  /** Distinct payment ids found. */
  controlsFound: Set<string>;
  bytes: number;
  files: number;
}

/** An empty result to accumulate into. */
export function emptyScan(): ScanResult {
  return { secretsFound: new Set(), cardsFound: new Set(), ssnsFound: new Set(), controlsFound: new Set(), bytes: 0, files: 0 };
}

const DIGIT_RUN = /\d{16,}/g;
const SSN = /\d{3}-\d{2}-\d{4}/g;
const ID = /pay_[0-9a-f]{6}_\d{6}/g;

/** Scans bytes (as latin1, so binary record batches and text alike) and adds what it finds to `into`. */
export function scanBytes(buf: Buffer, needles: Needles, into: ScanResult = emptyScan()): ScanResult {
  into.bytes += buf.length;
  const text = buf.toString('latin1');
  for (const m of text.matchAll(DIGIT_RUN)) {
    const run = m[0];
    for (let i = 0; i + 16 <= run.length; i++) {
      const w = run.slice(i, i + 16);
      if (needles.cards.has(w)) {
        into.secretsFound.add(w);
        into.cardsFound.add(w);
      }
    }
  }
  for (const m of text.matchAll(SSN)) {
    if (needles.ssns.has(m[0])) {
      into.secretsFound.add(m[0]);
      into.ssnsFound.add(m[0]);
    }
  }
  for (const m of text.matchAll(ID)) if (needles.ids.has(m[0])) into.controlsFound.add(m[0]);
  return into;
}

/** Scans every regular file under `dir`, recursively. */
export function scanDirectory(dir: string, needles: Needles): ScanResult {
  const result = emptyScan();
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        result.files++;
        scanBytes(fs.readFileSync(p), needles, result);
      }
    }
  };
  walk(dir);
  return result;
}
