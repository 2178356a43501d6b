/**
 * @wireseal-apps/checkout: a sample client that sends payments to
 * payments-api with the card number, CVV and SSN sealed (field mode).
 *
 * @module
 */
export { CHECKOUT_POLICY, createCheckout, runCheckout } from './checkout.ts';
export type { Checkout, CheckoutOptions, CheckoutSummary, PaymentResult } from './checkout.ts';
export { generatePayments } from './payments.ts';
export { luhnCheckDigit, luhnValid } from '@wireseal-apps/shared/sample-payments';
export type { Payment } from './payments.ts';
export { keyProviderFromEnv } from '@wireseal-apps/shared/service-keys';
export type { KeyEventLog } from '@wireseal-apps/shared/service-keys';
