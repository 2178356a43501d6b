/**
 * `wireseal reencrypt`: re-seal every policy field of a JSONL file (or of a
 * Kafka topic into a new topic) under the current primary key (per audience,
 * with a keyring), with progress, a summary, a reject file, and resumption
 * after an interruption.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Context, FieldPolicy } from '@wireseal/core';
import type { CommandSpec, OptionSpec, Values } from '../args.ts';
import { CONTEXT_OPTION, choice, flag, list, parseContext, positiveNumber, required, str } from '../args.ts';
import { EXIT, usageError } from '../errors.ts';
import type { Io } from '../io.ts';
import { write } from '../io.ts';
import { canOpen, kindOf, sealingKid } from '../keys/audience.ts';
import type { FieldKeysLoaded } from '../keys/keyring.ts';
import { KEYRING_OPTIONS, loadFieldKeys } from '../keys/keyring.ts';
import { KEY_SOURCE_OPTIONS } from '../keys/source.ts';
import type { LegacySetup } from '../reencrypt/legacy.ts';
import { legacyReader, legacySetupFromEnv } from '../reencrypt/legacy.ts';
import { reencryptJsonl } from '../reencrypt/jsonl.ts';
import { Progress } from '../reencrypt/progress.ts';
import type { ResealKeys, ResealOptions } from '../reencrypt/record.ts';
import type { Counters } from '../reencrypt/summary.ts';
import { summaryLine } from '../reencrypt/summary.ts';
import { readPolicy } from './fields.ts';

/** Runs `body` with SIGINT/SIGTERM turned into a stop request (a second signal exits at once). */
export async function withStopSignals<T>(body: (stopRequested: () => boolean) => Promise<T>): Promise<T> {
  let stop = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop) process.exit(signal === 'SIGINT' ? 130 : 143);
    stop = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(() => stop);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `--progress`, `--progress-interval` and `--json`, shared by reencrypt and scan. */
export const PROGRESS_OPTIONS: Record<string, OptionSpec> = {
  progress: { type: 'string', metavar: 'MODE', help: 'auto (default: bar on a terminal, else lines), bar, lines or none' },
  'progress-interval': { type: 'string', metavar: 'SECONDS', help: 'Seconds between progress lines when not a terminal; default 10' },
  json: { type: 'boolean', help: 'Also print the summary as JSON on stdout' },
};

/** `--brokers` and `--mode`, shared by reencrypt and scan. */
/** Where records come from, for commands that read JSONL files or a Kafka topic (reencrypt, scan). */
export const SOURCE_OPTIONS: Record<string, OptionSpec> = {
  policy: { type: 'string', metavar: 'FILE', help: 'Field policy JSON file (required in fields mode)' },
  in: { type: 'string', metavar: 'FILE', help: 'JSONL input' },
  topic: { type: 'string', metavar: 'TOPIC', help: 'Kafka: the source topic' },
};

export const KAFKA_OPTIONS: Record<string, OptionSpec> = {
  brokers: { type: 'string', metavar: 'LIST', help: 'Kafka: bootstrap brokers, comma-separated' },
  mode: { type: 'string', metavar: 'MODE', help: 'Kafka: fields (default: values are JSON with policy fields) or whole (wireseal-jwe framing)' },
};

/** The progress display `--progress` and `--progress-interval` ask for, on stderr. */
export function progressFor(values: Values, io: Io, label: string): Progress {
  const mode = choice(values, 'progress', ['auto', 'bar', 'lines', 'none'] as const, 'auto');
  return new Progress(io.stderr, mode, io.stderrIsTTY, positiveNumber(values, 'progress-interval', 10) * 1000, label);
}

/** `--brokers HOST:PORT,...` as a list (required). */
export function brokerList(values: Values, command: string): string[] {
  return required(values, 'brokers', command).split(',').map((b) => b.trim()).filter(Boolean);
}

/**
 * Worker threads by default: one core fewer than the machine has (the main
 * thread reads, writes and checkpoints), at most 4; on 1 or 2 cores none.
 * Measured on a shared 2-core machine, two workers beside the main thread
 * cost ~15% more CPU and gained nothing.
 */
