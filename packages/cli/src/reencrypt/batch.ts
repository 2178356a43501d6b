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

/** One line of a batch. */
export interface BatchLine {
  /** 1-based line number. */
  line: number;
  /** Input byte offset of the line. */
  offset: number;
  /** The line without its `\n`. */
  bytes: Buffer;
  /** The record's text (without a trailing CR); undefined for a blank line (only spaces, tabs, CR). */
  text: () => string | undefined;
}

/**
 * The lines of a batch, in order.
 * `text()` throws CliError `ERR_INPUT_INVALID` for a line that is not UTF-8.
 */
export function* batchLines(input: BatchInput): Generator<BatchLine> {
  const buf = Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
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
    yield {
      line,
      offset,
      bytes,
      text: () => {
        if (isBlank(bytes, end)) return undefined;
        if (!isUtf8(bytes)) throw inputError('record is not valid UTF-8');
        return bytes.toString('utf8', 0, end);
      },
    };
  }
}

/** Re-seals every line of a batch. Throws only for bugs (not for bad records). */
export function processBatch(keys: ResealKeys, reseal: ResealOptions, input: BatchInput): BatchOutput {
  const counters = newCounters();
  const out: string[] = [];
  const rejects: string[] = [];
  let lines = 0;
  for (const { line, offset, bytes, text } of batchLines(input)) {
    lines++;
    let record: string | undefined;
    try {
      record = text();
      if (record === undefined) {
        out.push(`${bytes.toString('latin1')}\n`); // only spaces, tabs, CR: kept as is, not counted
        continue;
      }
      const r = resealDocument(keys, record, reseal);
      out.push(r.changed ? `${r.text}\n` : `${bytes.toString('utf8')}\n`);
      addResult(counters, r);
    } catch (err) {
      const code = err instanceof WiresealError || (err instanceof CliError && err.code === 'ERR_INPUT_INVALID') ? err.code : undefined;
      if (code === undefined) throw err;
      rejects.push(`${JSON.stringify({ line, offset, code, message: (err as Error).message, record: record ?? bytes.toString('latin1') })}\n`);
      addFailure(counters, code);
    }
  }
  return { out: out.join(''), rejects: rejects.join(''), counters, lines };
}
