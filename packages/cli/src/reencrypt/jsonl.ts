/**
 * Re-encrypting a JSONL file: records in input order, one output line per
 * input line (blank lines kept, failed records to the reject file instead),
 * batched writes, and a checkpoint after every batch so an interrupted run
 * resumes where the last durable batch ended, without duplicating or losing
 * a record.
 */
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { KeySet } from '@wireseal/core';
import { WiresealError } from '@wireseal/core';
import { CliError, inputError, ioError, usageError } from '../errors.ts';
import { exists, syncDir } from '../files.ts';
import type { Checkpoint, JobIdentity } from './checkpoint.ts';
import { checkIdentity, readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import type { Progress } from './progress.ts';
import type { ResealOptions } from './record.ts';
import { resealDocument } from './record.ts';
import type { Counters } from './summary.ts';
import { addFailure, addResult, newCounters } from './summary.ts';

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
  keys: KeySet;
  reseal: ResealOptions;
  /** Digest of policy, contexts and mode (see {@link JobIdentity.settings}). */
  settings: string;
  progress: Progress;
  /** Checkpoint after this many records... */
  checkpointRecords: number;
  /** ...or this many ms, whichever comes first. */
  checkpointMs: number;
  /** Polled between records: true asks the job to checkpoint and stop. */
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

const READ_CHUNK = 1024 * 1024;
const MAX_LINE = 64 * 1024 * 1024;
const MAX_PENDING = 8 * 1024 * 1024;

async function openFile(file: string, flags: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, flags, 0o600);
  } catch (err) {
    throw ioError(`cannot open ${file}`, err);
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
    primaryKid: job.keys.primaryKid,
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
    if (cp.rejectOffset > 0 || (await exists(rejects))) {
      rej = await openFile(rejects, (await exists(rejects)) ? 'r+' : 'w');
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

  const handleLine = (bytes: Buffer): void => {
    line++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 13) end--; // CRLF
    if (end === 0 || bytes.subarray(0, end).every((b) => b === 32 || b === 9)) {
      outParts.push(`${bytes.toString('utf8')}\n`); // blank lines are kept, not counted
      return;
    }
    let text = '';
    try {
      if (!isUtf8(bytes)) throw inputError('record is not valid UTF-8');
      text = bytes.toString('utf8', 0, end);
      const r = resealDocument(job.keys, text, job.reseal);
      const outText = r.changed ? r.text : bytes.toString('utf8');
      outParts.push(`${outText}\n`);
      outPending += outText.length + 1;
      addResult(counters, r);
    } catch (err) {
      const code = err instanceof WiresealError || (err instanceof CliError && err.code === 'ERR_INPUT_INVALID') ? err.code : undefined;
      if (code === undefined) throw err;
      rejParts.push(`${JSON.stringify({ line, offset: inOffset, code, message: (err as Error).message, record: text || bytes.toString('utf8') })}\n`);
      addFailure(counters, code);
    }
  };

  const progressState = () => ({ records: counters.records, done: inOffset, total: st.size, failed: counters.failed });
  job.progress.begin(progressState());
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let readPos = inOffset;
    let carry: Buffer = Buffer.alloc(0);
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await inFile.read(buf, 0, READ_CHUNK, readPos));
      } catch (err) {
        throw ioError(`cannot read input ${job.input}`, err);
      }
      readPos += bytesRead;
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      const dataBase = readPos - data.length; // input offset of data[0]
      let start = 0;
      for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
        handleLine(data.subarray(start, nl));
        start = nl + 1;
        inOffset = dataBase + start;
        sinceFlush++;
        if ((sinceFlush & 63) === 0 || sinceFlush >= job.checkpointRecords) {
          job.progress.update(progressState());
          if (job.stopRequested()) {
            interrupted = true;
            break;
          }
          if (sinceFlush >= job.checkpointRecords || outPending > MAX_PENDING || Date.now() - lastFlush >= job.checkpointMs) await flush(false);
        }
      }
      if (interrupted) break;
      carry = Buffer.from(data.subarray(start));
      if (carry.length > MAX_LINE) throw inputError(`line ${line + 1} of ${job.input} is longer than ${MAX_LINE} bytes`);
      if (bytesRead === 0) {
        if (carry.length > 0) {
          handleLine(carry); // a last line without a newline gets one
          inOffset = dataBase + data.length;
        }
        break;
      }
    }
    if (interrupted) {
      await flush(false);
    } else {
      await flush(true);
      await fs.rm(cpFile, { force: true });
      await syncDir(path.dirname(cpFile));
    }
  } finally {
    job.progress.end();
    await inFile.close().catch(() => undefined);
    await out.close().catch(() => undefined);
    await rej?.close().catch(() => undefined);
  }
  return { counters, interrupted, resumed };
}
