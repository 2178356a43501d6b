/**
 * Test support for the sample consumers: the keys of the `payment.authorized`
 * audiences, sample events, publishing them sealed (and poison raw), and
 * waiting for a consumer's counters. For tests only.
 *
 * @module
 */
import { KeySet, PrivateKeySet, PublicKeySet } from '@wireseal/core';
import type { FieldKeys } from '@wireseal/core';
import { createKafkaCodec, wiresealProducer } from '@wireseal/kafka';
import type { JsonDocument } from '@wireseal/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { EVENT_POLICY } from './payment-events.ts';
import { luhnCheckDigit } from './sample-payments.ts';

/** Fresh audience keys: the pci key pair (a reader's), the pii shared key, and the writer's keyring (pci public key, pii). */
export function eventKeys(): { pciReader: PrivateKeySet; pii: KeySet; writer: { pci: PublicKeySet; pii: KeySet } } {
  const pciReader = PrivateKeySet.generate({ kid: 'pci-test', type: 'X25519' });
  const pii = KeySet.generate({ kid: 'pii-test' });
  return { pciReader, pii, writer: { pci: PublicKeySet.of(pciReader), pii } };
}

/** A plaintext `payment.authorized` event number `i`: a Luhn-valid card, an SSN of the never-issued 900 area. */
export function sampleEvent(i: number, over: { merchant?: string; amount?: { value: number; currency: string } } = {}) {
  const body = `400000${String(100_000_000 + i)}`;
  const number = body + luhnCheckDigit(body);
  return {
    type: 'payment.authorized', id: `pay_${i}`, occurredAt: '2026-11-22T10:00:00.000Z', merchant: over.merchant ?? 'acme-books',
    amount: over.amount ?? { value: 1000 + i, currency: 'EUR' }, authorization: { code: 'A1B2C3D4' },
    card: { number, last4: number.slice(-4), expiry: '03/30' }, customer: { name: 'Ada Lovelace', ssn: `900-11-${1000 + i}` },
  };
}

/** The same token with one character of its ciphertext changed. */
export function tamper(token: string): string {
  const i = token.lastIndexOf('.') - 2;
  return token.slice(0, i) + (token[i] === 'x' ? 'y' : 'x') + token.slice(i + 1);
}

/** Publishes `events` sealed with `writer` (keyed by id), then `raw` records as they are (marked as wireseal records). */
export async function publishEvents(brokers: string[], topic: string, writer: FieldKeys, events: ReadonlyArray<{ id: string }>, raw: ReadonlyArray<{ key: string; value: string }> = []): Promise<void> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const plain = kafka.producer();
  const producer = wiresealProducer(plain, createKafkaCodec({ keys: writer, topics: { [topic]: { mode: 'fields', policy: EVENT_POLICY } } }));
  await producer.connect();
  try {
    if (events.length > 0) await producer.send({ topic, messages: events.map((e) => ({ key: e.id, value: e as unknown as JsonDocument })) });
    if (raw.length > 0) await plain.send({ topic, messages: raw.map((r) => ({ key: r.key, value: r.value, headers: { wireseal: '1' } })) });
  } finally {
    await producer.disconnect();
  }
}

/** Resolves once a consumer has handled and dead-lettered `records` in all; throws with its counters after `ms`. */
export async function waitForRecords(stats: () => { handled: number; deadLettered: number }, records: number, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (stats().handled + stats().deadLettered < records) {
    if (Date.now() > until) throw new Error(`timed out: ${JSON.stringify(stats())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
