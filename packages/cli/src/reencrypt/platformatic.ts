/**
 * `reencrypt --topic --client platformatic`: the consume-transform-produce
 * loop of {@link consumeRange} on `@platformatic/kafka`, with its own
 * transactions. Only the client part differs from kafkajs: the range (end
 * offsets captured at start, the group's committed offsets), the per-record
 * transform and the reject file are shared (see `./kafka.ts`).
 *
 * Per partition batch, one transaction: the re-sealed records go to the same
 * partition of the destination, and the consumer offset past the batch's last
 * record is added to the transaction (`addConsumer` + `addOffset`), so both
 * commit together or not at all. A record that cannot be re-sealed is in the
 * (synced) reject file before its offset is committed; any other error aborts
 * the transaction and stops the run with nothing of that batch committed.
 *
 * `@platformatic/kafka` is loaded here only, by dynamic import (kafkajs users
 * never load it). It needs Node 22.22+ or 24.6+.
 */
import type { Consumer, Message as PlMessage, MessageToProduce, MessagesStream, Producer } from '@platformatic/kafka';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { usageError } from '../errors.ts';
import type { TopicRange } from './consume.ts';
import { pendingPartitions } from './consume.ts';
import type { TopicJob } from './kafka.ts';

type PlatformaticModule = typeof import('@platformatic/kafka');

/** The Node versions `@platformatic/kafka` 2.12 supports (its `engines`). */
export const PLATFORMATIC_NODE = '>= 22.22 or >= 24.6';

/** True when this Node is one `@platformatic/kafka` supports. */
export function platformaticNodeOk(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 24 || (major === 24 && minor >= 6) || (major === 22 && minor >= 22) || major === 23;
}

let loading: Promise<PlatformaticModule> | undefined;

/**
 * Loads `@platformatic/kafka` (once).
 * @throws CliError `ERR_USAGE` when it cannot be loaded, naming the Node versions it needs when this one is older
 */
export function loadPlatformatic(): Promise<PlatformaticModule> {
  loading ??= import('@platformatic/kafka').catch((err: unknown) => {
    loading = undefined;
    const why = platformaticNodeOk() ? '' : ` (it needs Node ${PLATFORMATIC_NODE}; this is Node ${process.versions.node}: use --client kafkajs or a newer Node)`;
    throw usageError(`--client platformatic: cannot load @platformatic/kafka${why}: ${(err as Error).message}`);
  });
  return loading;
}

/** A platformatic record as the shared transform reads it: kafkajs's `KafkaMessage` shape (repeated header names grouped). */
function asKafkaMessage(m: PlMessage<Buffer, Buffer, Buffer, Buffer>): KafkaMessage {
  const headers: IHeaders = Object.create(null) as IHeaders;
  for (const [k, v] of m.headerEntries ?? m.headers) {
    const name = k.toString('utf8');
    const prev = headers[name];
    headers[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev as Buffer, v];
  }
  return { key: m.key ?? null, value: m.value ?? null, headers, offset: m.offset.toString(), timestamp: m.timestamp.toString(), attributes: 0 } as KafkaMessage;
}

const bytes = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

/** A transformed record (kafkajs `Message`) as platformatic produces it: one header entry per value, in order. */
function toProduce(topic: string, m: Message): MessageToProduce<Buffer, Buffer, Buffer, Buffer> {
  const out: MessageToProduce<Buffer, Buffer, Buffer, Buffer> = { topic };
  if (m.key !== undefined && m.key !== null) out.key = bytes(m.key);
  out.value = (m.value === null || m.value === undefined ? null : bytes(m.value)) as Buffer; // null: a tombstone (length -1)
  if (m.partition !== undefined) out.partition = m.partition;
  if (m.timestamp !== undefined) out.timestamp = BigInt(m.timestamp);
  if (m.headers) {
    // Distinct Buffer keys, so a repeated name is written once per value.
    const headers = new Map<Buffer, Buffer>();
    for (const [k, v] of Object.entries(m.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) headers.set(Buffer.from(k, 'utf8'), bytes(one as Buffer | string));
    }
    out.headers = headers;
  }
  return out;
}

/** A run of {@link consumeRangePlatformatic}. */
export interface PlatformaticRangeRead {
  job: TopicJob;
  range: TopicRange;
  transactionalId: string;
  /** The shared per-record transform of one partition batch (rejects written and synced when it returns). */
  transform(partition: number, messages: KafkaMessage[]): Promise<Message[]>;
  afterBatch?: () => void;
}

/**
 * "No producer id yet" for InitProducerId (KIP-360). `@platformatic/kafka` 2.12.1 sends 0 / 0 when none is
 * given, which the coordinator takes as an expected producer 0 and answers PRODUCER_FENCED for any
 * transactional id that already has another producer id: every resume after an earlier run. Only the first
 * `beginTransaction` of a producer sends it.
 */
const NO_PRODUCER = { producerId: -1n, producerEpoch: -1 };

/** Records read at most before their transactions (one per partition) are committed. */
const MAX_BATCH = 500;

/**
 * Reads the range with a platformatic consumer in the job's group, one
 * transaction per partition batch, until every partition reaches its end
 * offset or a stop is requested.
 * @returns true when interrupted before the end
 */
