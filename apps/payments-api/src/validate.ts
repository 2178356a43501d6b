/**
 * Validation of a decrypted payment. Problems name the offending paths only,
 * never the values: a card number must not end up in an error message or log.
 */
import { luhnValid } from '@wireseal-apps/shared/sample-payments';

/** A payment request as payments-api accepts it (after decryption). */
export interface PaymentRequest {
  id: string;
  merchant: string;
  amount: { value: number; currency: string };
  card: { number: string; cvv: string; expiry: string; holder?: string };
  customer: { name: string; email?: string; ssn: string };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, re: RegExp): boolean => typeof v === 'string' && re.test(v);

/** The paths of a payment request that are missing or invalid; empty when it is valid. */
export function invalidPaymentPaths(body: unknown): string[] {
  if (!isObject(body)) return ['$'];
  const bad: string[] = [];
  if (!str(body.id, /^[A-Za-z0-9_-]{1,64}$/)) bad.push('id');
  if (!str(body.merchant, /^[a-z0-9-]{1,40}$/)) bad.push('merchant');
  const amount = isObject(body.amount) ? body.amount : {};
  if (!(Number.isInteger(amount.value) && (amount.value as number) > 0 && (amount.value as number) <= 10_000_000)) bad.push('amount.value');
  if (!str(amount.currency, /^[A-Z]{3}$/)) bad.push('amount.currency');
  const card = isObject(body.card) ? body.card : {};
  if (!(typeof card.number === 'string' && luhnValid(card.number))) bad.push('card.number');
  if (!str(card.cvv, /^\d{3,4}$/)) bad.push('card.cvv');
  if (!str(card.expiry, /^(0[1-9]|1[0-2])\/\d{2}$/)) bad.push('card.expiry');
  const customer = isObject(body.customer) ? body.customer : {};
  if (!(typeof customer.name === 'string' && customer.name.length > 0 && customer.name.length <= 200)) bad.push('customer.name');
  if (!str(customer.ssn, /^\d{3}-\d{2}-\d{4}$/)) bad.push('customer.ssn');
  return bad;
}

/** True when the IBAN has a valid shape and ISO 13616 mod-97 checksum. */
export function ibanValid(iban: unknown): boolean {
  if (typeof iban !== 'string' || !/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const v = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem === 1;
}
