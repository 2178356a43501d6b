/**
 * analytics: consumes `payment.authorized` events holding no keys at all (an
 * empty keyring). It counts payments and sums amounts by merchant and
 * currency from the plaintext fields; `card.number` and `customer.ssn` reach
 * it as tokens, exactly as they were sent, and stay so. Only a record that is
 * not JSON (or has plaintext where a token belongs) fails; it goes to its own
 * dead-letter topic. What it cannot open it cannot check either: a tampered
 * token is counted like any other. A small HTTP server reports the counters.
 */
import { startEventConsumer } from '@wireseal-apps/shared/event-consumer';
import type { ConsumerOptions, EventConsumerStats } from '@wireseal-apps/shared/event-consumer';
import { EVENT_POLICY } from '@wireseal-apps/shared/payment-events';

/**
 * Options for {@link startAnalytics}: `keys` defaults to `{}` (it holds no
 * audience); `dlqTopic` to `<topic>.analytics.dlq`, `groupId` to `analytics`.
 */
export type AnalyticsOptions = Omit<ConsumerOptions, 'keys'> & Partial<Pick<ConsumerOptions, 'keys'>>;

/** Payments and their amounts (minor units) in one currency. */
export interface Totals {
  payments: number;
  amount: number;
}

/** Counters of a running analytics consumer. */
export interface AnalyticsStats extends EventConsumerStats {
  /** Events with a merchant and an amount, by merchant, then currency. */
  byMerchant: Record<string, Record<string, Totals>>;
  /** Handled events without a merchant or amount. */
  incomplete: number;
}

/** A running analytics consumer. */
export interface Analytics {
  readonly url: string;
  readonly topic: string;
  readonly dlqTopic: string;
  stats(): AnalyticsStats;
  stop(): Promise<void>;
}

interface EventDoc {
  merchant?: unknown;
  amount?: { value?: unknown; currency?: unknown };
}

/** Starts consuming; resolves once the consumer joined its group and the status server listens. */
export async function startAnalytics(options: AnalyticsOptions): Promise<Analytics> {
  const byMerchant: Record<string, Record<string, Totals>> = {};
  let incomplete = 0;
  const consumer = await startEventConsumer({
    ...options,
    name: 'analytics',
    keys: options.keys ?? {},
    policy: EVENT_POLICY,
    extraStats: () => ({ byMerchant: structuredClone(byMerchant), incomplete }),
    handle(raw) {
      const doc = (raw ?? {}) as EventDoc;
      const { merchant } = doc;
      const value = doc.amount?.value;
      const currency = doc.amount?.currency;
      if (typeof merchant !== 'string' || typeof value !== 'number' || typeof currency !== 'string') {
        incomplete++;
        return;
      }
      const t = ((byMerchant[merchant] ??= {})[currency] ??= { payments: 0, amount: 0 });
      t.payments++;
      t.amount += value;
    },
  });
  return { url: consumer.url, topic: consumer.topic, dlqTopic: consumer.dlqTopic, stats: () => consumer.stats(), stop: () => consumer.stop() };
}
