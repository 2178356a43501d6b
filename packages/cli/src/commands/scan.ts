/**
 * `wireseal scan`: which keys stored data is sealed under, without any key.
 * Reads a JSONL file or a Kafka topic and counts tokens per kid, alg and
 * audience, plaintext values per policy path, records that are not JSON and
 * misfit members; `--require-absent KID` answers "is anything still sealed
 * under KID?" with the exit code.
 */
import type { FieldPolicy } from '@wireseal/core';
import type { CommandSpec, Values } from '../args.ts';
import { choice, flag, list, required, str } from '../args.ts';
import { EXIT, ioError, usageError } from '../errors.ts';
import type { Io } from '../io.ts';
import { write } from '../io.ts';
import { batchLines } from '../reencrypt/batch.ts';
import { lineRuns, openFile } from '../reencrypt/jsonl.ts';
import type { Progress } from '../reencrypt/progress.ts';
import { count, formatDuration } from '../reencrypt/progress.ts';
import type { Tally } from '../scan/tally.ts';
import { newTally, tallyDocument } from '../scan/tally.ts';
import { readPolicy } from './fields.ts';
import { KAFKA_OPTIONS, PROGRESS_OPTIONS, SOURCE_OPTIONS, brokerList, progressFor, withStopSignals } from './reencrypt.ts';

/** Exit status when a `--require-absent` kid was found: 4, as `reencrypt`'s "done, but not all is as required". */
const EXIT_FOUND = EXIT.REJECTED;

/** Counts the records of a JSONL file. @returns whether it was interrupted */
async function scanJsonl(file: string, policy: FieldPolicy, tally: Tally, progress: Progress, stopRequested: () => boolean): Promise<boolean> {
  const handle = await openFile(file, 'r');
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw ioError(`input ${file} is not a regular file`);
    let done = 0;
    const progressState = () => ({ records: tally.records, done, total: st.size, failed: 0 });
    progress.begin(progressState());
    for await (const run of lineRuns(handle, 0, 1, file)) {
      if (stopRequested()) return true;
      for (const line of batchLines({ bytes: run.bytes, firstLine: run.firstLine, firstOffset: run.offset })) {
        let text: string | undefined;
        try {
          text = line.text();
          if (text === undefined) continue; // blank
        } catch {
          text = undefined; // not UTF-8: not JSON either
        }
        tallyDocument(tally, text, policy);
      }
      done = run.end;
      progress.update(progressState());
    }
    return false;
  } finally {
    progress.end();
    await handle.close().catch(() => undefined);
  }
}

/** `"k1" ×1,200, "k2" ×600`, largest first. */
function counts(map: Record<string, number>, quote: boolean): string {
  const entries = Object.entries(map).sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([k, n]) => `${quote ? JSON.stringify(k) : k} ×${count(n)}`).join(', ') : 'none';
}

function humanSummary(t: Tally, source: string, seconds: number, interrupted: boolean, absent: Record<string, number> | undefined): string {
  const head = [`${count(t.tokens)} tokens`, `${count(t.plaintext)} plaintext values at policy paths`, `${count(t.notJson)} not JSON`, `${count(t.misfits)} misfits`];
  if (t.malformed) head.push(`${count(t.malformed)} malformed (token-shaped, do not decode: kid unknown)`);
  if (t.tombstones) head.push(`${count(t.tombstones)} tombstones`);
  const lines = [`scan: ${interrupted ? 'interrupted after' : 'done:'} ${count(t.records)} records of ${source} in ${formatDuration(seconds)}: ${head.join(', ')}`];
  if (t.tokens) {
    lines.push(`  tokens by kid: ${counts(t.tokensByKid, true)}${t.tokensWithoutKid ? `, (no kid) ×${count(t.tokensWithoutKid)}` : ''}`);
    lines.push(`  tokens by alg: ${counts(t.tokensByAlg, false)}`);
  }
  if (Object.keys(t.tokensByAudience).length) lines.push(`  tokens by audience: ${counts(t.tokensByAudience, false)}`);
  if (t.plaintext) lines.push(`  plaintext by policy path (values not shown): ${counts(t.plaintextByPath, false)}`);
  if (t.misfits) lines.push(`  misfits by policy path: ${counts(t.misfitsByPath, false)}`);
  for (const [kid, n] of Object.entries(absent ?? {})) {
    lines.push(n > 0 ? `scan: ${count(n)} token${n === 1 ? ' is' : 's are'} still sealed under kid ${JSON.stringify(kid)} (--require-absent)` : `scan: no token under kid ${JSON.stringify(kid)}${interrupted ? ' so far' : ''}`);
  }
  if (absent && t.malformed) lines.push(`scan: ${count(t.malformed)} token-shaped values do not decode: their kid is unknown`);
  return `${lines.join('\n')}\n`;
}