export async function consumeRangePlatformatic(read: PlatformaticRangeRead): Promise<boolean> {
  const { job, range } = read;
  const { Consumer, Producer } = await loadPlatformatic();
  const clientId = 'wireseal-reencrypt';
  // Retries: right after a crashed run, InitProducerId answers CONCURRENT_TRANSACTIONS until its open transaction is aborted.
  const producer: Producer<Buffer, Buffer, Buffer, Buffer> = new Producer({ clientId, bootstrapBrokers: job.brokers, transactionalId: read.transactionalId, idempotent: true, acks: -1, retries: 10 });
  // kafkajs's group timeouts (platformatic's own are 60 s / 102 s): the member of a run that crashed leaves the group as soon.
  const consumer: Consumer<Buffer, Buffer, Buffer, Buffer> = new Consumer({ clientId, groupId: job.group, bootstrapBrokers: job.brokers, maxWaitTime: 500, sessionTimeout: 30_000, rebalanceTimeout: 60_000, heartbeatInterval: 3000 });
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  try {
    // The group's committed offsets are where the range starts (the log start where it has none); read_committed is platformatic's default.
    stream = await consumer.consume({ topics: [job.topic], autocommit: false, mode: 'committed', fallbackMode: 'earliest' });
    return await readRange(read, producer, consumer, stream);
  } finally {
    await stream?.close().catch(() => undefined);
    await consumer.close(true).catch(() => undefined);
    await producer.close().catch(() => undefined);
  }
}

async function readRange(read: PlatformaticRangeRead, producer: Producer<Buffer, Buffer, Buffer, Buffer>, consumer: Consumer<Buffer, Buffer, Buffer, Buffer>, stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<boolean> {
  const { job, range } = read;
  const topic = job.topic;
  let failure: Error | undefined;
  let ended = false;
  stream.on('error', (err: Error) => (failure ??= err));
  stream.on('close', () => (ended = true));

  /** Partition p is read through `through` (exclusive): every record before it was handled. */
  const advance = (p: number, through: bigint): void => {
    const end = range.ends.get(p)!;
    const next = range.next.get(p)!;
    const to = through < end ? through : end;
    if (to > next) {
      range.done += to - next;
      range.next.set(p, to);
    }
  };

  /**
   * Called holding no record: partitions whose fetch position reached their end offset, with nothing left
   * in the stream's buffer, are done, trailing control records (transaction markers) and aborted ones included.
   * platformatic pushes a fetch's records and moves its fetch position in the same synchronous step.
   */
  const settleFetched = (): void => {
    if (stream.readableLength > 0) return;
    for (const p of pendingPartitions(range)) {
      const fetched = stream.offsetsToFetch.get(`${topic}:${p}`);
      if (fetched !== undefined && fetched >= range.ends.get(p)!) advance(p, fetched);
    }
  };

  /** Until the stream has records, a fetch came back, it fails or closes, or 200 ms passed (stop requests are polled). */
  const wake = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        stream.off('readable', done);
        stream.off('fetch', onFetch);
        stream.off('error', done);
        stream.off('close', done);
        resolve();
      };
      const onFetch = (): void => void setImmediate(done); // 'fetch' comes before the fetch's records are pushed
      const timer = setTimeout(done, 200);
      stream.on('readable', done);
      stream.on('fetch', onFetch);
      stream.on('error', done);
      stream.on('close', done);
    });

  for (;;) {
    if (failure) throw failure;
    if (job.stopRequested()) return true;
    settleFetched();
    if (pendingPartitions(range).length === 0) return false;
    const batch: PlMessage<Buffer, Buffer, Buffer, Buffer>[] = [];
    for (let m: PlMessage<Buffer, Buffer, Buffer, Buffer> | null; batch.length < MAX_BATCH && (m = stream.read() as typeof m) !== null; ) batch.push(m);
    if (batch.length === 0) {
      if (ended) throw failure ?? new Error('the consumer stream closed before the end offsets');
      await wake();
      continue;
    }
    const byPartition = new Map<number, PlMessage<Buffer, Buffer, Buffer, Buffer>[]>();
    const seen = new Map<number, bigint>();
    for (const m of batch) {
      if (m.topic !== topic) continue;
      const p = m.partition;
      seen.set(p, (seen.get(p) ?? -1n) > m.offset ? seen.get(p)! : m.offset);
      const end = range.ends.get(p);
      if (end === undefined || m.offset < range.next.get(p)! || m.offset >= end) continue; // outside the range: never produced, never committed
      let list = byPartition.get(p);
      if (!list) byPartition.set(p, (list = []));
      list.push(m);
    }
    for (const [p, messages] of byPartition) {
      const out = await read.transform(p, messages.map(asKafkaMessage));
      const last = messages[messages.length - 1]!;
      const tx = await producer.beginTransaction(NO_PRODUCER);
      try {
        if (out.length) await tx.send({ messages: out.map((m) => toProduce(job.toTopic, m)) });
        await tx.addConsumer(consumer);
        await tx.addOffset(last); // commits last.offset + 1 for the group, in this transaction
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
      advance(p, last.offset + 1n);
    }
    // A record at or past a partition's end offset was read: everything before it was handled.
    for (const [p, offset] of seen) if (offset + 1n >= range.ends.get(p)!) advance(p, range.ends.get(p)!);
    read.afterBatch?.();
  }
}