function defaultJobs(): number {
  const workers = Math.min(4, availableParallelism() - 1);
  return workers >= 2 ? workers : 1;
}

/** Digest of everything that decides how records are re-sealed (checkpoints refuse to mix settings). */
function settingsDigest(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** What the keys seal under, for the summary and the checkpoint. */
interface KeysInfo {
  keys: ResealKeys;
  /** For the checkpoint: the primary kid, or with a keyring each audience's kind and sealing kid. */
  identity: string;
  /** For the summary line: `primary "k2"`, or `pci "k2", pii "p1"`. */
  under: string;
  /** One key set: its primary. */
  primaryKid?: string;
  /** A keyring: per audience of the policy, the kid new tokens are sealed under (null: none, its tokens are left sealed). */
  primaryKids?: Record<string, string | null>;
  /** Audiences whose tokens cannot be opened here (no keys, or public keys only). */
  unopened: string[];
}

function keysInfo(loaded: FieldKeysLoaded, policy: FieldPolicy): KeysInfo {
  if (loaded.single) {
    const kid = loaded.single.primaryKid;
    return { keys: loaded.single, identity: kid, under: `primary "${kid}"`, primaryKid: kid, unopened: [] };
  }
  const primaryKids: Record<string, string | null> = {};
  const identity: string[] = [];
  const under: string[] = [];
  const unopened: string[] = [];
  for (const audience of policy.audiences) {
    const set = Object.prototype.hasOwnProperty.call(loaded.ring, audience) ? loaded.ring[audience] : undefined;
    const kid = sealingKid(set) ?? null;
    Object.defineProperty(primaryKids, audience, { value: kid, enumerable: true, writable: true, configurable: true });
    identity.push(`${audience}=${set === undefined ? '-' : `${kindOf(set) === 'keyset' ? '' : `${kindOf(set)}:`}${kid ?? '-'}`}`);
    if (!canOpen(set)) unopened.push(audience);
    if (kid !== null) under.push(`${audience} "${kid}"${canOpen(set) ? '' : ' (public key)'}`);
  }
  return { keys: loaded.ring, identity: identity.join(','), under: under.length ? under.join(', ') : 'no audience keys', primaryKids, unopened };
}

interface Finished {
  counters: Counters;
  interrupted: boolean;
  resumed: boolean;
  seconds: number;
  keys: KeysInfo;
  output: string;
  rejects: string;
  checkpoint?: string;
  /** Kafka runs: the client that consumed and produced. */
  client?: string;
}

async function report(io: Io, values: Values, f: Finished): Promise<number> {
  if (f.interrupted) {
    await write(io.stderr, `reencrypt: interrupted after ${f.counters.records} records; ${f.checkpoint ? `checkpoint ${f.checkpoint}: run the same command with --resume to continue` : 'run the same command again to continue'}\n`);
  } else {
    await write(io.stderr, `${summaryLine(f.counters, f.seconds, f.keys.under, f.counters.failed > 0 ? f.rejects : undefined)}\n`);
  }
  if (flag(values, 'json')) {
    const c = f.counters;
    const summary = {
      status: f.interrupted ? 'interrupted' : 'done',
      ...(f.keys.primaryKid !== undefined ? { primaryKid: f.keys.primaryKid } : { primaryKids: f.keys.primaryKids }),
      records: c.records,
      written: c.written,
      failed: c.failed,
      fieldsResealed: c.resealed,
      alreadyCurrent: c.current,
      sealedFromPlaintext: c.fromPlaintext,
      legacyConverted: c.legacy,
      leftSealed: c.leftSealed,
      leftSealedByAudience: c.leftSealedByAudience,
      resealedByKid: c.byKid,
      failedByCode: c.failedByCode,
      resumed: f.resumed,
      seconds: Math.round(f.seconds * 1000) / 1000,
      output: f.output,
      rejects: f.rejects,
      ...(f.client !== undefined ? { client: f.client } : {}),
    };
    await write(io.stdout, `${JSON.stringify(summary)}\n`);
  }
  return f.interrupted ? EXIT.INTERRUPTED : f.counters.failed > 0 ? EXIT.REJECTED : EXIT.OK;
}

async function runJsonl(values: Values, io: Io, keys: KeysInfo, reseal: ResealOptions, progress: Progress, settings: unknown, legacy: LegacySetup | undefined): Promise<number> {
  const input = required(values, 'in', 'reencrypt');
  const output = required(values, 'out', 'reencrypt');
  const rejects = str(values, 'reject') ?? `${output}.rejects.jsonl`;
  const checkpoint = str(values, 'checkpoint') ?? `${output}.checkpoint`;
  const started = Date.now();
  const result = await withStopSignals((stopRequested) =>
    reencryptJsonl({
      input,
      output,
      rejects,
      checkpoint,
      resume: flag(values, 'resume'),
      force: flag(values, 'force'),
      keys: keys.keys,
      primaryKid: keys.identity,
      reseal,
      ...(legacy ? { legacy } : {}),
      settings: settingsDigest(settings),
      progress,
      checkpointRecords: Math.floor(positiveNumber(values, 'checkpoint-every', 10_000)),
      checkpointMs: 1000,
      jobs: Math.floor(positiveNumber(values, 'jobs', defaultJobs())),
      stopRequested,
    }),
  );
  return report(io, values, { ...result, seconds: (Date.now() - started) / 1000, keys, output, rejects, checkpoint });
}

/** The Kafka clients `reencrypt --topic` runs on. */
const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;

/**
 * `--client`, else `WIRESEAL_KAFKA_CLIENT`, else kafkajs.
 * @throws CliError `ERR_USAGE` for any other value, naming the allowed ones
 */
function kafkaClient(values: Values, io: Io): (typeof KAFKA_CLIENTS)[number] {
  if (str(values, 'client') !== undefined) return choice(values, 'client', KAFKA_CLIENTS, 'kafkajs');
  const env = io.env.WIRESEAL_KAFKA_CLIENT;
  if (env === undefined || env === '') return 'kafkajs';
  if (!(KAFKA_CLIENTS as readonly string[]).includes(env)) throw usageError(`WIRESEAL_KAFKA_CLIENT must be one of ${KAFKA_CLIENTS.join(', ')} (got ${JSON.stringify(env.slice(0, 40))})`);
  return env as (typeof KAFKA_CLIENTS)[number];
}

async function runKafka(values: Values, io: Io, keys: KeysInfo, base: ResealOptions, progress: Progress): Promise<number> {
  const topic = required(values, 'topic', 'reencrypt');
  const toTopic = required(values, 'to-topic', 'reencrypt');
  if (topic === toTopic) throw usageError('--to-topic must differ from --topic (records are re-sealed into a new topic)');
  const brokers = brokerList(values, 'reencrypt');
  const rejects = str(values, 'reject') ?? `wireseal-reencrypt-${topic}-to-${toTopic}.rejects.jsonl`;
  const fromContext: Context = Object.freeze({ topic: str(values, 'context-topic') ?? topic });
  const toContext: Context = Object.freeze({ topic: toTopic });
  const mode = choice(values, 'mode', ['fields', 'whole'] as const, 'fields');
  if (mode === 'whole' && keys.primaryKid === undefined) throw usageError('--mode whole takes one key set (--keyset, --keyset-env, --secret-id), not a keyring: whole values have no audiences');
  // Every token moves to the destination topic's context: one that cannot be opened here could not be re-bound.
  if (keys.unopened.length > 0 && fromContext.topic !== toTopic) {
    throw usageError(`records move to topic "${toTopic}", so every token is re-bound to it; the keyring cannot open audience ${keys.unopened.map((a) => `"${a}"`).join(', ')} (give its shared or private keys)`);
  }
  const client = kafkaClient(values, io);
  const { reencryptTopic } = await import('../reencrypt/kafka.ts');
  const started = Date.now();
  const result = await withStopSignals((stopRequested) =>
    reencryptTopic({
      brokers,
      topic,
      toTopic,
      group: str(values, 'group') ?? `wireseal-reencrypt-${topic}-to-${toTopic}`,
      mode,
      keys: keys.keys,
      reseal: { ...base, fromContext, toContext },
      rejects,
      progress,
      stopRequested,
      client,
    }),
  );
  return report(io, values, { ...result, seconds: (Date.now() - started) / 1000, keys, output: toTopic, rejects, client });
}

/** `wireseal reencrypt`. */
export const reencrypt: CommandSpec = {
  name: 'reencrypt',
  summary: 'Re-seal every policy field of a JSONL file (or a Kafka topic into a new topic) under the current primary key.',
  usage: [
    'reencrypt --policy FILE --in FILE --out FILE [key source | keyring] [--context K=V]... [--reject FILE] [--checkpoint FILE] [--resume | --force]',
    'reencrypt --policy FILE --topic SRC --to-topic DST --brokers HOST:PORT[,...] [key source] [--mode fields|whole] [--group ID] [--reject FILE] [--client kafkajs|platformatic]',
  ],
  description: [
    'Per field: a token under the primary kid is verified and left byte-identical ("already current"); a token under',
    'an older kid is opened and sealed again ("re-sealed"); plaintext is sealed ("sealed from plaintext"), or with',
    '--strict fails the record (ERR_PLAINTEXT_FIELD); with --legacy-key-env, legacy AES-CBC values are decrypted and',
    'sealed ("legacy converted"). A record that fails goes to the reject file with its error code.',
    'With a keyring (--keyring, --audience; required for a policy with audiences) each audience is re-sealed under its',
    'own primary (or first public key); tokens of an audience it cannot open (no keys, public keys only) are left',
    'byte-identical ("left sealed"), never a failure; plaintext of an audience it lacks fails with ERR_AUDIENCE_MISSING.',
    'Output keeps input order; only changed values are rewritten, the rest of each line keeps its bytes.',
    '',
    'JSONL: a checkpoint (default OUT.checkpoint) is written after every batch; after an interruption run the same',
    'command with --resume: the output is cut back to the checkpoint and continues, with no record lost or repeated.',
    'Kafka: consume SRC from the group\'s committed offsets up to the end offsets seen at start; produce to DST in',
    'transactions that also commit the offsets (exactly once: run again to resume). Context is {topic} as @wireseal/kafka binds it.',
    'The client is kafkajs, or @platformatic/kafka with --client platformatic (or WIRESEAL_KAFKA_CLIENT; Node 22.22+ / 24.6+),',
    'with the same transactions, range and reject file.',
    '',
    'Progress goes to stderr: a bar on a terminal, a line every --progress-interval seconds otherwise; then a summary.',
    'Exit 0: done; 4: done, but records were rejected; 130: interrupted (resumable).',
  ].join('\n'),
  options: {
    ...SOURCE_OPTIONS,
    out: { type: 'string', metavar: 'FILE', help: 'JSONL output (mode 0600; refused if it exists, unless --force or --resume)' },
    'to-topic': { type: 'string', metavar: 'TOPIC', help: 'Kafka: destination topic (created with the source\'s partition count if missing)' },
    ...KAFKA_OPTIONS,
    group: { type: 'string', metavar: 'ID', help: 'Kafka: consumer group (default wireseal-reencrypt-SRC-to-DST); its offsets are the resume point' },
    'context-topic': { type: 'string', metavar: 'NAME', help: 'Kafka: topic name the source tokens are bound to, if not SRC (mirrored topics)' },
    client: { type: 'string', metavar: 'NAME', help: 'Kafka: kafkajs (default) or platformatic (@platformatic/kafka, Node 22.22+ / 24.6+); default WIRESEAL_KAFKA_CLIENT' },
    ...KEY_SOURCE_OPTIONS,
    ...KEYRING_OPTIONS,
    ...CONTEXT_OPTION,
    strict: { type: 'boolean', help: 'Fail records with plaintext at a policy path instead of sealing it' },
    'legacy-key-env': { type: 'string', metavar: 'VAR', help: 'Convert legacy AES-CBC values at policy paths, with the key in this environment variable' },
    'legacy-key-encoding': { type: 'string', metavar: 'ENC', help: 'How that key is written: utf8 (default: its UTF-8 bytes are the key), base64 or hex' },
    'legacy-parse': { type: 'string', metavar: 'MODE', help: 'Legacy plaintext is the value as a string (default), or json to JSON.parse it' },
    'legacy-path': { type: 'string', multiple: true, metavar: 'PATH', help: 'Policy path legacy senders encrypt (default: every policy path)' },
    reject: { type: 'string', metavar: 'FILE', help: 'Reject file (JSONL: line, code, message, record); default OUT.rejects.jsonl' },
    checkpoint: { type: 'string', metavar: 'FILE', help: 'Checkpoint file; default OUT.checkpoint (removed when the run completes)' },
    'checkpoint-every': { type: 'string', metavar: 'N', help: 'Checkpoint after N records (and at least every second); default 10000' },
    resume: { type: 'boolean', help: 'Continue an interrupted run from its checkpoint' },
    jobs: { type: 'string', metavar: 'N', help: 'JSONL: worker threads that re-seal (default: CPUs - 1, at most 4; 1 = none, in the main thread)' },
    force: { type: 'boolean', short: 'f', help: 'Start over: overwrite the output and reject files, discard a checkpoint' },
    ...PROGRESS_OPTIONS,
  },
  examples: [
    'wireseal reencrypt --policy policy.json --keyset keys.json --in events.jsonl --out events.v2.jsonl',
    'wireseal reencrypt --policy policy.json --keyset keys.json --in events.jsonl --out events.v2.jsonl --resume',
    'wireseal reencrypt --policy audiences.json --keyring keyring.json --in events.jsonl --out events.v2.jsonl',
    'wireseal reencrypt --policy policy.json --secret-id prod/wireseal --topic payments --to-topic payments.v2 --brokers kafka:9092',
  ],
  async run({ values, io }) {
    const kafka = str(values, 'topic') !== undefined || str(values, 'to-topic') !== undefined || str(values, 'brokers') !== undefined;
    const file = str(values, 'in') !== undefined || str(values, 'out') !== undefined;
    if (kafka && file) throw usageError('give either --in/--out (JSONL) or --topic/--to-topic/--brokers (Kafka), not both');
    if (!kafka && !file) throw usageError('reencrypt needs --in FILE --out FILE, or --topic SRC --to-topic DST --brokers LIST (see: wireseal reencrypt --help)');
    const policy = await readPolicy(required(values, 'policy', 'reencrypt'));
    const context = parseContext(list(values, 'context'));
    const progress = progressFor(values, io, 'reencrypt');
    const strict = flag(values, 'strict');
    const legacyEnv = str(values, 'legacy-key-env');
    const legacy =
      legacyEnv === undefined
        ? undefined
        : legacySetupFromEnv(
            io.env,
            legacyEnv,
            choice(values, 'legacy-key-encoding', ['utf8', 'base64', 'hex'] as const, 'utf8'),
            choice(values, 'legacy-parse', ['string', 'json'] as const, 'string'),
            list(values, 'legacy-path'),
          );
    if (!legacy) {
      for (const o of ['legacy-key-encoding', 'legacy-parse', 'legacy-path']) if (values[o] !== undefined) throw usageError(`--${o} applies only with --legacy-key-env`);
    }
    const keys = keysInfo(await loadFieldKeys(values, io, 'reencrypt', policy), policy);
    const base: ResealOptions = { policy, strict, ...(context ? { fromContext: context } : {}), ...(legacy ? { legacy: [legacyReader(legacy)] } : {}) };
    if (kafka) {
      for (const o of ['checkpoint', 'checkpoint-every', 'resume', 'jobs']) {
        if (values[o] !== undefined) throw usageError(`--${o} applies to JSONL files; a Kafka run resumes from its consumer group's committed offsets`);
      }
      if (context) throw usageError('--context does not apply with --topic: records are bound to {topic} as @wireseal/kafka does (see --context-topic)');
      return runKafka(values, io, keys, base, progress);
    }
    for (const o of ['group', 'mode', 'context-topic', 'client']) if (values[o] !== undefined) throw usageError(`--${o} applies only with --topic`);
    const legacySettings = legacy ? { parse: legacy.parse, paths: legacy.paths ?? null } : null;
    return runJsonl(values, io, keys, base, progress, { policy: policy.toJSON(), context: context ?? null, strict, legacy: legacySettings }, legacy);
  },
};
