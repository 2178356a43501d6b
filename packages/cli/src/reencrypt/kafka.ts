/**
 * Re-encrypting a Kafka topic into a new topic: consume the source from the
 * consumer group's committed offsets up to the end offsets seen at start,
 * re-seal each record (`wsc` moves from the source topic to the destination),
 * and produce to the same partition of the destination in a transaction that
 * also commits the consumed offsets. Exactly once: an interrupted run resumes
 * from the committed offsets and the destination (read_committed) holds each
 * record once.
 */
import * as fs from 'node:fs/promises';
import { KeySet, WiresealError, openParts, sealParts } from '@wireseal/core';
import { PlaintextFieldError, TokenMalformedError } from '@wireseal/core/errors';
import type { Admin, Consumer, IHeaders, KafkaMessage, Message, Producer } from 'kafkajs';
import { CliError, ioError, usageError } from '../errors.ts';
import { connectKafka, consumeRange, pendingPartitions, retrying, topicRange } from './consume.ts';
import type { Progress } from './progress.ts';
import type { ResealKeys, ResealOptions, ResealResult } from './record.ts';
import { resealDocument } from './record.ts';
import type { Counters } from './summary.ts';
import { addFailure, addResult, newCounters } from './summary.ts';
import { HEADER_JWE, HEADER_MARKER, frameParts, headerText as kafkaHeaderText, stripFraming, unframeParts } from '@wireseal/kafka';

/** A topic re-encryption job. */
export interface TopicJob {
  brokers: string[];
  topic: string;
  toTopic: string;
  group: string;
  /** `fields`: values are JSON documents; `whole`: values are framed whole tokens (`wireseal-jwe`). */
  mode: 'fields' | 'whole';
  /** One key set, or (`fields` mode) a keyring. */
  keys: ResealKeys;
  /** Must carry `fromContext` and `toContext`. */
  reseal: ResealOptions;
  rejects: string;
  progress: Progress;
  stopRequested: () => boolean;
  /** The Kafka client that consumes and produces (topics, end and committed offsets are read with kafkajs's admin either way). */
  client: KafkaClientName;
}

/** The Kafka clients `reencrypt --topic` runs on. */
export type KafkaClientName = 'kafkajs' | 'platformatic';

/** One transactional id per source and destination, whatever the client: a new run of either fences an older one. */
export function transactionalIdOf(job: Pick<TopicJob, 'topic' | 'toTopic'>): string {
  return `wireseal-reencrypt.${job.topic}.${job.toTopic}`;
}

function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const v = kafkaHeaderText(headers, name);
  if (v === null) throw new TokenMalformedError(`header "${name}" is repeated or not text`);
  return v;
}

/** The record's own headers (framing dropped) with the wireseal marker, and the frame when given. */
function sealedHeaders(headers: IHeaders | undefined, frame?: string): IHeaders {
  const out = stripFraming(headers);
  out[HEADER_MARKER] = '1';
  if (frame !== undefined) out[HEADER_JWE] = frame;
  return out;
}

const EMPTY: ResealResult = { text: '', changed: false, resealed: 0, current: 0, fromPlaintext: 0, legacy: 0, leftSealed: 0, fromKids: [], leftAudiences: [] };

/** Re-seals one whole-value record. */
function resealWhole(job: TopicJob, m: KafkaMessage): { value: Buffer; headers: IHeaders; result: ResealResult } {
  const value = m.value ?? Buffer.alloc(0);
  const frame = headerText(m.headers, HEADER_JWE);
  const from = job.reseal.fromContext;
  const to = job.reseal.toContext ?? from;
  let plaintext: Uint8Array;
  let cty: string | undefined;
  let iat: number | undefined;
  let alg: 'A256KW' | 'dir' = 'A256KW';
  const result: ResealResult = { ...EMPTY, fromKids: [], leftAudiences: [] };
  const keys = job.keys;
  if (!(keys instanceof KeySet)) throw new TypeError('whole-value records take one key set, not a keyring');
  if (frame === undefined) {
    if (job.reseal.strict) throw new PlaintextFieldError('$', 'record has no wireseal-jwe header: plaintext where a whole token belongs (strict mode)');
    plaintext = value;
    result.fromPlaintext = 1;
  } else {
    const opened = openParts(keys, unframeParts(frame, value), from ? { context: from } : {});
    plaintext = opened.plaintext;
    cty = opened.header.cty;
    iat = opened.header.iat;
    if (opened.header.alg === 'dir') alg = 'dir';
    result.resealed = 1;
    result.fromKids.push(String(opened.header.kid));
  }
  const split = frameParts(sealParts(keys, plaintext, { alg, ...(cty !== undefined ? { cty } : {}), ...(iat !== undefined ? { iat } : {}), ...(to ? { context: to } : {}) }));
  result.changed = true;
  return { value: split.value, headers: sealedHeaders(m.headers, split.frame), result };
}

/** Re-seals one field-mode record. */
function resealFields(job: TopicJob, m: KafkaMessage): { value: Buffer | null; headers: IHeaders; result: ResealResult } {
  if (m.value === null) return { value: null, headers: m.headers ?? {}, result: { ...EMPTY, fromKids: [], leftAudiences: [] } }; // tombstone: headers as they were
  const text = m.value.toString('utf8');
  const result = resealDocument(job.keys, text, job.reseal);
  return { value: result.changed ? Buffer.from(result.text, 'utf8') : m.value, headers: sealedHeaders(m.headers), result };
}

/**
 * The per-record transform, the same for every client: re-seals the
 * messages of one partition batch (records as kafkajs hands them over), and
 * appends the ones that cannot be re-sealed to the reject file, synced before
 * this returns. The caller then produces what it returns and commits the
 * batch's offsets in one transaction: every record of the batch is by then
 * either re-sealed or in the reject file. Errors other than a record's own
 * (`WiresealError`, not JSON) are thrown and nothing is committed.
 */
