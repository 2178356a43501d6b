/**
 * Issue #3 workload: a realistic ~1 KB payment document with eight sensitive
 * values (`card.number`, `card.cvv`, `card.expiry`, `customer.ssn`,
 * `customer.dob`, `accounts[*].iban` over three accounts), encrypted and
 * decrypted per document by wireseal and by its peers.
 *
 * The peers get the cheapest fair treatment: a hand-written copy that clones
 * only the objects on the sensitive paths (wireseal copies and checks the
 * whole document), the key imported once, and each field's JSON text sealed
 * as its own token, as a user of that library would write it.
 */
import { createRequire } from 'node:module';
import * as nodeCrypto from 'node:crypto';
import * as jose from 'jose';
import cloak from '@47ng/cloak';

/** One bank account of the payment. */
export interface Account {
  id: string;
  type: string;
  iban: string;
  bic: string;
  currency: string;
  holder: string;
}

/** The payment document. */
export interface Payment {
  id: string;
  createdAt: string;
  status: string;
  amount: { value: number; currency: string };
  merchant: { id: string; name: string; mcc: string; country: string; city: string };
  card: { number: string; cvv: string; expiry: string; brand: string; holder: string; last4: string };
  customer: { id: string; name: string; email: string; phone: string; ssn: string; dob: string; address: { line1: string; city: string; postcode: string; country: string } };
  accounts: Account[];
  metadata: { channel: string; ip: string; userAgent: string; riskScore: number; tags: string[] };
}

/** The policy fields of issue #3. */
export const FIELDS = ['card.number', 'card.cvv', 'card.expiry', 'customer.ssn', 'customer.dob', 'accounts[*].iban'] as const;