async function report(io: Io, values: Values, t: Tally, source: Record<string, string>, seconds: number, interrupted: boolean): Promise<number> {
  const kids = list(values, 'require-absent');
  let absent: Record<string, number> | undefined;
  if (kids.length) {
    absent = {};
    for (const kid of kids) Object.defineProperty(absent, kid, { value: Object.prototype.hasOwnProperty.call(t.tokensByKid, kid) ? t.tokensByKid[kid]! : 0, enumerable: true, writable: true, configurable: true });
  }
  await write(io.stderr, humanSummary(t, source.file ?? `topic "${source.topic}"`, seconds, interrupted, absent));
  if (flag(values, 'json')) {
    await write(io.stdout, `${JSON.stringify({ status: interrupted ? 'interrupted' : 'done', ...source, ...t, ...(absent ? { requireAbsent: absent } : {}), seconds: Math.round(seconds * 1000) / 1000 })}\n`);
  }
  if (interrupted) return EXIT.INTERRUPTED;
  return Object.values(absent ?? {}).some((n) => n > 0) ? EXIT_FOUND : EXIT.OK;
}

/** `wireseal scan`. */
export const scan: CommandSpec = {
  name: 'scan',
  summary: 'Count the tokens of a JSONL file or a Kafka topic per kid, alg and audience, without keys (--require-absent KID).',
  usage: [
    'scan --policy FILE --in FILE [--require-absent KID]... [--json]',
    'scan --policy FILE --topic TOPIC --brokers HOST:PORT[,...] [--require-absent KID]... [--json]',
    'scan --mode whole --topic TOPIC --brokers HOST:PORT[,...] [--require-absent KID]... [--json]',
  ],
  description: [
    'Reads every record and counts, from the tokens\' protected headers (no key needed, nothing decrypted):',
    'tokens per kid, per alg and per audience (the audience of the policy path each token sits at; `default` for a',
    '{"fields": [...]} policy), plaintext values at policy paths per policy path (never shown), records that are not',
    'JSON, and misfit members (the wrong shape on a policy path). Headers are not authenticated until a token is',
    'opened: the counts say which keys the tokens name, i.e. which keys a reader needs.',
    '',
    'Kafka: reads TOPIC from the log start up to the end offsets seen at start, read_committed, with a throwaway',
    'consumer group that commits no offsets (and is deleted afterwards). --mode whole reads the wireseal-jwe header',
    'of whole-value records (records without it count as plaintext at "$").',
    '',
    '--require-absent KID: exit 4 when any token under KID is found (the count is in the summary), 0 otherwise:',
    '"is anything still sealed under KID?" before `keyset remove KID`.',
    'Progress goes to stderr as for reencrypt; then the summary. Exit 130: interrupted (counts so far).',
  ].join('\n'),
  options: {
    ...SOURCE_OPTIONS,
    ...KAFKA_OPTIONS,
    'require-absent': { type: 'string', multiple: true, metavar: 'KID', help: 'Exit 4 if any token under this kid is found' },
    ...PROGRESS_OPTIONS,
  },
  examples: [
    'wireseal scan --policy policy.json --in events.jsonl',
    'wireseal scan --policy policy.json --in events.v2.jsonl --require-absent 2026-05 && wireseal keyset remove 2026-05 --keyset keys.json',
    'wireseal scan --policy policy.json --topic payments --brokers kafka:9092 --json',
  ],
  async run({ values, io }) {
    const kafka = str(values, 'topic') !== undefined || str(values, 'brokers') !== undefined;
    const file = str(values, 'in');
    if (kafka && file !== undefined) throw usageError('give either --in FILE (JSONL) or --topic/--brokers (Kafka), not both');
    if (!kafka && file === undefined) throw usageError('scan needs --in FILE, or --topic TOPIC --brokers LIST (see: wireseal scan --help)');
    for (const kid of list(values, 'require-absent')) if (kid === '') throw usageError('--require-absent needs a kid');
    const mode = choice(values, 'mode', ['fields', 'whole'] as const, 'fields');
    if (!kafka && values.mode !== undefined) throw usageError('--mode applies only with --topic (JSONL records are JSON documents)');
    if (mode === 'whole' && values.policy !== undefined) throw usageError('--mode whole takes no --policy: whole values have no policy paths');
    const policy = mode === 'fields' ? await readPolicy(required(values, 'policy', 'scan')) : undefined;
    const progress = progressFor(values, io, 'scan');
    const tally = newTally(policy);
    const started = Date.now();
    if (!kafka) {
      const interrupted = await withStopSignals((stop) => scanJsonl(file!, policy!, tally, progress, stop));
      return report(io, values, tally, { file: file!, mode }, (Date.now() - started) / 1000, interrupted);
    }
    const topic = required(values, 'topic', 'scan');
    const brokers = brokerList(values, 'scan');
    const { scanTopic } = await import('../scan/topic.ts');
    const { interrupted } = await withStopSignals((stopRequested) => scanTopic({ brokers, topic, mode, ...(policy ? { policy } : {}), tally, progress, stopRequested }));
    return report(io, values, tally, { topic, mode }, (Date.now() - started) / 1000, interrupted);
  },
};
