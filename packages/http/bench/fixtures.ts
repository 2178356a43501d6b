// The benchmark request shared by run.ts, inject.ts and cpu-profile.ts: one
// payment document as plaintext JSON, as a fields-mode body (POLICY's fields
// sealed) and as whole-payload tokens, all bound to the request direction.
import { FieldPolicy, encryptFields, seal } from '@wireseal/core';
import type { KeySet } from '@wireseal/core';
import { DIRECTION_CONTEXT_KEY } from '@wireseal/http';
import { POLICY } from './server.ts';

export const payment = {
  id: 'pay_01J9Z3K6X8',
  amount: 12999,
  currency: 'EUR',
  card: { number: '4111111111111111', cvv: '737', expiry: '03/30', holder: 'Ann Lee' },
  customer: { ssn: '078-05-1120', name: 'Ann Lee', email: 'ann@example.com' },
  items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }],
};
export const plainBody = JSON.stringify(payment);
/** Requests are bound to their direction, as the fetch client binds them (bindDirection). */
export const request = Object.freeze({ [DIRECTION_CONTEXT_KEY]: 'request' });

/** The fields-mode request body: POLICY's fields of the payment sealed with `keys`. */
export function fieldsBodyFor(keys: KeySet): string {
  return JSON.stringify(encryptFields(keys, payment, FieldPolicy.parse(POLICY), { context: request }));
}

/**
 * A fresh whole-payload request token (the server rejects replays), sealed as
 * a wireseal client seals it: data-key reuse on, the default.
 */
export function wholeToken(keys: KeySet): string {
  return seal(keys, plainBody, { cty: 'application/json', iat: true, context: request, reuseContentKey: true });
}
