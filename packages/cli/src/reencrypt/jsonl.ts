/**
 * Re-encrypting a JSONL file: records in input order, one output line per
 * input line (blank lines kept, failed records to the reject file instead),
 * batched writes, and a checkpoint after every batch so an interrupted run
 * resumes where the last durable batch ended, without duplicating or losing
 * a record.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { CliError, inputError, ioError, usageError } from '../errors.ts';
import { exists, syncDir } from '../files.ts';
import type { Checkpoint, JobIdentity } from './checkpoint.ts';
import { checkIdentity, readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import type { Progress } from './progress.ts';
import type { BatchOutput } from './batch.ts';
import type { LegacySetup } from './legacy.ts';
import { BatchPool } from './pool.ts';
import type { ResealKeys, ResealOptions } from './record.ts';
import type { Counters } from './summary.ts';
import { mergeCounters, newCounters } from './summary.ts';

/** A JSONL re-encryption job. */
export interface JsonlJob {
  input: string;
  output: string;
  rejects: string;
  checkpoint: string;
  /** Continue from the checkpoint. */
  resume: boolean;
  /** Start over even if the output, rejects or a checkpoint exist. */
  force: boolean;
  keys: ResealKeys;
  /** What the checkpoint records as the keys' primary (see {@link JobIdentity.primaryKid}). */
  primaryKid: string;
  reseal: ResealOptions;
  /** Digest of policy, contexts and mode (see {@link JobIdentity.settings}). */
  settings: string;
  progress: Progress;
  /** Checkpoint after this many records... */
  checkpointRecords: number;
  /** ...or this many ms, whichever comes first. */
  checkpointMs: number;
  /** The legacy reader's setup, for worker threads (`reseal.legacy` is built from it). */
  legacy?: LegacySetup;
  /** Worker threads (1: re-seal in the main thread). */
  jobs: number;
  /** Polled between batches: true asks the job to checkpoint and stop. */
  stopRequested: () => boolean;
}

/** The outcome of a job. */
export interface JobResult {
  counters: Counters;
  /** Stopped by a signal after writing a checkpoint. */
  interrupted: boolean;
  /** This run started from a checkpoint. */
  resumed: boolean;
}

const READ_CHUNK = 256 * 1024;
const MAX_LINE = 64 * 1024 * 1024;
const MAX_PENDING = 8 * 1024 * 1024;

/** Opens a file (created with mode 0600), I/O errors as `ERR_IO`. */
export async function openFile(file: string, flags: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, flags, 0o600);
  } catch (err) {
    throw ioError(`cannot open ${file}`, err);
  }
}

/** A run of complete lines of a file (each ending in `\n`, except a last line at end of file). */
export interface LineRun {
  /** A copy of the bytes (free to transfer to a worker). */
  bytes: Uint8Array;
  /** File offset of `bytes[0]`, and just past the run. */
  offset: number;
  end: number;
  /** 1-based number of the run's first line. */
  firstLine: number;
}

/**
 * Reads `file` from `start` (a line start) in 256 KiB chunks, as runs of
 * complete lines. A long line doubles the read, never quadratic copying.
 * @param firstLine - the number of the line at `start`
 * @throws CliError `ERR_IO` when reading fails, `ERR_INPUT_INVALID` for a line over 64 MiB
 */
export async function* lineRuns(file: fs.FileHandle, start: number, firstLine: number, name: string): AsyncGenerator<LineRun> {
  let readPos = start;
  let line = firstLine;
  let carry: Buffer = Buffer.alloc(0);
  const run = (bytes: Buffer, offset: number): LineRun => {
    const r = { bytes: new Uint8Array(bytes), offset, end: offset + bytes.length, firstLine: line };
    for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) line++;
    return r;
  };
  for (;;) {
    const size = Math.max(READ_CHUNK, carry.length);
    const buf = Buffer.allocUnsafe(size);
    let bytesRead: number;
    try {
      ({ bytesRead } = await file.read(buf, 0, size, readPos));
    } catch (err) {
      throw ioError(`cannot read input ${name}`, err);
    }
    const dataBase = readPos - carry.length; // file offset of data[0]
    readPos += bytesRead;
    if (bytesRead === 0) {
      if (carry.length > 0) yield run(carry, dataBase); // a last line without a newline
      return;
    }
    const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
    const cut = data.lastIndexOf(10) + 1;
    if (cut > 0) yield run(data.subarray(0, cut), dataBase);
    carry = Buffer.from(data.subarray(cut));
    if (carry.length > MAX_LINE) throw inputError(`line ${line} of ${name} is longer than ${MAX_LINE} bytes`);
  }
}

