/**
 * @wireseal/kafka/platformatic: the same codec on
 * [`@platformatic/kafka`](https://github.com/platformatic/kafka) (2.12+,
 * Node 22.22+ or 24.6+). A thin adapter: records are converted to and from the
 * codec's record shape (the one kafkajs uses), so framing, topic binding,
 * keyrings, failure policies and dead-letter records are exactly those of the
 * kafkajs wrappers, and the bytes on the wire are the same.
 *
 * Only types are imported from `@platformatic/kafka`: this module never loads
 * it. You create the producer, consumer and stream; wireseal seals, opens,
 * dead-letters and commits.
 *
 * @module
 */
import { PolicyInvalidError } from '@wireseal/core/errors';
import type { Message, MessagesStream, MessageToProduce, ProduceResult, Producer, SendOptions } from '@platformatic/kafka';
import type { ConsumedRecord, JsonDocument, KafkaCodec, OpenedMessage, ProducedRecord, RecordHeaders, SealableMessage } from './codec.ts';
import type { DeadLetterSend, FailedRecord, FailurePolicy } from './dead-letter.ts';
import { deadLetterTopic, failurePolicyOf, sendDeadLetters } from './dead-letter.ts';

/** A `@platformatic/kafka` producer with the default (Buffer) serializers, as wireseal uses it: only `send`. */
export type PlatformaticSender = Pick<Producer<Buffer, Buffer, Buffer, Buffer>, 'send'>;

/** A message to seal and send with `@platformatic/kafka`: its `MessageToProduce`, whose value may also be text or a JSON document. */
export interface SealablePlatformaticMessage {
  /** Destination topic: the topic the value is sealed for. */
  topic: string;
  /** The record key (text is sent as UTF-8). */
  key?: Buffer | string | null;
  /** Bytes or text (JSON text in field mode), a JSON document, or `null` (a tombstone: never sealed). */
  value: Buffer | string | JsonDocument | null;
  /** Headers: an object (a repeated name as an array) or a `Map`. Text is sent as UTF-8. */
  headers?: RecordHeaders | Map<Buffer | string, Buffer | string>;
  /** Target partition; otherwise the producer's partitioner picks one. */
  partition?: number;
  /** Record timestamp in milliseconds; otherwise the producer's clock. */
  timestamp?: bigint;
}

/** `@platformatic/kafka` send options whose messages are sealed per topic. */
export type SealingSendOptions = Omit<SendOptions<Buffer, Buffer, Buffer, Buffer>, 'messages'> & {
  /** Messages to seal (each for its own topic) and send in one call. */
  messages: SealablePlatformaticMessage[];
};

/** A `@platformatic/kafka` producer whose `send` seals; made by {@link wiresealPlatformaticProducer}. */
export interface WiresealPlatformaticProducer<P extends PlatformaticSender = PlatformaticSender> {
  /**
   * Seals every message for its topic, then sends them all in one call. If
   * any message fails to seal, nothing is sent (the promise rejects with its
   * `WiresealError`).
   */
  send(options: SealingSendOptions): Promise<ProduceResult>;
  /** The wrapped producer (sends unsealed; what dead-lettering uses). Close it with `raw.close()`. */
  readonly raw: P;
}

/** Where records that fail to open are published (platformatic consumers). */
export interface PlatformaticDeadLetterOptions {
  /** A `@platformatic/kafka` producer (a {@link WiresealPlatformaticProducer} works too: its `raw` producer is used). Records go out with `acks: -1`. */
  producer: PlatformaticSender | WiresealPlatformaticProducer;
  /** The dead-letter topic: a name, or a function of the source topic. Default `<topic>.dlq`. */
  topic?: string | ((sourceTopic: string) => string);
}

/** Options for {@link wiresealConsume}. */
export interface PlatformaticConsumeOptions {
  /** Failure policy. Default `dlq`, which needs {@link PlatformaticConsumeOptions.deadLetter}. */
  onFailure?: FailurePolicy;
  /** Dead-letter producer and topic; required for `dlq`. */
  deadLetter?: PlatformaticDeadLetterOptions;
}

/** What the handler given to {@link wiresealConsume} receives: the same opened message the kafkajs `eachMessage` wrapper hands over. */
export interface OpenedPlatformaticPayload {
  /** Source topic. */
  topic: string;
  /** Source partition. */
  partition: number;
  /** The opened record (offset and timestamp as decimal text, headers without wireseal's framing). */
  message: OpenedMessage;
  /** The `@platformatic/kafka` message as consumed (still sealed). Do not `commit()` it: {@link wiresealConsume} does. */
  raw: Message<Buffer, Buffer, Buffer, Buffer>;
}

