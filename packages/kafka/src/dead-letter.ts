/**
 * Dead-letter publishing: the original record, byte for byte (key, value,
 * headers, timestamp), plus headers naming the error code and where the
 * record came from. Published with `acks: -1` and awaited before the
 * source offset may be committed.
 */
import type { WiresealError } from '@wireseal/core';
import { PolicyInvalidError } from '@wireseal/core/errors';
import type { IHeaders, KafkaMessage, Message, Producer } from 'kafkajs';
import type { KafkaCodec } from './codec.ts';
import { HEADER_ERROR, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, HEADER_SOURCE_TOPIC } from './framing.ts';
import type { WiresealProducer } from './producer.ts';
import { rawSender } from './producer.ts';

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
  readonly message: KafkaMessage;
  readonly error: WiresealError;
}

/** @internal Resolves the dead-letter topic for a source topic. */
export function deadLetterTopic(options: DeadLetterOptions, source: string): string {
  const t = options.topic === undefined ? `${source}.dlq` : typeof options.topic === 'function' ? options.topic(source) : options.topic;
  if (typeof t !== 'string' || t.length === 0) throw new PolicyInvalidError(`dead-letter topic for "${source}" must be a non-empty string`);
  if (t === source) throw new PolicyInvalidError(`dead-letter topic for "${source}" is the source topic itself`);
  return t;
}

/** @internal The dead-letter record: the original, intact, plus the wireseal error and source headers. */
export function deadLetterMessage(topic: string, partition: number, message: KafkaMessage, code: string): Message {
  const headers: IHeaders = { ...message.headers };
  headers[HEADER_ERROR] = code;
  headers[HEADER_SOURCE_TOPIC] = topic;
  headers[HEADER_SOURCE_PARTITION] = String(partition);
  headers[HEADER_SOURCE_OFFSET] = message.offset;
  return { key: message.key, value: message.value, headers, timestamp: message.timestamp };
}

/**
 * @internal Publishes failed records (in order, one send) and reports them.
 * Throws when the send fails, so the caller never lets their offsets be committed.
 */
export async function sendDeadLetters(codec: KafkaCodec, options: DeadLetterOptions, topic: string, partition: number, records: readonly FailedRecord[]): Promise<void> {
  if (records.length === 0) return;
  const dlqTopic = deadLetterTopic(options, topic);
  const messages = records.map((r) => deadLetterMessage(topic, partition, r.message, r.error.code));
  try {
    const send: Parameters<Producer['send']>[0] = { topic: dlqTopic, messages, acks: -1 };
    if (options.timeout !== undefined) send.timeout = options.timeout;
    await rawSender(options.producer).send(send);
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
