/**
 * Consumer wrappers: `eachMessage`/`eachBatch` handlers that open each record
 * before the application handler sees it, with a failure policy for records
 * that do not open. A record that fails to open is never lost: it is
 * dead-lettered before its offset can be committed (`dlq`), or consumption
 * stops before it (`fail`), or it is skipped on explicit request (`skip`).
 */
import type { WiresealError } from '@wireseal/core';
import type { Batch, Consumer, EachBatchHandler, EachBatchPayload, EachMessageHandler, EachMessagePayload, KafkaMessage } from 'kafkajs';
import type { KafkaCodec, OpenedMessage } from './codec.ts';
import type { DeadLetterOptions, DeadLetterSend, FailedRecord } from './dead-letter.ts';
import { deadLetterTopic, failurePolicyOf, kafkajsDeadLetterSend, sendDeadLetters } from './dead-letter.ts';
import type { FailurePolicy } from './dead-letter.ts';

export type { FailurePolicy } from './dead-letter.ts';

/** Options for {@link wiresealEachMessage} and {@link wiresealEachBatch}. */
export interface ConsumeOptions {
  /** Failure policy. Default `dlq`, which needs {@link ConsumeOptions.deadLetter}. */
  onFailure?: FailurePolicy;
  /** Dead-letter producer and topic; required for `dlq`. */
  deadLetter?: DeadLetterOptions;
  /**
   * With `fail`: the consumer to stop as well (its `stop()` is called, not
   * awaited, right before the handler throws). Without it, only the
   * record's partition is paused.
   */
  consumer?: Pick<Consumer, 'stop'>;
}

/** Options for {@link wiresealEachBatch}. */
export interface ConsumeBatchOptions extends ConsumeOptions {
  /**
   * Mirror of kafkajs `eachBatchAutoResolve` (default `true`). With `true`,
   * when `fail` stops a batch part-way, the records before the failing one
   * that the handler returned from are resolved; set `false` if you resolve
   * offsets yourself.
   */
  autoResolve?: boolean;
}

/** The `eachMessage` payload the application handler receives: the message is opened. */
export interface OpenedMessagePayload extends Omit<EachMessagePayload, 'message'> {
  /** The opened record. */
  message: OpenedMessage;
}

/** A kafkajs batch of opened records (records that failed to open are not in it). */
export interface OpenedBatch extends Omit<Batch, 'messages'> {
  /** The opened records, in offset order. */
  messages: OpenedMessage[];
}

/** The `eachBatch` payload the application handler receives. */
export interface OpenedBatchPayload extends Omit<EachBatchPayload, 'batch'> {
  /** The batch, opened. */
  batch: OpenedBatch;
}

interface Policy {
  readonly onFailure: FailurePolicy;
  readonly deadLetter: DeadLetterOptions | undefined;
  readonly consumer: Pick<Consumer, 'stop'> | undefined;
  readonly send: DeadLetterSend | undefined;
}

function policyOf(options: ConsumeOptions | undefined): Policy {
  const onFailure = failurePolicyOf(options);
  const deadLetter = options?.deadLetter;
  return { onFailure, deadLetter, consumer: options?.consumer, send: deadLetter ? kafkajsDeadLetterSend(deadLetter) : undefined };
}

/** Reports a `fail`, pauses, optionally stops the consumer; the caller throws. */
function failStop(codec: KafkaCodec, p: Policy, topic: string, partition: number, offset: string, error: WiresealError, pause: () => unknown): void {
  codec.report('failed', { type: 'failed', topic, partition, offset, error });
  pause();
  if (p.consumer) {
    const consumer = p.consumer;
    // Not awaited: stop() waits for this very handler to finish.
    queueMicrotask(() => {
      consumer.stop().catch(() => undefined);
    });
  }
}

function skipped(codec: KafkaCodec, topic: string, partition: number, records: readonly FailedRecord[]): void {
  for (const r of records) codec.report('skipped', { type: 'skipped', topic, partition, offset: r.message.offset, error: r.error });
}

/**
 * Wraps an `eachMessage` handler: each record is opened with the key set in
 * force at that moment and handed on; a record that fails to open follows the
 * failure policy and never reaches the handler. With `dlq`, the handler
 * returns only after the dead-letter record is acknowledged (`acks: -1`), so
 * kafkajs commits the offset only then; if publishing fails it throws, and
 * kafkajs redelivers the record.
 *
 * Configuration errors (a topic without a configuration) and key-source
 * failures (`ERR_KEY_SOURCE`) are not record failures: they always throw.
 * @example
 * await consumer.run({
 *   eachMessage: wiresealEachMessage(codec, async ({ message }) => ledger.apply(message.wireseal.doc), {
 *     deadLetter: { producer: dlqProducer },
 *   }),
 * });
 * @throws WiresealError `ERR_POLICY_INVALID` when the options are invalid
 */
