/**
 * Dead-letter publishing: the original record, byte for byte (key, value,
 * headers, timestamp), plus headers naming the error code and where the
 * record came from. Published with `acks: -1` and awaited before the
 * source offset may be committed.
 */
import type { WiresealError } from '@wireseal/core';
import { PolicyInvalidError } from '@wireseal/core/errors';
import type { Producer } from 'kafkajs';
import type { ConsumedRecord, KafkaCodec, ProducedRecord, RecordHeaders } from './codec.ts';
import { HEADER_ERROR, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, HEADER_SOURCE_TOPIC } from './framing.ts';
import type { WiresealProducer } from './producer.ts';
import { rawSender } from './producer.ts';

/**
 * What to do with a record that fails to open:
 * - `dlq` (default): publish it intact to the dead-letter topic, then let its offset be committed;
 * - `fail`: stop before it (kafkajs: pause its partition and throw; platformatic: close the stream and reject), so its offset is never committed;
 * - `skip`: drop it (counted and reported). Only when asked for.
 */
export type FailurePolicy = 'dlq' | 'fail' | 'skip';

/**
 * @internal The failure policy of consumer options, checked: `dlq` needs a
 * dead-letter producer with a `send` method.
 * @throws PolicyInvalidError when the options are invalid
 */
export function failurePolicyOf(options: { onFailure?: FailurePolicy | undefined; deadLetter?: { producer?: unknown } | undefined } | undefined): FailurePolicy {
  const onFailure = options?.onFailure ?? 'dlq';
  if (onFailure !== 'dlq' && onFailure !== 'fail' && onFailure !== 'skip') {
    throw new PolicyInvalidError(`onFailure must be 'dlq', 'fail' or 'skip'`);
  }
  if (onFailure === 'dlq') {
    const producer = options?.deadLetter?.producer as { send?: unknown } | undefined;
    if (!producer || typeof producer.send !== 'function') {
      throw new PolicyInvalidError(`onFailure 'dlq' (the default) needs deadLetter: { producer } (or choose onFailure 'fail' or 'skip')`);
    }
  }
  return onFailure;
}

/** Where and how records that fail to open are published. */
export interface DeadLetterOptions {
  /**
   * A connected kafkajs producer (a {@link WiresealProducer} works too: its
   * unsealed `raw` producer is used). Records go out with `acks: -1`.
   */
  producer: Pick<Producer, 'send'> | WiresealProducer;
  /** The dead-letter topic: a name, or a function of the source topic. Default `<topic>.dlq`. */
  topic?: string | ((sourceTopic: string) => string);
  /** Request timeout for the dead-letter send, in ms (kafkajs default when absent). */
  timeout?: number;
}

/** @internal A failed record waiting to be dead-lettered. */
export interface FailedRecord {
  readonly message: ConsumedRecord;
  readonly error: WiresealError;
}

/** @internal Resolves the dead-letter topic for a source topic. */
export function deadLetterTopic(options: Pick<DeadLetterOptions, 'topic'>, source: string): string {
  const t = options.topic === undefined ? `${source}.dlq` : typeof options.topic === 'function' ? options.topic(source) : options.topic;
  if (typeof t !== 'string' || t.length === 0) throw new PolicyInvalidError(`dead-letter topic for "${source}" must be a non-empty string`);
  if (t === source) throw new PolicyInvalidError(`dead-letter topic for "${source}" is the source topic itself`);
  return t;
}

/** @internal The dead-letter record: the original, intact, plus the wireseal error and source headers. */
export function deadLetterMessage(topic: string, partition: number, message: ConsumedRecord, code: string): ProducedRecord {
  const headers: RecordHeaders = { ...message.headers };
  headers[HEADER_ERROR] = code;
  headers[HEADER_SOURCE_TOPIC] = topic;
  headers[HEADER_SOURCE_PARTITION] = String(partition);
  headers[HEADER_SOURCE_OFFSET] = message.offset;
  return { key: message.key, value: message.value, headers, timestamp: message.timestamp };
}

/**
 * @internal Publishes dead-letter records with one client's producer: one
 * call, all records, acknowledged by all in-sync replicas (`acks: -1`).
 */
export type DeadLetterSend = (topic: string, messages: ProducedRecord[]) => Promise<unknown>;

/** @internal The kafkajs dead-letter send. */
export function kafkajsDeadLetterSend(options: DeadLetterOptions): DeadLetterSend {
  return (topic, messages) => {
    const send: Parameters<Producer['send']>[0] = { topic, messages, acks: -1 };
    if (options.timeout !== undefined) send.timeout = options.timeout;
    return rawSender(options.producer).send(send);
  };
}

/**
 * @internal Publishes failed records (in order, one send) and reports them.
 * Throws when the send fails, so the caller never lets their offsets be committed.
 */
export async function sendDeadLetters(
  codec: KafkaCodec,
  options: Pick<DeadLetterOptions, 'topic'>,
  topic: string,
  partition: number,
  records: readonly FailedRecord[],
  send: DeadLetterSend,
): Promise<void> {
  if (records.length === 0) return;
  const dlqTopic = deadLetterTopic(options, topic);
  const messages = records.map((r) => deadLetterMessage(topic, partition, r.message, r.error.code));
  try {
    await send(dlqTopic, messages);
  } catch (cause) {
    for (const r of records) {
      codec.report(undefined, { type: 'dead-letter-failed', topic, partition, offset: r.message.offset, error: r.error, dlqTopic, cause });
    }
    throw cause;
  }
  for (const r of records) {
    codec.report('deadLettered', { type: 'dead-lettered', topic, partition, offset: r.message.offset, error: r.error, dlqTopic });
  }
}
