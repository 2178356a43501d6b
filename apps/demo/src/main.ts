// The demo: a payment document crosses the wire with its card number, CVV and
// SSN sealed as JWE tokens, and comes back whole on the other side.
import { KeySet, FieldPolicy, encryptFields, decryptFields } from '@wireseal/core';

const keys = KeySet.generate({ kid: 'demo-2026-11' });
const policy = FieldPolicy.parse({ fields: ['card.number', 'card.cvv', 'customer.ssn', 'accounts[*].iban'] });

const payment = {
  id: 'pay_8f2c',
  amount: { value: 1250, currency: 'EUR' },
  card: { number: '4111111111111111', cvv: '737', expiry: '03/30' },
  customer: { name: 'Ada Lovelace', ssn: '078-05-1120' },
  accounts: [{ iban: 'DE89370400440532013000' }, { iban: 'GB82WEST12345698765432' }],
};

const onTheWire = encryptFields(keys, payment, policy, { context: { topic: 'payments' } });
console.log('What the gateway, broker and logs see:\n');
console.log(JSON.stringify(onTheWire, null, 2));

const { doc, decrypted } = decryptFields(keys, onTheWire, policy, { context: { topic: 'payments' } });
console.log(`\nThe receiver opened ${decrypted.length} fields: ${decrypted.join(', ')}`);
const same = JSON.stringify(doc) === JSON.stringify(payment);
const leaked = JSON.stringify(onTheWire).includes('4111111111111111');
console.log(`Round trip identical: ${same}; card number visible on the wire: ${leaked}`);
if (!same || leaked) process.exit(1);
