/**
 * @wireseal-apps/payments-api: a sample Fastify service that opens
 * field-sealed payments, validates them and publishes `payment.authorized`
 * to Kafka with the PII sealed for the topic.
 *
 * @module
 */
export { PAYMENT_POLICY, startPaymentsApi } from './server.ts';
export type { PaymentsApi, PaymentsApiOptions, PaymentsApiStats } from './server.ts';
export { EVENT_POLICY, PAYMENTS_TOPIC, authorizedEvent } from './events.ts';
export type { EventPublisher, OwnEventCheck, PaymentAuthorized, PaymentsKafkaOptions } from './events.ts';
export { ibanValid, invalidPaymentPaths } from './validate.ts';
export type { PaymentRequest } from './validate.ts';
