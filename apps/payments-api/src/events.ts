/**
 * Publishes `payment.authorized` events with the card number and SSN sealed,
 * each for its audience (`@wireseal-apps/shared/payment-events`): the card
 * number to the `pci` audience's X25519 public key, which payments-api holds
 * without the private half, so it cannot open its own events; the SSN under
 * the `pii` shared key. The topic and the event id are bound into every token
 * (`wsc`), so a record copied into another topic, or a token into another
 * event, does not open. The CVV is not in the event at all: it is never kept
 * after authorization.
 */
import { FieldPolicy, decryptFields } from '@wireseal/core';
import type { FieldKeys, JsonValue } from '@wireseal/core';
import { createKafkaCodec } from '@wireseal/kafka';
import type { JsonDocument, KafkaCodec, KafkaCodecEvent } from '@wireseal/kafka';
import { EVENT_POLICY, PAYMENTS_TOPIC } from '@wireseal-apps/shared/payment-events';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, Producer } from 'kafkajs';
import type { PaymentRequest } from './validate.ts';

export { EVENT_POLICY, PAYMENTS_TOPIC };

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
  /**
   * The events' keyring: `{ pci: publicKeys, pii: piiKeys }` (key sets or
   * providers). Give `pci` a `PublicKeySet`: payments-api seals card numbers
   * for the ledger and cannot read them back.
   */
  keys: FieldKeys;
  /** Topic of `payment.authorized` events. Default `payments.authorized`. */
  topic?: string;
  /** kafkajs client id. Default `payments-api`. */
  clientId?: string;
  /** Receives the codec's events (never plaintext). */
  onEvent?: (event: KafkaCodecEvent) => void;
}

/** What payments-api could open of an event it sealed, with its own keys, as the core reports it. */
export interface OwnEventCheck {
  /** The event's id. */
  id: string;
  /** Paths it opened (audiences it holds a decryption key for). */
  opened: string[];
  /** Paths that stayed sealed: audiences it holds no decryption key for (public keys only, or none). */
  stayedSealed: string[];
}

/** A connected publisher. */
export interface EventPublisher {
  readonly topic: string;
  readonly codec: KafkaCodec;
  /** Seals and publishes; resolves with the record value as it went to the broker. */
  publish(event: PaymentAuthorized): Promise<string>;
  /** Tries to open a record value this publisher sealed, with its own keyring. */
  tryOpen(value: string): OwnEventCheck;
  close(): Promise<void>;
}

async function ensureTopic(admin: Admin, topic: string): Promise<void> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
}

/** Connects a sealing producer and makes sure the topic exists. */
export async function connectPublisher(options: PaymentsKafkaOptions): Promise<EventPublisher> {
  const { keys } = options;
  const eventPolicy = FieldPolicy.parse(EVENT_POLICY);
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
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return {
    topic,
    codec,
    async publish(event: PaymentAuthorized): Promise<string> {
      // codec.encode is what wiresealProducer(producer, codec).send does per message; called here
      // so that the sealed bytes that went to the broker are at hand for tryOpen.
      const message = codec.encode(topic, { key: event.id, value: event as unknown as JsonDocument, headers: { 'event-type': event.type } });
      await producer.send({ topic, acks: -1, messages: [message] });
      return String(message.value);
    },
    tryOpen(value: string): OwnEventCheck {
      const result = decryptFields(keys, JSON.parse(value) as JsonValue, eventPolicy, { context: { topic } });
      const doc = result.doc as { id?: unknown };
      return { id: String(doc.id), opened: [...result.decrypted], stayedSealed: [...result.sealed] };
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
