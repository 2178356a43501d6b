// The benchmark document: a ~1 KB payment event with six PII fields, shared by
// the benchmark (bench/run.ts), the Confluent peer's schema (bench/confluent.ts
// benchSchema mirrors it) and the peer's test (test/confluent-peer.test.ts).

/** Paths of the six fields the benchmark encrypts. */
export const FIELDS = ['card.number', 'card.cvv', 'card.holder', 'customer.ssn', 'customer.email', 'customer.phone'];

/** Benchmark document number `id` (all values derived from it, so each record differs). */
export function makeDoc(id: number) {
  return {
    id,
    type: 'payment.authorized',
    amount: { value: (id % 100_000) / 100, currency: 'EUR' },
    card: { number: `4111${String(id).padStart(12, '0')}`, cvv: String(id % 1000).padStart(3, '0'), holder: `Cardholder Number ${id}`, exp: '12/29', brand: 'visa' },
    customer: { id: `cus_${id}`, ssn: `123-45-${String(id % 10_000).padStart(4, '0')}`, email: `customer.${id}@example.test`, phone: `+44 20 7946 ${String(id % 10_000).padStart(4, '0')}` },
    merchant: { id: 'm_4242', name: 'Example Merchant Ltd', mcc: '5411', city: 'London', country: 'GB' },
    tags: ['online', 'recurring', 'tier-2'],
    description: 'Monthly subscription renewal; '.repeat(18),
    createdAt: '2026-11-02T10:00:00.000Z',
  };
}
export type Doc = ReturnType<typeof makeDoc>;
