/**
 * Sample payments: deterministic for a seed, so the demo knows every card
 * number it sent (for the leak check) without reading them back from anywhere.
 * Card numbers are Luhn-valid 16-digit numbers in the 4000 00xx test range;
 * SSNs use area numbers 900-999, which the US never issues.
 */
import { createHash } from 'node:crypto';
import { luhnCheckDigit } from '@wireseal-apps/shared/sample-payments';

/** A payment as the checkout builds it (plaintext, before sealing). */
export interface Payment {
  id: string;
  merchant: string;
  amount: { value: number; currency: string };
  card: { number: string; cvv: string; expiry: string; holder: string };
  customer: { name: string; email: string; ssn: string };
}

const NAMES = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Edsger Dijkstra', 'Barbara Liskov', 'Donald Knuth', 'Frances Allen', 'Ken Thompson'];
const MERCHANTS = ['acme-books', 'north-coffee', 'blue-rail', 'kiosk-17'];
const CURRENCIES = ['EUR', 'USD', 'GBP'];

/** A small deterministic byte stream: SHA-256 in counter mode over the seed. */
function stream(seed: string): () => number {
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at >= block.length) {
      block = createHash('sha256').update(`${seed}:${counter++}`).digest();
      at = 0;
    }
    return block[at++]!;
  };
}

/**
 * `count` payments for `seed`: the same seed always gives the same payments,
 * and every card number and SSN in one call is distinct.
 */
export function generatePayments(count: number, seed = 'demo'): Payment[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
  const next = stream(seed);
  const digits = (n: number): string => Array.from({ length: n }, () => String(next() % 10)).join('');
  const pick = <T>(list: readonly T[]): T => list[next() % list.length]!;
  const seenCards = new Set<string>();
  const seenSsns = new Set<string>();
  const out: Payment[] = [];
  const tag = createHash('sha256').update(seed).digest('hex').slice(0, 6);
  for (let i = 1; out.length < count; i++) {
    // 4000 00 + 9 random digits + check digit: a test-range Visa number.
    const body = `400000${digits(9)}`;
    const number = body + luhnCheckDigit(body);
    const ssn = `9${digits(2)}-${String(10 + (next() % 89))}-${String(1000 + ((next() << 8 | next()) % 9000))}`;
    if (seenCards.has(number) || seenSsns.has(ssn)) continue;
    seenCards.add(number);
    seenSsns.add(ssn);
    const name = pick(NAMES);
    out.push({
      id: `pay_${tag}_${String(i).padStart(6, '0')}`,
      merchant: pick(MERCHANTS),
      amount: { value: 100 + ((next() << 8 | next()) % 50_000), currency: pick(CURRENCIES) },
      card: { number, cvv: digits(3), expiry: `${String(1 + (next() % 12)).padStart(2, '0')}/${30 + (next() % 5)}`, holder: name },
      customer: { name, email: `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@example.com`, ssn },
    });
  }
  return out;
}
