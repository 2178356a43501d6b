/**
 * Reading a Kafka topic up to the end offsets seen at start: what
 * `reencrypt --topic` (from its group's committed offsets, committing in its
 * transactions) and `scan --topic` (from the beginning, committing nothing)
 * share. Type-only imports of kafkajs: callers load it (see {@link connectKafka}).
 */
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { ioError } from '../errors.ts';

/**
 * Retries an admin call while Kafka answers with a retriable error (e.g. the
 * group coordinator still loading right after a broker start), up to ~30 s.
 */
export async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { retriable?: unknown }).retriable !== true || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** A kafkajs client that never logs, and its admin, connected. @throws CliError `ERR_IO` when the brokers do not answer */
export async function connectKafka(brokers: string[], clientId: string): Promise<{ kafka: Kafka; admin: Admin }> {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    await admin.disconnect().catch(() => undefined);
    throw ioError(`cannot connect to Kafka at ${brokers.join(',')}: ${(err as Error).message}`);
  }
  return { kafka, admin };
}

/** What to read of a topic: per partition, from `next` up to `ends` (exclusive). */
export interface TopicRange {
  ends: Map<number, bigint>;
  /** Where each partition continues; moved past each batch handled. */
  next: Map<number, bigint>;
  /** Some partition starts from a committed offset of the group. */
  resumed: boolean;
  /** Messages (offsets) in the range at start. */
  total: bigint;
  /** Offsets consumed so far. */
  done: bigint;
}

/** The range to read: up to the end offsets now, from `group`'s committed offsets (the log start where it has none), or from the log start without a group. */
export async function topicRange(admin: Admin, topic: string, group?: string): Promise<TopicRange> {
  const ends = new Map<number, bigint>();
  const next = new Map<number, bigint>();
  let resumed = false;
  const offsets = await retrying(() => admin.fetchTopicOffsets(topic));
  for (const o of offsets) ends.set(o.partition, BigInt(o.high));
  const lows = new Map(offsets.map((o) => [o.partition, BigInt(o.low)] as const));
  if (group !== undefined) {
    const committed = await retrying(() => admin.fetchOffsets({ groupId: group, topics: [topic] }));
    for (const p of committed[0]?.partitions ?? []) {
      const c = BigInt(p.offset);
      if (c >= 0n) resumed = true;
      next.set(p.partition, c >= 0n ? c : lows.get(p.partition) ?? 0n);
    }
  }
  for (const p of ends.keys()) if (!next.has(p)) next.set(p, lows.get(p) ?? 0n);
  let total = 0n;
  for (const [p, end] of ends) total += end > next.get(p)! ? end - next.get(p)! : 0n;
  return { ends, next, resumed, total, done: 0n };
}

/** Partitions with offsets left to read. */
export function pendingPartitions(range: TopicRange): number[] {
  return [...range.ends.keys()].filter((p) => range.next.get(p)! < range.ends.get(p)!);
}

/** A run of {@link consumeRange}. */
export interface RangeRead {
  /** Connected; subscribed and run here, never committing on its own (offsets are `handle`'s business). */
  consumer: Consumer;
  topic: string;
  range: TopicRange;
  /**
   * The messages of one batch that fall in the range, in offset order (never
   * none). When it returns, the partition continues after the last of them;
   * when it throws, the read stops and the error is rethrown.
   */
  handle(partition: number, messages: KafkaMessage[]): Promise<void>;
  /** After each handled batch (for progress). */
  afterBatch?: () => void;
  /** Polled: true stops the read (interrupted). */
  stopRequested: () => boolean;
}

/**
 * Reads `range` of the topic with `consumer`, batch by batch, until every
 * partition reaches its end offset or a stop is requested.
 * @returns true when interrupted before the end
 */
export async function consumeRange(read: RangeRead): Promise<boolean> {
  const { consumer, topic, range } = read;
  if (pendingPartitions(range).length === 0) return false;
  let interrupted = false;
  let fatal: unknown;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const maybeFinish = (): void => {
    if (pendingPartitions(range).length === 0 || interrupted || fatal !== undefined) finish();
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    // Batches of only control records (transaction markers) never reach eachBatch.
    const p = e.payload.partition;
    const end = range.ends.get(p) ?? 0n;
    if (e.payload.topic === topic && e.payload.batchSize === 0 && BigInt(e.payload.lastOffset) + 1n >= end && range.next.get(p)! < end) {
      range.done += end - range.next.get(p)!;
      range.next.set(p, end);
      maybeFinish();
    }
  });
  // A crash kafkajs does not restart from (e.g. INCONSISTENT_GROUP_PROTOCOL: a member of another client still
  // in the group) stops the read with its error; the read used to wait for ever.
  consumer.on(consumer.events.CRASH, (e) => {
    if (e.payload.restart) return;
    fatal ??= e.payload.error;
    maybeFinish();
  });
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (fatal !== undefined || interrupted || !isRunning() || isStale()) return;
      if (read.stopRequested()) {
        interrupted = true;
        maybeFinish();
        return;
      }
      const p = batch.partition;
      const end = range.ends.get(p) ?? 0n;
      const from = range.next.get(p)!;
      const messages = batch.messages.filter((m) => {
        const offset = BigInt(m.offset);
        return offset >= from && offset < end;
      });
      // Past the batch's last record, control records (transaction markers) and aborted ones included:
      // kafkajs fetches on from there, so a partition ending in a marker is done here.
      const last = BigInt(batch.lastOffset());
      const through = last + 1n < end ? last + 1n : end;
      try {
        if (messages.length > 0) {
          await read.handle(p, messages);
          resolveOffset(messages[messages.length - 1]!.offset);
        }
        if (through > from) {
          range.done += through - from;
          range.next.set(p, through);
          read.afterBatch?.();
        }
        await heartbeat();
      } catch (err) {
        fatal = err;
      }
      if (range.next.get(p)! >= end) consumer.pause([{ topic, partitions: [p] }]);
      maybeFinish();
    },
  });
  const poll = setInterval(() => {
    if (read.stopRequested()) {
      interrupted = true;
      maybeFinish();
    }
  }, 200);
  try {
    await finished;
  } finally {
    clearInterval(poll);
  }
  if (fatal !== undefined) throw fatal;
  return interrupted || pendingPartitions(range).length > 0;
}
