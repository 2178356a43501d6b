/**
 * A kafkajs producer whose `send`/`sendBatch` (and transactions') seal every
 * message per topic before the network call. All messages of a call are
 * sealed synchronously first: if one fails, nothing is sent.
 */
import type { Message, Producer, ProducerBatch, ProducerRecord, RecordMetadata, Transaction } from 'kafkajs';
import type { KafkaCodec, SealableMessage } from './codec.ts';

/** A `ProducerRecord` whose messages may carry JSON documents as values. */
export interface SealableProducerRecord extends Omit<ProducerRecord, 'messages'> {
  /** Messages to seal and send. */
  messages: SealableMessage[];
}

/** A `ProducerBatch` whose messages may carry JSON documents as values. */
export interface SealableProducerBatch extends Omit<ProducerBatch, 'topicMessages'> {
  /** Messages by topic, each sealed per its topic's configuration. */
  topicMessages?: Array<{ topic: string; messages: SealableMessage[] }>;
}

/** The sealing `send`/`sendBatch` pair. */
export interface SealingSender {
  /** Seals every message for `record.topic`, then sends them in one call. */
  send(record: SealableProducerRecord): Promise<RecordMetadata[]>;
  /** Seals every message for its topic, then sends them all in one call. */
  sendBatch(batch: SealableProducerBatch): Promise<RecordMetadata[]>;
}

/** A transaction whose `send`/`sendBatch` seal. */
export type WiresealTransaction = Omit<Transaction, 'send' | 'sendBatch'> & SealingSender;

/** A kafkajs producer whose `send`/`sendBatch` seal per topic. */
export type WiresealProducer = Omit<Producer, 'send' | 'sendBatch' | 'transaction'> &
  SealingSender & {
    /** Starts a transaction whose sends seal. */
    transaction(): Promise<WiresealTransaction>;
    /** The wrapped kafkajs producer (sends unsealed; what dead-lettering uses). */
    readonly raw: Producer;
  };

function sealRecord(codec: KafkaCodec, record: SealableProducerRecord): ProducerRecord {
  const messages = record.messages;
  const out = new Array<Message>(messages.length);
  for (let i = 0; i < messages.length; i++) out[i] = codec.encode(record.topic, messages[i]!);
  return { ...record, messages: out };
}

function sealBatch(codec: KafkaCodec, batch: SealableProducerBatch): ProducerBatch {
  if (!batch.topicMessages) return batch as ProducerBatch;
  return {
    ...batch,
    topicMessages: batch.topicMessages.map((tm) => sealRecord(codec, tm)),
  };
}

function sealingSender(codec: KafkaCodec, sender: Pick<Producer, 'send' | 'sendBatch'>): SealingSender {
  return {
    send: (record) => {
      let sealed: ProducerRecord;
      try {
        sealed = sealRecord(codec, record);
      } catch (err) {
        return Promise.reject(err);
      }
      return sender.send(sealed);
    },
    sendBatch: (batch) => {
      let sealed: ProducerBatch;
      try {
        sealed = sealBatch(codec, batch);
      } catch (err) {
        return Promise.reject(err);
      }
      return sender.sendBatch(sealed);
    },
  };
}

/**
 * Wraps a kafkajs producer so that `send`, `sendBatch` and transactional
 * sends seal each message per its topic's configuration. Everything else
 * (connect, disconnect, events) is the producer's own.
 * @example
 * const producer = wiresealProducer(kafka.producer(), codec);
 * await producer.connect();
 * await producer.send({ topic: 'payments', messages: [{ key: 'p-1', value: payment }] });
 */
export function wiresealProducer(producer: Producer, codec: KafkaCodec): WiresealProducer {
  const sender = sealingSender(codec, producer);
  return {
    ...producer,
    send: sender.send,
    sendBatch: sender.sendBatch,
    async transaction(): Promise<WiresealTransaction> {
      const tx = await producer.transaction();
      const txSender = sealingSender(codec, tx);
      return { ...tx, send: txSender.send, sendBatch: txSender.sendBatch };
    },
    raw: producer,
  };
}

/** @internal The producer to publish unsealed records with (a wrapped producer's raw one). */
export function rawSender(producer: Pick<Producer, 'send'> | WiresealProducer): Pick<Producer, 'send'> {
  return 'raw' in producer && producer.raw ? producer.raw : producer;
}