const utf8Bytes = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

function isMap(h: unknown): h is Map<Buffer | string, Buffer | string> {
  return h instanceof Map;
}

/** Headers from any accepted form to the codec's: names as UTF-8 text, repeated names grouped as kafkajs does. */
function toRecordHeaders(entries: Iterable<readonly [Buffer | string, Buffer | string]>): RecordHeaders {
  const out: RecordHeaders = {};
  for (const [k, v] of entries) {
    const name = typeof k === 'string' ? k : k.toString('utf8');
    const prev = Object.hasOwn(out, name) ? out[name] : undefined;
    const value = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    else out[name] = value;
  }
  return out;
}

/**
 * The codec's record as `@platformatic/kafka` produces it: every part a
 * Buffer, one header entry per value (a repeated name stays repeated, in
 * order), the timestamp as a bigint.
 */
function toPlatformatic(topic: string, record: ProducedRecord, timestamp: bigint | undefined): MessageToProduce<Buffer, Buffer, Buffer, Buffer> {
  const out: MessageToProduce<Buffer, Buffer, Buffer, Buffer> = { topic };
  if (record.key !== undefined && record.key !== null) out.key = utf8Bytes(record.key);
  // A tombstone: the record format's null value (platformatic writes length -1 for null).
  out.value = record.value === null ? (null as unknown as Buffer) : utf8Bytes(record.value);
  if (record.partition !== undefined) out.partition = record.partition;
  if (timestamp !== undefined) out.timestamp = timestamp;
  else if (record.timestamp !== undefined) out.timestamp = BigInt(record.timestamp);
  if (record.headers) {
    // Distinct Buffer objects as keys, so a repeated name is written once per value.
    const headers = new Map<Buffer, Buffer>();
    for (const [k, v] of Object.entries(record.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) headers.set(Buffer.from(k, 'utf8'), utf8Bytes(one));
    }
    out.headers = headers;
  }
  return out;
}

/**
 * A consumed `@platformatic/kafka` message as the codec's record: what a
 * kafkajs consumer would have handed over for the same bytes.
 * @throws PolicyInvalidError when the consumer does not hand over bytes (a value or key deserializer is set)
 */
function consumedRecord(m: Message<Buffer, Buffer, Buffer, Buffer>): ConsumedRecord {
  const key = m.key ?? null;
  const value = m.value ?? null;
  if ((key !== null && !Buffer.isBuffer(key)) || (value !== null && !Buffer.isBuffer(value))) {
    throw new PolicyInvalidError('@wireseal/kafka/platformatic needs the raw record bytes: create the consumer without key/value deserializers');
  }
  return {
    key,
    value,
    timestamp: m.timestamp.toString(),
    attributes: 0,
    offset: m.offset.toString(),
    headers: toRecordHeaders(m.headerEntries ?? m.headers),
  };
}

function rawProducer(p: PlatformaticSender | WiresealPlatformaticProducer): PlatformaticSender {
  return 'raw' in p && p.raw ? p.raw : (p as PlatformaticSender);
}

/** The platformatic dead-letter send: one call, `acks: -1` (all in-sync replicas). */
function deadLetterSend(options: PlatformaticDeadLetterOptions): DeadLetterSend {
  return (topic, messages) => rawProducer(options.producer).send({ messages: messages.map((m) => toPlatformatic(topic, m, undefined)), acks: -1 });
}

/**
 * Wraps a `@platformatic/kafka` producer (default Buffer serializers) so
 * that `send` seals each message for its topic, exactly as the kafkajs
 * wrapper does: same values, same headers, same bytes on the wire. All
 * messages of a call are sealed before the one network call.
 * @example
 * const producer = wiresealPlatformaticProducer(new Producer({ clientId: 'checkout', bootstrapBrokers: ['localhost:9092'] }), codec);
 * await producer.send({ messages: [{ topic: 'payments', key: 'p-1', value: payment }] });
 * await producer.raw.close();
 */
