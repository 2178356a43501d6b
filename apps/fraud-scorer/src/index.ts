/**
 * @wireseal-apps/fraud-scorer: a sample Kafka consumer that holds only the
 * `pii` audience of `payment.authorized` events: it opens the SSN and scores
 * the payment; the card number stays sealed.
 *
 * @module
 */
export { fraudRules, startFraudScorer } from './scorer.ts';
export type { FraudScore, FraudScorer, FraudScorerOptions, FraudStats } from './scorer.ts';
