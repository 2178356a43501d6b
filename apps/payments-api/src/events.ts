/**
 * Publishes `payment.authorized` events with the PII fields sealed. The
 * topic is bound into every token (`wsc`), so a record copied into another
 * topic does not open. The CVV is not in the event at all: it is never kept
 * after authorization.
 */
import type { KeySource } from '@wireseal/core';
import { createKafkaCodec, wiresealProducer } from '@wireseal/kafka';
import type { KafkaCodec, KafkaCodecEvent, WiresealProducer } from '@wireseal/kafka';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import type { PaymentRequest } from './validate.ts';

/** The agreed-upon encrypted attributes of a `payment.authorized` event. */
export const EVENT_POLICY: readonly string[] = Object.freeze(['card.number', 'customer.ssn']);

/** Default topic of `payment.authorized` events. */
export const PAYMENTS_TOPIC = 'payments.authorized';

/** A `payment.authorized` event (plaintext, before sealing). */
export type PaymentAuthorized = {
  type: 'payment.authorized';
  id: string;
  occurredAt: string;
  merchant: string;
  amount: { value: number; currency: string };
  authorization: { code: string };
  card: { number: string; last4: string; expiry: string };
  customer: { name: string; ssn: string };
};

/** Kafka settings of payments-api. */
export interface PaymentsKafkaOptions {
  /** Bootstrap brokers, e.g. `['127.0.0.1:9092']`. */
  brokers: string[];
  /** Topic of `payment.authorized` events. Default `payments.authorized`. */
  topic?: string;
  /** kafkajs client id. Default `payments-api`. */
  clientId?: string;
  /** Receives the codec's events (never plaintext). */
  onEvent?: (event: KafkaCodecEvent) => void;
}

/** A connected publisher. */
export interface EventPublisher {
  readonly topic: string;
  readonly codec: KafkaCodec;
  publish(event: PaymentAuthorized): Promise<void>;
  close(): Promise<void>;
}

async function ensureTopic(admin: Admin, topic: string): Promise<void> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
}

/** Connects a sealing producer and makes sure the topic exists. */
export async function connectPublisher(keys: KeySource, options: PaymentsKafkaOptions): Promise<EventPublisher> {
  const topic = options.topic ?? PAYMENTS_TOPIC;
  const kafka = new Kafka({ clientId: options.clientId ?? 'payments-api', brokers: options.brokers, logLevel: logLevel.NOTHING });
  const codec = createKafkaCodec({
    keys,
    topics: { [topic]: { mode: 'fields', policy: EVENT_POLICY } },
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopic(admin, topic);
  } finally {
    await admin.disconnect();
  }
  const producer: WiresealProducer = wiresealProducer(kafka.producer({ allowAutoTopicCreation: false }), codec);
  await producer.connect();
  return {
    topic,
    codec,
    async publish(event: PaymentAuthorized): Promise<void> {
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: event.id, value: event, headers: { 'event-type': event.type } }],
      });
    },
    async close(): Promise<void> {
      await producer.disconnect();
    },
  };
}

/** The event for an authorized payment request. */
export function authorizedEvent(p: PaymentRequest, authorizationCode: string, now = new Date()): PaymentAuthorized {
  return {
    type: 'payment.authorized',
    id: p.id,
    occurredAt: now.toISOString(),
    merchant: p.merchant,
    amount: { value: p.amount.value, currency: p.amount.currency },
    authorization: { code: authorizationCode },
    card: { number: p.card.number, last4: p.card.number.slice(-4), expiry: p.card.expiry },
    customer: { name: p.customer.name, ssn: p.customer.ssn },
  };
}
