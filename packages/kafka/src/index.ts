/**
 * @wireseal/kafka: the Kafka codec, with kafkajs producer and consumer
 * wrappers (the `@platformatic/kafka` ones are on the
 * `@wireseal/kafka/platformatic` subpath). Per topic, either
 * a field policy (the value is JSON with the policy fields as JWE tokens) or
 * whole-value mode (the value is raw ciphertext, the rest of the JWE in the
 * `wireseal-jwe` header); the topic is bound as context `{ topic }`. Records
 * that fail to open are dead-lettered intact, stop the consumer, or are
 * skipped on request: never lost.
 *
 * @module
 */
export { KafkaCodec, createKafkaCodec } from './codec.ts';
export type {
  ConsumedRecord,
  JsonDocument,
  KafkaCodecEvent,
  KafkaCodecOptions,
  KafkaCodecStats,
  OpenedInfo,
  OpenedMessage,
  ProducedRecord,
  RecordHeaders,
  RecordOrigin,
  SealableMessage,
  UnmatchedEvent,
} from './codec.ts';
export type { FieldsTopicConfig, PlainTopicConfig, TopicConfig, TopicConfigs, WholeTopicConfig } from './topics.ts';
export { wiresealProducer } from './producer.ts';
export type { SealableProducerBatch, SealableProducerRecord, SealingSender, WiresealProducer, WiresealTransaction } from './producer.ts';
export { wiresealEachBatch, wiresealEachMessage } from './consumer.ts';
export type { ConsumeBatchOptions, ConsumeOptions, FailurePolicy, OpenedBatch, OpenedBatchPayload, OpenedMessagePayload } from './consumer.ts';
export type { DeadLetterOptions } from './dead-letter.ts';
export { deadLetterMessage } from './dead-letter.ts';
export {
  HEADER_ERROR,
  HEADER_JWE,
  HEADER_MARKER,
  HEADER_SOURCE_OFFSET,
  HEADER_SOURCE_PARTITION,
  HEADER_SOURCE_TOPIC,
  frameParts,
  headerText,
  joinToken,
  splitToken,
  stripFraming,
  unframeParts,
} from './framing.ts';
export type { SplitToken } from './framing.ts';
