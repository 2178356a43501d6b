/**
 * @wireseal-apps/ledger-worker: a sample Kafka consumer that opens
 * `payment.authorized` events, appends them to a ledger file and
 * dead-letters records that do not open.
 *
 * @module
 */
export { EVENT_POLICY, startLedgerWorker } from './worker.ts';
export type { LedgerStats, LedgerWorker, LedgerWorkerOptions } from './worker.ts';
