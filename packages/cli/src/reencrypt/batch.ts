/**
 * One batch of JSONL lines, re-sealed: what the main thread or a worker does
 * with a run of complete lines. Output lines keep input order; blank lines are
 * kept; a failed record becomes a reject line instead.
 */
import { isUtf8 } from 'node:buffer';
import { WiresealError } from '@wireseal/core';
import { CliError, inputError } from '../errors.ts';
import type { ResealKeys, ResealOptions } from './record.ts';
import { resealDocument } from './record.ts';
import type { Counters } from './summary.ts';
import { addFailure, addResult, newCounters } from './summary.ts';

/** A run of complete lines (each ending in `\n`, except a last line at end of input). */
export interface BatchInput {
  bytes: Uint8Array;
  /** 1-based number of the batch's first line. */
  firstLine: number;
  /** Input byte offset of `bytes[0]`. */
  firstOffset: number;
}

/** A processed batch. */
export interface BatchOutput {
  /** Output text, one line per kept input line. */
  out: string;
  /** Reject-file lines. */
  rejects: string;
  /** This batch's counts. */
  counters: Counters;
  /** Lines consumed. */
  lines: number;
}

function isBlank(bytes: Uint8Array, end: number): boolean {
  for (let i = 0; i < end; i++) if (bytes[i] !== 32 && bytes[i] !== 9) return false;
  return true;
}

/** Re-seals every line of a batch. Throws only for bugs (not for bad records). */
export function processBatch(keys: ResealKeys, reseal: ResealOptions, input: BatchInput): BatchOutput {
  const buf = Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
  const counters = newCounters();
  const out: string[] = [];
  const rejects: string[] = [];
  let line = input.firstLine - 1;
  let start = 0;
  while (start < buf.length) {
    let nl = buf.indexOf(10, start);
    if (nl < 0) nl = buf.length;
    const bytes = buf.subarray(start, nl);
    const offset = input.firstOffset + start;
    start = nl + 1;
    line++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 13) end--; // CRLF
    if (isBlank(bytes, end)) {
      out.push(`${bytes.toString('latin1')}\n`); // only spaces, tabs, CR: kept as is, not counted
      continue;
    }
    let text: string | undefined;
    try {
      if (!isUtf8(bytes)) throw inputError('record is not valid UTF-8');
      text = bytes.toString('utf8', 0, end);
      const r = resealDocument(keys, text, reseal);
      out.push(r.changed ? `${r.text}\n` : `${bytes.toString('utf8')}\n`);
      addResult(counters, r);
    } catch (err) {
      const code = err instanceof WiresealError || (err instanceof CliError && err.code === 'ERR_INPUT_INVALID') ? err.code : undefined;
      if (code === undefined) throw err;
      rejects.push(`${JSON.stringify({ line, offset, code, message: (err as Error).message, record: text ?? bytes.toString('latin1') })}\n`);
      addFailure(counters, code);
    }
  }
  return { out: out.join(''), rejects: rejects.join(''), counters, lines: line - input.firstLine + 1 };
}