/** A fresh copy of the ~1 KB payment document. */
export function paymentDocument(): Payment {
  return {
    id: 'pay_01JH8Z4K6Q3M7V2X9T5R1B8C0D',
    createdAt: '2026-11-03T14:22:05.118Z',
    status: 'authorized',
    amount: { value: 129_99, currency: 'EUR' },
    merchant: { id: 'mch_7f3a91c2', name: 'Northwind Outdoor Supplies GmbH', mcc: '5941', country: 'DE', city: 'Hamburg' },
    card: { number: '4111111111111111', cvv: '737', expiry: '03/30', brand: 'visa', holder: 'JANE Q PUBLIC', last4: '1111' },
    customer: {
      id: 'cus_3b9d2e7a41',
      name: 'Jane Quinn Public',
      email: 'jane.public@example.com',
      phone: '+49 40 123456789',
      ssn: '078-05-1120',
      dob: '1984-07-12',
      address: { line1: 'Speicherstadt 12, 3. OG', city: 'Hamburg', postcode: '20457', country: 'DE' },
    },
    accounts: [
      { id: 'acc_01', type: 'checking', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', currency: 'EUR', holder: 'Jane Quinn Public' },
      { id: 'acc_02', type: 'savings', iban: 'GB29NWBK60161331926819', bic: 'NWBKGB2LXXX', currency: 'GBP', holder: 'Jane Quinn Public' },
      { id: 'acc_03', type: 'settlement', iban: 'FR1420041010050500013M02606', bic: 'PSSTFRPPXXX', currency: 'EUR', holder: 'Jane Q. Public' },
    ],
    metadata: {
      channel: 'ecommerce',
      ip: '203.0.113.42',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      riskScore: 12,
      tags: ['3ds-frictionless', 'returning-customer', 'eu'],
    },
  };
}

/** The JSON text of the eight sensitive values, in document order (what the floor encrypts). */
export function sensitiveValues(doc: Payment): string[] {
  return [doc.card.number, doc.card.cvv, doc.card.expiry, doc.customer.ssn, doc.customer.dob, ...doc.accounts.map((a) => a.iban)].map((v) =>
    JSON.stringify(v),
  );
}

type FieldFn = (value: unknown, path: string) => unknown;
type AsyncFieldFn = (value: unknown, path: string) => Promise<unknown>;

/** Copies the document, replacing each sensitive value by `f(value)`; clones only the objects on the paths. */
export function mapSensitive(doc: Payment, f: FieldFn): Payment {
  return {
    ...doc,
    card: { ...doc.card, number: f(doc.card.number, 'card.number'), cvv: f(doc.card.cvv, 'card.cvv'), expiry: f(doc.card.expiry, 'card.expiry') },
    customer: { ...doc.customer, ssn: f(doc.customer.ssn, 'customer.ssn'), dob: f(doc.customer.dob, 'customer.dob') },
    accounts: doc.accounts.map((a) => ({ ...a, iban: f(a.iban, 'accounts[*].iban') })),
  } as Payment;
}

/** {@link mapSensitive} with an async `f`, awaited field by field (as users of an async API write it). */
export async function mapSensitiveAsync(doc: Payment, f: AsyncFieldFn): Promise<Payment> {
  const card = { ...doc.card };
  card.number = (await f(doc.card.number, 'card.number')) as string;
  card.cvv = (await f(doc.card.cvv, 'card.cvv')) as string;
  card.expiry = (await f(doc.card.expiry, 'card.expiry')) as string;
  const customer = { ...doc.customer };
  customer.ssn = (await f(doc.customer.ssn, 'customer.ssn')) as string;
  customer.dob = (await f(doc.customer.dob, 'customer.dob')) as string;
  const accounts: Account[] = [];
  for (const a of doc.accounts) accounts.push({ ...a, iban: (await f(a.iban, 'accounts[*].iban')) as string });
  return { ...doc, card, customer, accounts };
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** (a) jose: each field sealed as its own JWE (A256KW + A256GCM, a fresh content key per field). */
export function joseFieldPeer(kek: CryptoKey, kid: string): (doc: Payment) => Promise<Payment> {
  const header: jose.CompactJWEHeaderParameters = { alg: 'A256KW', enc: 'A256GCM', kid };
  const sealField: AsyncFieldFn = (v) => new jose.CompactEncrypt(utf8.encode(JSON.stringify(v))).setProtectedHeader(header).encrypt(kek);
  const openField: AsyncFieldFn = async (v) => JSON.parse(utf8Decoder.decode((await jose.compactDecrypt(v as string, kek)).plaintext)) as unknown;
  return async (doc) => mapSensitiveAsync(await mapSensitiveAsync(doc, sealField), openField);
}

/** (b) @47ng/cloak: each field's JSON text through `encryptString`/`decryptString`, awaited per field. */
export function cloakFieldPeer(key: cloak.ParsedCloakKey): (doc: Payment) => Promise<Payment> {
  const sealField: AsyncFieldFn = (v) => cloak.encryptString(JSON.stringify(v), key);
  const openField: AsyncFieldFn = async (v) => JSON.parse(await cloak.decryptString(v as string, key)) as unknown;
  return async (doc) => mapSensitiveAsync(await mapSensitiveAsync(doc, sealField), openField);
}

/** (b') @47ng/cloak's synchronous API (`encryptStringSync`), for reference. */
export function cloakSyncFieldPeer(key: cloak.ParsedCloakKey): (doc: Payment) => Payment {
  const sealField: FieldFn = (v) => cloak.encryptStringSync(JSON.stringify(v), key);
  const openField: FieldFn = (v) => JSON.parse(cloak.decryptStringSync(v as string, key)) as unknown;
  return (doc) => mapSensitive(mapSensitive(doc, sealField), openField);
}

/**
 * (d) The floor: bare node:crypto AES-256-GCM over the same field bytes, a
 * fresh 12-byte IV each, no AAD, no JSON, no token, no document.
 */
export function floorPeer(key: Uint8Array, doc: Payment): () => number {
  const fields = sensitiveValues(doc).map((s) => Buffer.from(s, 'utf8'));
  const ivs = Buffer.alloc(12 * fields.length);
  const secret = nodeCrypto.createSecretKey(key);
  return () => {
    nodeCrypto.randomFillSync(ivs);
    let total = 0;
    for (let i = 0; i < fields.length; i++) {
      const iv = ivs.subarray(i * 12, i * 12 + 12);
      const cipher = nodeCrypto.createCipheriv('aes-256-gcm', secret, iv);
      const ct = cipher.update(fields[i]!);
      cipher.final();
      const tag = cipher.getAuthTag();
      const decipher = nodeCrypto.createDecipheriv('aes-256-gcm', secret, iv, { authTagLength: 16 });
      decipher.setAuthTag(tag);
      const pt = decipher.update(ct);
      decipher.final();
      total += pt.length;
    }
    return total;
  };
}

/** The floor's round trip, checked once: every field decrypts to its own bytes. */
export function checkFloor(key: Uint8Array, doc: Payment): void {
  const bytes = sensitiveValues(doc).reduce((n, s) => n + Buffer.byteLength(s), 0);
  const got = floorPeer(key, doc)();
  if (got !== bytes) throw new Error(`floor round trip returned ${got} bytes, expected ${bytes}`);
}

interface MastercardJwe {
  encrypt(endpoint: string, header: Record<string, string>, body: unknown): { header: unknown; body: unknown };
  decrypt(response: { request: { url: string }; body: unknown }): unknown;
}
interface MastercardModule {
  JweEncryption: new (config: unknown) => MastercardJwe;
}

/**
 * The concrete paths mastercard-client-encryption's JWE config can hold for
 * this document. Its paths are dot-separated keys with no wildcard, so
 * `accounts[*].iban` has to be spelled out per index (`accounts.0.iban`,
 * ...), which only works for a fixed array length.
 */
export function mastercardPaths(doc: Payment): string[] {
  return ['card.number', 'card.cvv', 'card.expiry', 'customer.ssn', 'customer.dob', ...doc.accounts.map((_, i) => `accounts.${i}.iban`)];
}

/**
 * (c) mastercard-client-encryption in JWE mode (RSA-OAEP-256 + A256GCM, its
 * only JWE algorithm: one RSA key transport per field). It reads a PEM
 * certificate and private key from files and mutates the body it is given,
 * so each call starts from a path copy of the document.
 */
export function mastercardPeer(certPath: string, keyPath: string, doc: Payment): (doc: Payment) => Payment {
  const require = createRequire(import.meta.url);
  const mc = require('mastercard-client-encryption') as MastercardModule;
  const paths = mastercardPaths(doc);
  const jwe = new mc.JweEncryption({
    paths: [
      {
        path: '/payments',
        toEncrypt: paths.map((p) => ({ element: p, obj: p })),
        toDecrypt: paths.map((p) => ({ element: p, obj: p })),
      },
    ],
    mode: 'JWE',
    encryptedValueFieldName: 'encryptedData',
    encryptionCertificate: certPath,
    privateKey: keyPath,
  });
  const identity: FieldFn = (v) => v;
  return (d) => {
    const { body } = jwe.encrypt('/payments', {}, mapSensitive(d, identity));
    return jwe.decrypt({ request: { url: '/payments' }, body }) as Payment;
  };
}
