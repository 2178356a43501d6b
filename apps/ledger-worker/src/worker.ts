/**
 * ledger-worker: consumes `payment.authorized` events and appends one line
 * per payment to a ledger file (card number masked to its last four digits,
 * no SSN). It holds the `pci` audience only (the X25519 private key): it
 * opens `card.number` to check it; `customer.ssn` (the `pii` audience)
 * reaches it sealed and stays so. A record that does not open (tampered,
 * sealed for another topic or record, unknown key, not JSON) goes to the
 * dead-letter topic intact, with its error code in a header, and is never
 * lost. A small HTTP server reports the counters.
 */
import fs from 'node:fs/promises';
import { startEventConsumer } from '@wireseal-apps/shared/event-consumer';
import type { ConsumerOptions, EventConsumerStats } from '@wireseal-apps/shared/event-consumer';
import { EVENT_POLICY, PAYMENTS_TOPIC } from '@wireseal-apps/shared/payment-events';
import { luhnValid } from '@wireseal-apps/shared/sample-payments';

export { EVENT_POLICY };

/**
 * Options for {@link startLedgerWorker}: `keys` is its keyring, `{ pci: privateKeys }`
 * (a `PrivateKeySet` or a provider of one; anything else it is given, it opens too);
 * `dlqTopic` defaults to `<topic>.dlq`, `groupId` to `ledger-worker`.
 */
export interface LedgerWorkerOptions extends ConsumerOptions {
  /** The ledger: one JSON line per payment, appended (created with mode 0600). */
  ledgerFile: string;
}

/** Counters of a running worker. */
export interface LedgerStats extends EventConsumerStats {
  /** Lines appended to the ledger. */
  appended: number;
  /** Appended payments whose decrypted card number is Luhn-valid and ends in the event's plaintext `last4`. */
  verified: number;
}

/** A running worker. */
export interface LedgerWorker {
  /** Status server: `GET /stats`, `GET /health`. */
  readonly url: string;
  readonly topic: string;
  readonly dlqTopic: string;
  /** The Kafka client it consumes with (`WIRESEAL_KAFKA_CLIENT`, default kafkajs). */
  readonly client: 'kafkajs' | 'platformatic';
  stats(): LedgerStats;
  stop(): Promise<void>;
}

interface EventDoc {
  id?: unknown;
  occurredAt?: unknown;
  merchant?: unknown;
  amount?: { value?: unknown; currency?: unknown };
  authorization?: { code?: unknown };
  card?: { number?: unknown; last4?: unknown };
  customer?: { name?: unknown };
}

/** Starts consuming; resolves once the consumer joined its group and the status server listens. */
export async function startLedgerWorker(options: LedgerWorkerOptions): Promise<LedgerWorker> {
  const topic = options.topic ?? PAYMENTS_TOPIC;
  let appended = 0;
  let verified = 0;
  const ledger = await fs.open(options.ledgerFile, 'a', 0o600);
  try {
    const consumer = await startEventConsumer({
      ...options,
      name: 'ledger-worker',
      policy: EVENT_POLICY,
      topic,
      dlqTopic: options.dlqTopic ?? `${topic}.dlq`,
      extraStats: () => ({ appended, verified }),
      async handle(raw, { partition, offset }) {
        const doc = (raw ?? {}) as EventDoc;
        // A card number that stayed sealed (no pci key) is a token, not digits: it never verifies.
        const number = typeof doc.card?.number === 'string' ? doc.card.number : '';
        const ok = luhnValid(number) && number.slice(-4) === doc.card?.last4;
        const line = {
          partition,
          offset,
          id: doc.id,
          occurredAt: doc.occurredAt,
          merchant: doc.merchant,
          amount: doc.amount?.value,
          currency: doc.amount?.currency,
          authorization: doc.authorization?.code,
          card: `**** ${ok ? number.slice(-4) : '????'}`,
          customer: doc.customer?.name,
          verified: ok,
        };
        await ledger.write(`${JSON.stringify(line)}\n`);
        appended++;
        if (ok) verified++;
      },
    });
    return {
      url: consumer.url,
      topic: consumer.topic,
      dlqTopic: consumer.dlqTopic,
      client: consumer.client,
      stats: () => consumer.stats(),
      async stop() {
        await consumer.stop();
        await ledger.close().catch(() => undefined);
      },
    };
  } catch (err) {
    await ledger.close().catch(() => undefined);
    throw err;
  }
}