export async function transformBatch(job: TopicJob, p: number, messages: KafkaMessage[], counters: Counters, rej: fs.FileHandle): Promise<Message[]> {
  const out: Message[] = [];
  const rejected: string[] = [];
  for (const m of messages) {
    try {
      const r = job.mode === 'whole' ? resealWhole(job, m) : resealFields(job, m);
      out.push({ key: m.key, value: r.value, headers: r.headers, partition: p, timestamp: m.timestamp });
      addResult(counters, r.result);
    } catch (err) {
      const code = err instanceof WiresealError || (err instanceof CliError && err.code === 'ERR_INPUT_INVALID') ? err.code : undefined;
      if (code === undefined) throw err;
      rejected.push(`${JSON.stringify({ topic: job.topic, partition: p, offset: m.offset, code, message: (err as Error).message, key: m.key?.toString('base64') ?? null, value: m.value?.toString('base64') ?? null })}\n`);
      addFailure(counters, code);
    }
  }
  if (rejected.length) {
    await rej.write(rejected.join(''));
    await rej.sync();
  }
  return out;
}

async function ensureTopics(admin: Admin, job: TopicJob): Promise<number> {
  const existing = new Set(await admin.listTopics());
  if (!existing.has(job.topic)) throw ioError(`source topic "${job.topic}" does not exist`);
  const meta = await admin.fetchTopicMetadata({ topics: [job.topic] });
  const partitions = meta.topics[0]?.partitions.length ?? 0;
  if (!existing.has(job.toTopic)) {
    await admin.createTopics({ topics: [{ topic: job.toTopic, numPartitions: partitions }], waitForLeaders: true });
  } else {
    const dst = await admin.fetchTopicMetadata({ topics: [job.toTopic] });
    const n = dst.topics[0]?.partitions.length ?? 0;
    if (n < partitions) throw usageError(`destination topic "${job.toTopic}" has ${n} partitions, fewer than the source's ${partitions}`);
  }
  return partitions;
}

/** An error's message, with the protocol error ids platformatic nests in `errors` (e.g. `CONCURRENT_TRANSACTIONS`). */
function kafkaErrorText(err: unknown): string {
  const message = (err as Error).message.trim();
  const nested = ((err as { errors?: unknown }).errors ?? []) as { apiId?: unknown; message?: unknown }[];
  const ids = Array.isArray(nested) ? nested.map((e) => (typeof e?.apiId === 'string' ? e.apiId : typeof e?.message === 'string' ? e.message : '')).filter(Boolean) : [];
  const text = ids.length ? `${message} (${[...new Set(ids)].join(', ')})` : message;
  return /INCONSISTENT_GROUP_PROTOCOL|incompatible with those of existing members/i.test(text)
    ? `${text}; a member of the other Kafka client (a crashed run?) is still in the consumer group: run again once its session expired (30 s)`
    : text;
}

/** Runs the job. */
export async function reencryptTopic(job: TopicJob): Promise<{ counters: Counters; interrupted: boolean; resumed: boolean }> {
  // Fails before any connection when @platformatic/kafka cannot be loaded (an older Node).
  if (job.client === 'platformatic') await (await import('./platformatic.ts')).loadPlatformatic();
  const { kafka, admin } = await connectKafka(job.brokers, 'wireseal-reencrypt');
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  const counters = newCounters();
  let interrupted = false;
  let resumed = false;
  let rej: fs.FileHandle | undefined;
  try {
    await retrying(() => ensureTopics(admin, job));
    const range = await topicRange(admin, job.topic, job.group);
    resumed = range.resumed;
    const progressState = () => ({ records: counters.records, done: Number(range.done), total: Number(range.total), failed: counters.failed });
    job.progress.begin(progressState());

    if (pendingPartitions(range).length > 0) {
      rej = await fs.open(job.rejects, 'a', 0o600).catch((err: unknown) => {
        throw ioError(`cannot open ${job.rejects}`, err);
      });
      const transactionalId = transactionalIdOf(job);
      if (job.client === 'platformatic') {
        const { consumeRangePlatformatic } = await import('./platformatic.ts');
        interrupted = await consumeRangePlatformatic({ job, range, transactionalId, transform: (p, messages) => transformBatch(job, p, messages, counters, rej!), afterBatch: () => job.progress.update(progressState()) });
        return { counters, interrupted, resumed };
      }
      producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      consumer = kafka.consumer({ groupId: job.group, allowAutoTopicCreation: false });
      await consumer.connect();
      const handle = async (p: number, messages: KafkaMessage[]): Promise<void> => {
        const out = await transformBatch(job, p, messages, counters, rej!);
        const last = BigInt(messages[messages.length - 1]!.offset);
        const tx = await producer!.transaction();
        try {
          if (out.length) await tx.send({ topic: job.toTopic, messages: out });
          await tx.sendOffsets({ consumerGroupId: job.group, topics: [{ topic: job.topic, partitions: [{ partition: p, offset: String(last + 1n) }] }] });
          await tx.commit();
        } catch (err) {
          await tx.abort().catch(() => undefined);
          throw err;
        }
      };
      interrupted = await consumeRange({ consumer, topic: job.topic, range, handle, afterBatch: () => job.progress.update(progressState()), stopRequested: job.stopRequested });
    }
    return { counters, interrupted, resumed };
  } catch (err) {
    if (err instanceof CliError || err instanceof WiresealError) throw err;
    throw ioError(`Kafka re-encryption failed: ${kafkaErrorText(err)}`);
  } finally {
    job.progress.end();
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await rej?.close().catch(() => undefined);
  }
}
