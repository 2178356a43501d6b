/**
 * `@wireseal/core/internal`: helpers shared by the wireseal packages
 * (`@wireseal/http`, `@wireseal/aws-secrets`, ...), kept here so that each
 * exists once. Not part of the public API: no semver promise, any release may
 * change or remove them. Applications use `@wireseal/core`.
 *
 * @module
 */
export { safeCall } from './hooks.ts';
export { nodeBuiltin } from './runtime.ts';
export { jittered, refreshDelay } from './refreshing.ts';
export { nodeCrypto } from './asymmetric/node-crypto.ts';
export { validateAsymmetricJwk, KID_RE } from './asymmetric/jwk.ts';
export type { AsymmetricEntry } from './asymmetric/jwk.ts';
export { audienceOf, tallyValues } from './fields/tally.ts';
export type { ValueTally } from './fields/tally.ts';
export { INSTRUMENTS, DURATION_BUCKETS, MetricRecorder, countSealedFields, countOpenedFields, countWhole, countRejected } from './metrics.ts';
export type { CounterName, HistogramName, InstrumentSpec, MeterLike, MeterProviderLike, MetricAttributes, MetricSink, RecordOutcome } from './metrics.ts';
export { reuseBounds } from './token/reuse.ts';