/** Runs the job. */
export async function reencryptJsonl(job: JsonlJob): Promise<JobResult> {
  const input = path.resolve(job.input);
  const output = path.resolve(job.output);
  const rejects = path.resolve(job.rejects);
  const cpFile = path.resolve(job.checkpoint);
  const files = new Set([input, output, rejects, cpFile]);
  if (files.size !== 4) throw usageError('--in, --out, --reject and --checkpoint must be four different files');

  let st;
  try {
    st = await fs.stat(input);
  } catch (err) {
    throw ioError(`cannot read input ${job.input}`, err);
  }
  if (!st.isFile()) throw ioError(`input ${job.input} is not a regular file`);
  const identity: JobIdentity = {
    input: { path: input, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino },
    output,
    rejects,
    primaryKid: job.primaryKid,
    settings: job.settings,
  };

  const existing = await readCheckpoint(cpFile);
  let cp: Checkpoint;
  let out: fs.FileHandle;
  let rej: fs.FileHandle | undefined;
  const resumed = Boolean(existing && job.resume);
  if (existing && job.resume) {
    checkIdentity(existing, identity, job.checkpoint);
    cp = existing;
    out = await openFile(output, 'r+');
    const outSize = (await out.stat()).size;
    if (outSize < cp.outOffset) {
      await out.close();
      throw usageError(`cannot resume: ${job.output} is shorter (${outSize} bytes) than the checkpoint says (${cp.outOffset}); start over with --force`);
    }
    await out.truncate(cp.outOffset);
    const rejectsExist = await exists(rejects);
    if (cp.rejectOffset > 0 || rejectsExist) {
      rej = await openFile(rejects, rejectsExist ? 'r+' : 'w');
      await rej.truncate(cp.rejectOffset);
    }
  } else {
    if (job.resume) throw usageError(`nothing to resume: no checkpoint at ${job.checkpoint}`);
    if (!job.force) {
      if (existing) throw usageError(`a checkpoint of an unfinished run exists (${job.checkpoint}): pass --resume to continue it, or --force to start over`);
      if (await exists(output)) throw usageError(`${job.output} already exists; pass --force to overwrite it`);
      if (await exists(rejects)) throw usageError(`${job.rejects} already exists; pass --force to overwrite it`);
    }
    await fs.rm(rejects, { force: true }).catch((err: unknown) => {
      throw ioError(`cannot remove old ${job.rejects}`, err);
    });
    out = await openFile(output, 'w');
    cp = { version: 1, ...identity, inOffset: 0, outOffset: 0, rejectOffset: 0, line: 0, counters: newCounters(), updatedAt: new Date().toISOString() };
    await writeCheckpoint(cpFile, cp);
  }

  const inFile = await openFile(input, 'r');
  const pool = new BatchPool(job.jobs, job.keys, job.reseal, job.legacy);
  const counters = cp.counters;
  let inOffset = cp.inOffset;
  let outOffset = cp.outOffset;
  let rejectOffset = cp.rejectOffset;
  let line = cp.line;
  let outParts: string[] = [];
  let outPending = 0;
  let rejParts: string[] = [];
  let sinceFlush = 0;
  let lastFlush = Date.now();
  let interrupted = false;

  const flush = async (final: boolean): Promise<void> => {
    try {
      if (outParts.length) {
        const buf = Buffer.from(outParts.join(''), 'utf8');
        outParts = [];
        outPending = 0;
        await out.write(buf, 0, buf.length, outOffset);
        outOffset += buf.length;
      }
      if (rejParts.length) {
        rej ??= await openFile(rejects, 'w');
        const buf = Buffer.from(rejParts.join(''), 'utf8');
        rejParts = [];
        await rej.write(buf, 0, buf.length, rejectOffset);
        rejectOffset += buf.length;
      }
      await out.sync();
      await rej?.sync();
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw ioError(`cannot write ${job.output} or ${job.rejects}`, err);
    }
    cp = { ...cp, inOffset, outOffset, rejectOffset, line, counters, updatedAt: new Date().toISOString() };
    if (!final) await writeCheckpoint(cpFile, cp);
    sinceFlush = 0;
    lastFlush = Date.now();
  };

  // Batches in flight, oldest first; results are taken in this order, so output keeps input order.
  const inflight: Array<{ result: Promise<BatchOutput>; endOffset: number }> = [];
  const maxInflight = Math.max(2, pool.threads * 2);
  const take = async (): Promise<void> => {
    const head = inflight.shift()!;
    const r = await head.result;
    outParts.push(r.out);
    outPending += r.out.length;
    if (r.rejects) rejParts.push(r.rejects);
    mergeCounters(counters, r.counters);
    line += r.lines;
    inOffset = head.endOffset;
    sinceFlush += r.lines;
    job.progress.update(progressState());
    if (sinceFlush >= job.checkpointRecords || outPending > MAX_PENDING || Date.now() - lastFlush >= job.checkpointMs) await flush(false);
  };

  const progressState = () => ({ records: counters.records, done: inOffset, total: st.size, failed: counters.failed });
  job.progress.begin(progressState());
  try {
    for await (const run of lineRuns(inFile, inOffset, line + 1, job.input)) {
      if (job.stopRequested()) {
        interrupted = true;
        break;
      }
      // A worker takes the bytes (transferred: length 0 here afterwards).
      inflight.push({ result: pool.submit({ bytes: run.bytes, firstLine: run.firstLine, firstOffset: run.offset }), endOffset: run.end });
      while (inflight.length >= maxInflight) await take();
    }
    while (inflight.length) await take();
    if (interrupted) {
      await flush(false);
    } else {
      await flush(true);
      await fs.rm(cpFile, { force: true });
      await syncDir(path.dirname(cpFile));
    }
  } finally {
    job.progress.end();
    await pool.close();
    await Promise.allSettled(inflight.map((f) => f.result));
    await inFile.close().catch(() => undefined);
    await out.close().catch(() => undefined);
    await rej?.close().catch(() => undefined);
  }
  return { counters, interrupted, resumed };
}