export function wiresealPlatformaticProducer<P extends PlatformaticSender>(producer: P, codec: KafkaCodec): WiresealPlatformaticProducer<P> {
  return {
    send(options) {
      let messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[];
      try {
        messages = options.messages.map((m) => {
          const { topic, timestamp, headers, ...rest } = m;
          const message: SealableMessage = { ...rest };
          if (headers !== undefined) message.headers = isMap(headers) ? toRecordHeaders(headers) : headers;
          return toPlatformatic(topic, codec.encode(topic, message), timestamp);
        });
      } catch (err) {
        return Promise.reject(err);
      }
      return producer.send({ ...options, messages });
    },
    raw: producer,
  };
}

/**
 * Consumes a `@platformatic/kafka` stream, opening each record with the key
 * set in force at that moment and handing it to `handler`; a record that fails
 * to open follows the failure policy and never reaches the handler. Records
 * are handled one at a time, in stream order.
 *
 * Commits: the stream must be created with `autocommit: false` (otherwise
 * platformatic commits offsets when it fetches, before any handler ran: this
 * function then throws `ERR_POLICY_INVALID` at the first record). Each record
 * is committed (`message.commit()`, which platformatic merges per partition)
 * only after the handler returned, or after its dead-letter record was
 * acknowledged, or after it was skipped: an offset is never committed past a
 * record that was neither handled nor dead-lettered.
 *
 * The promise resolves when the stream ends (after `stream.close()`), once the
 * last commits are acknowledged. It rejects, after closing the stream, when the
 * handler throws, a dead-letter send fails, `fail` meets a record that does
 * not open (the `WiresealError`, reported as `failed`), or a key source has no
 * usable key set (`ERR_KEY_SOURCE`): nothing from that record on is committed,
 * and a new stream in the same group starts again at that record.
 * @example
 * const stream = await consumer.consume({ topics: ['payments'], autocommit: false, mode: 'committed', fallbackMode: 'earliest' });
 * await wiresealConsume(stream, codec, async ({ message }) => ledger.apply(message.wireseal.doc), { deadLetter: { producer } });
 * @throws WiresealError `ERR_POLICY_INVALID` when the options are invalid
 */
export async function wiresealConsume(
  stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
  codec: KafkaCodec,
  handler: (payload: OpenedPlatformaticPayload) => Promise<void>,
  options?: PlatformaticConsumeOptions,
): Promise<void> {
  const onFailure = failurePolicyOf(options);
  const deadLetter = options?.deadLetter;
  const send = onFailure === 'dlq' ? deadLetterSend(deadLetter!) : undefined;
  // The last commit per partition: its outcome (undefined or the error).
  const commits = new Map<string, Promise<unknown>>();
  let checked = false;
  try {
    for await (const raw of stream) {
      const { topic, partition } = raw;
      const t = codec.topic(topic);
      if (send) deadLetterTopic(deadLetter!, topic); // a bad DLQ setting is a configuration error
      const record = consumedRecord(raw);
      const outcome = codec.open(t, record, partition);
      if (outcome.ok) {
        await handler({ topic, partition, message: outcome.message, raw });
      } else {
        const failed: FailedRecord = { message: record, error: outcome.error };
        if (onFailure === 'dlq') {
          await sendDeadLetters(codec, deadLetter!, topic, partition, [failed], send!);
        } else if (onFailure === 'skip') {
          codec.report('skipped', { type: 'skipped', topic, partition, offset: record.offset, error: outcome.error });
        } else {
          codec.report('failed', { type: 'failed', topic, partition, offset: record.offset, error: outcome.error });
          throw outcome.error;
        }
      }
      // Settled: handled, dead-lettered (acknowledged) or skipped. Only now may its offset be committed.
      const commit = Promise.resolve(raw.commit());
      if (!checked) {
        checked = true;
        if (typeof (await commit) === 'symbol') {
          throw new PolicyInvalidError('wiresealConsume needs a stream created with autocommit: false (platformatic commits at fetch time otherwise, before the handler ran)');
        }
      } else {
        commits.set(`${topic}\u0000${partition}`, commit.then(() => undefined, (err: unknown) => err ?? new Error('commit failed')));
      }
    }
  } catch (err) {
    // The records settled before this one keep their commits: let those land, then stop.
    await Promise.all(commits.values());
    await closeQuietly(stream);
    throw err;
  }
  for (const outcome of await Promise.all(commits.values())) if (outcome !== undefined) throw outcome;
}

async function closeQuietly(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
  try {
    if (!stream.closed) await stream.close();
  } catch {
    // Closing is best effort: the error that stopped consumption is what the caller needs.
  }
}

export type { FailurePolicy } from './dead-letter.ts';
