/**
 * fraud-scorer: consumes `payment.authorized` events holding the `pii`
 * audience only (a shared key). It opens `customer.ssn` to score the payment;
 * `card.number` (the `pci` audience, sealed to the ledger's X25519 key)
 * reaches it as a token and stays one: it works from the plaintext `last4`.
 * Records that do not open go to its own dead-letter topic. A small HTTP
 * server reports the counters.
 *
 * The rules are a sample, not a fraud model: a large amount, and one SSN
 * seen with several cards (by `last4`), which looks like card testing. SSNs
 * are remembered as HMACs under a per-process key, never as text.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { startEventConsumer } from '@wireseal-apps/shared/event-consumer';
import type { ConsumerOptions, EventConsumerStats } from '@wireseal-apps/shared/event-consumer';
import { EVENT_POLICY } from '@wireseal-apps/shared/payment-events';

/**
 * Options for {@link startFraudScorer}: `keys` is its keyring, `{ pii: keys }` (a
 * `KeySet` or a provider); `dlqTopic` defaults to `<topic>.fraud-scorer.dlq`,
 * `groupId` to `fraud-scorer`; `onEvent` also gets flagged payments (by id).
 */
export interface FraudScorerOptions extends ConsumerOptions {
  /** Score at or above which a payment is flagged. Default 50. */
  flagAt?: number;
}

/** Counters of a running scorer. */
export interface FraudStats extends EventConsumerStats {
  /** Payments scored. */
  scored: number;
  /** Payments at or above the flag score. */
  flagged: number;
  /** How often each rule fired. */
  byReason: Record<string, number>;
}

/** A running scorer. */
export interface FraudScorer {
  readonly url: string;
  readonly topic: string;
  readonly dlqTopic: string;
  stats(): FraudStats;
  stop(): Promise<void>;
}

/** One payment's score. */
export interface FraudScore {
  score: number;
  reasons: string[];
}

interface EventDoc {
  id?: unknown;
  amount?: { value?: unknown };
  card?: { last4?: unknown };
  customer?: { ssn?: unknown };
}

const SSN_RE = /^\d{3}-\d{2}-\d{4}$/;

/** A scoring function with its own memory of SSNs (as HMACs) and the cards seen with them. */
export function fraudRules(): (doc: unknown) => FraudScore {
  const salt = randomBytes(32);
  const cardsBySsn = new Map<string, Set<string>>();
  return (raw) => {
    const doc = (raw ?? {}) as EventDoc;
    const reasons: string[] = [];
    let score = 0;
    const amount = typeof doc.amount?.value === 'number' ? doc.amount.value : 0;
    if (amount >= 40_000) {
      score += 40;
      reasons.push('high-amount');
    }
    const ssn = doc.customer?.ssn;
    if (typeof ssn !== 'string' || !SSN_RE.test(ssn)) {
      // Sealed (no pii key), missing or malformed: cannot be checked.
      score += 30;
      reasons.push('ssn-unreadable');
    } else {
      const id = createHmac('sha256', salt).update(ssn).digest('base64url');
      const cards = cardsBySsn.get(id) ?? new Set<string>();
      cards.add(String(doc.card?.last4 ?? '?'));
      cardsBySsn.set(id, cards);
      if (cards.size > 1) {
        score += 50;
        reasons.push('ssn-many-cards');
      }
    }
    return { score: Math.min(100, score), reasons };
  };
}

/** Starts consuming; resolves once the consumer joined its group and the status server listens. */
export async function startFraudScorer(options: FraudScorerOptions): Promise<FraudScorer> {
  const flagAt = options.flagAt ?? 50;
  const rules = fraudRules();
  const emit = options.onEvent ?? (() => {});
  let scored = 0;
  let flagged = 0;
  const byReason: Record<string, number> = {};
  const consumer = await startEventConsumer({
    ...options,
    name: 'fraud-scorer',
    policy: EVENT_POLICY,
    extraStats: () => ({ scored, flagged, byReason: { ...byReason } }),
    handle(doc) {
      const { score, reasons } = rules(doc);
      scored++;
      for (const r of reasons) byReason[r] = (byReason[r] ?? 0) + 1;
      if (score >= flagAt) {
        flagged++;
        emit({ event: 'flagged', id: (doc as EventDoc | null)?.id, score, reasons });
      }
    },
  });
  return { url: consumer.url, topic: consumer.topic, dlqTopic: consumer.dlqTopic, stats: () => consumer.stats(), stop: () => consumer.stop() };
}