export function wiresealEachMessage(codec: KafkaCodec, handler: (payload: OpenedMessagePayload) => Promise<void>, options?: ConsumeOptions): EachMessageHandler {
  const p = policyOf(options);
  return async (payload) => {
    const { topic, partition, message } = payload;
    const outcome = codec.open(codec.topic(topic), message, partition);
    if (outcome.ok) {
      await handler({ topic, partition, message: outcome.message, heartbeat: payload.heartbeat, pause: payload.pause });
      return;
    }
    const failed: FailedRecord = { message, error: outcome.error };
    if (p.onFailure === 'dlq') {
      await sendDeadLetters(codec, p.deadLetter!, topic, partition, [failed], p.send!);
    } else if (p.onFailure === 'skip') {
      skipped(codec, topic, partition, [failed]);
    } else {
      failStop(codec, p, topic, partition, message.offset, outcome.error, payload.pause);
      throw outcome.error;
    }
  };
}

/**
 * Wraps an `eachBatch` handler: every record of the batch is opened first;
 * failed records are dead-lettered in one acknowledged send before the handler
 * runs (or skipped); the handler then gets the opened records in order. Offsets
 * of dead-lettered and skipped records are resolved along with the opened
 * record before them (or at once when they lead the batch), so resolving the
 * last opened record covers them. With `fail`, the handler gets the records
 * before the failing one, then the partition is paused and the error thrown.
 * @example
 * await consumer.run({
 *   eachBatch: wiresealEachBatch(codec, async ({ batch }) => {
 *     for (const m of batch.messages) index(m.wireseal.doc);
 *   }, { deadLetter: { producer: dlqProducer } }),
 * });
 * @throws WiresealError `ERR_POLICY_INVALID` when the options are invalid
 */
export function wiresealEachBatch(codec: KafkaCodec, handler: (payload: OpenedBatchPayload) => Promise<void>, options?: ConsumeBatchOptions): EachBatchHandler {
  const p = policyOf(options);
  const autoResolve = options?.autoResolve ?? true;
  return async (payload) => {
    const { batch } = payload;
    const { topic, partition } = batch;
    const t = codec.topic(topic);
    if (p.onFailure === 'dlq') deadLetterTopic(p.deadLetter!, topic); // a bad DLQ setting is a configuration error
    const messages: OpenedMessage[] = [];
    const failures: FailedRecord[] = [];
    // For each opened record, the offset of the last failed record that follows it directly.
    const trailing = new Map<string, string>();
    let leading: string | undefined;
    let stop: { message: KafkaMessage; error: WiresealError } | undefined;
    const source = batch.messages;
    for (let i = 0; i < source.length; i++) {
      const message = source[i]!;
      const outcome = codec.open(t, message, partition);
      if (outcome.ok) {
        messages.push(outcome.message);
        continue;
      }
      if (p.onFailure === 'fail') {
        stop = { message, error: outcome.error };
        break;
      }
      failures.push({ message, error: outcome.error });
      if (messages.length === 0) leading = message.offset;
      else trailing.set(messages[messages.length - 1]!.offset, message.offset);
    }
    // Failed records are dealt with before anything is resolved.
    if (p.onFailure === 'dlq') await sendDeadLetters(codec, p.deadLetter!, topic, partition, failures, p.send!);
    else if (p.onFailure === 'skip') skipped(codec, topic, partition, failures);
    if (leading !== undefined) payload.resolveOffset(leading);
    const resolveOffset = (offset: string): void => {
      payload.resolveOffset(offset);
      const after = trailing.get(offset);
      if (after !== undefined) payload.resolveOffset(after);
    };
    if (messages.length > 0) {
      const last = messages[messages.length - 1]!.offset;
      const opened: OpenedBatch = {
        topic,
        partition,
        highWatermark: batch.highWatermark,
        messages,
        isEmpty: () => messages.length === 0,
        firstOffset: () => batch.firstOffset(),
        lastOffset: () => (stop ? last : batch.lastOffset()),
        offsetLag: () => batch.offsetLag(),
        offsetLagLow: () => batch.offsetLagLow(),
      };
      await handler({ ...payload, batch: opened, resolveOffset });
      if (stop && autoResolve) resolveOffset(last);
    }
    if (stop) {
      failStop(codec, p, topic, partition, stop.message.offset, stop.error, payload.pause);
      throw stop.error;
    }
  };
}
