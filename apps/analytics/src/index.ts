/**
 * @wireseal-apps/analytics: a sample Kafka consumer that holds no keys: it
 * aggregates `payment.authorized` events from their plaintext fields and
 * never sees a card number or an SSN.
 *
 * @module
 */
export { startAnalytics } from './analytics.ts';
export type { Analytics, AnalyticsOptions, AnalyticsStats, Totals } from './analytics.ts';
