/**
 * The checkpoint of a JSONL re-encryption: how far the input was consumed and
 * how long the output and reject files were when that was durable. Written
 * after the output and rejects were fsynced, atomically (temp file, fsync,
 * rename), so after any crash the checkpoint never claims more than is on disk.
 */
import * as fs from 'node:fs/promises';
import { ioError, usageError } from '../errors.ts';
import { writeFileAtomic } from '../files.ts';
import type { Counters } from './summary.ts';
import { newCounters } from './summary.ts';

/** What identifies the job: resuming under anything else would mix outputs. */
export interface JobIdentity {
  input: { path: string; size: number; mtimeMs: number; ino: number };
  output: string;
  rejects: string;
  /** The primary kid; with a keyring, every audience's kind and sealing kid (`pci=k2,pii=public:p1,ops=-`). */
  primaryKid: string;
  /** SHA-256 of the policy, contexts and mode, so a resumed run re-seals the same way. */
  settings: string;
}

/** The checkpoint file's content. */
export interface Checkpoint extends JobIdentity {
  version: 1;
  /** Input bytes consumed (always at a line boundary). */
  inOffset: number;
  /** Output bytes durable for those input bytes. */
  outOffset: number;
  /** Reject-file bytes durable for those input bytes. */
  rejectOffset: number;
  /** Lines consumed (1-based number of the last one). */
  line: number;
  counters: Counters;
  updatedAt: string;
}

/** Reads a checkpoint, or undefined when there is none. */
export async function readCheckpoint(file: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(`cannot read checkpoint ${file}`, err);
  }
  let cp: Checkpoint;
  try {
    cp = JSON.parse(text) as Checkpoint;
  } catch {
    throw usageError(`checkpoint ${file} is not valid JSON; remove it and start over with --force`);
  }
  if (cp.version !== 1 || typeof cp.inOffset !== 'number' || typeof cp.outOffset !== 'number' || typeof cp.rejectOffset !== 'number') {
    throw usageError(`checkpoint ${file} is not a wireseal reencrypt checkpoint (version 1); remove it or start over with --force`);
  }
  // Counters added since (leftSealed) start at zero in a checkpoint written before them.
  return { ...cp, counters: { ...newCounters(), ...cp.counters } };
}

/** Writes a checkpoint atomically. */
export async function writeCheckpoint(file: string, cp: Checkpoint): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(cp)}\n`, { overwrite: true });
}

/** Refuses to resume a checkpoint that belongs to another job. */
export function checkIdentity(cp: Checkpoint, job: JobIdentity, file: string): void {
  const why: string[] = [];
  if (cp.input.path !== job.input.path) why.push(`it is for input ${cp.input.path}`);
  else if (cp.input.size !== job.input.size || cp.input.mtimeMs !== job.input.mtimeMs || cp.input.ino !== job.input.ino) why.push('the input file changed since');
  if (cp.output !== job.output) why.push(`it writes to ${cp.output}`);
  if (cp.rejects !== job.rejects) why.push(`its reject file is ${cp.rejects}`);
  if (cp.primaryKid !== job.primaryKid) why.push(`it re-sealed under primary "${cp.primaryKid}", the key set's primary is now "${job.primaryKid}"`);
  if (cp.settings !== job.settings) why.push('the policy, context or --strict differ');
  if (why.length) throw usageError(`cannot resume from checkpoint ${file}: ${why.join('; ')}. Start over with --force`);
}
