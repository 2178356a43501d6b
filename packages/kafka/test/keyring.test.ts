// Keyrings in the codec, without a broker: which fields each reader opens and
// which it hands on sealed (and how that is counted), sealing with a keyring,
// record binding, and the configuration rules for keys per topic.
import { describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, PrivateKeySet, PublicKeySet, decodeProtectedHeader } from '@wireseal/core';
import { KeySourceError } from '@wireseal/core/errors';
import type { EachMessagePayload, KafkaMessage, Message, Producer } from 'kafkajs';
import { HEADER_MARKER, createKafkaCodec, wiresealEachMessage, wiresealProducer } from '@wireseal/kafka';
import type { KafkaCodecOptions, TopicConfigs } from '@wireseal/kafka';
import { SwappableKeys } from './cluster.ts';
import { codeOf } from './codes.ts';

const pci = KeySet.generate({ kid: 'pci-1' });
const pii = KeySet.generate({ kid: 'pii-1' });
const POLICY = FieldPolicy.parse({ audiences: { pci: ['card.number', 'card.cvv'], pii: ['customer.ssn', 'customer.dob'] }, bind: ['id'] });
const TOPICS = { payments: { mode: 'fields', policy: POLICY } } as const satisfies TopicConfigs;
const CARD = '4111111111111111';
const SSN = '123-45-6789';

function payment(id: string) {
  return { id, amount: 1250, card: { number: CARD, cvv: '123', exp: '12/29' }, customer: { ssn: SSN, dob: '1970-01-01', name: 'Ada' } };
}

/** What a kafkajs consumer hands over for a produced message. */
function consumed(m: Pick<Message, 'value' | 'headers'>, offset = '0'): KafkaMessage {
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = Buffer.from(v as string);
  return { key: null, value: m.value === null || m.value === undefined ? null : Buffer.from(m.value), headers, timestamp: '1700000000000', attributes: 0, offset };
}


const writer = createKafkaCodec({ keys: { pci, pii }, topics: TOPICS });

describe('readers with part of the keyring', () => {
  it("each reader opens its audiences' fields and hands on the others' tokens exactly as they arrived, listed in `sealed`", () => {
    const sent = writer.encode('payments', { value: payment('p-1') });
    const wire = JSON.parse(String(sent.value));
    expect(decodeProtectedHeader(wire.card.number)).toMatchObject({ kid: 'pci-1', wsf: 'card.number', wsc: expect.any(String) });
    expect(decodeProtectedHeader(wire.customer.ssn)).toMatchObject({ kid: 'pii-1', wsf: 'customer.ssn' });
    expect(writer.stats).toMatchObject({ encrypted: 1, valuesSealed: 4 });

    const ledger = createKafkaCodec({ keys: { pci }, topics: TOPICS });
    const fraud = createKafkaCodec({ keys: { pii }, topics: TOPICS });
    const analytics = createKafkaCodec({ keys: {}, topics: TOPICS });
    const all = createKafkaCodec({ keys: { pci, pii }, topics: TOPICS });

    const l = ledger.decode('payments', consumed(sent));
    expect(l.wireseal).toMatchObject({ encrypted: true, decrypted: ['card.number', 'card.cvv'], sealed: ['customer.ssn', 'customer.dob'], passedThrough: [] });
    expect(l.wireseal.doc).toEqual({ ...wire, card: payment('p-1').card });
    expect(l.value!.toString()).not.toContain(SSN);

    const f = fraud.decode('payments', consumed(sent));
    expect(f.wireseal).toMatchObject({ encrypted: true, decrypted: ['customer.ssn', 'customer.dob'], sealed: ['card.number', 'card.cvv'] });
    expect(f.wireseal.doc).toEqual({ ...wire, customer: payment('p-1').customer });
    expect(f.value!.toString()).not.toContain(CARD);

    const a = analytics.decode('payments', consumed(sent));
    expect(a.wireseal).toMatchObject({ encrypted: false, decrypted: [], sealed: ['card.number', 'card.cvv', 'customer.ssn', 'customer.dob'] });
    expect(a.wireseal.doc).toEqual(wire);
    expect(a.value!.toString()).toBe(String(sent.value)); // byte for byte what the producer sent

    expect(all.decode('payments', consumed(sent)).wireseal).toMatchObject({ doc: payment('p-1'), sealed: [] });

    expect(ledger.stats).toMatchObject({ decrypted: 1, leftSealed: 0, tokensOpened: 2, tokensLeftSealed: 2, deadLettered: 0 });
    expect(fraud.stats).toMatchObject({ decrypted: 1, leftSealed: 0, tokensOpened: 2, tokensLeftSealed: 2 });
    expect(analytics.stats).toMatchObject({ decrypted: 0, leftSealed: 1, withoutFields: 0, tokensOpened: 0, tokensLeftSealed: 4 });
    expect(all.stats).toMatchObject({ decrypted: 1, tokensOpened: 4, tokensLeftSealed: 0 });
  });

  it('a record holding only tokens of audiences the reader lacks counts in leftSealed; one without any policy value still in withoutFields', () => {
    const ledger = createKafkaCodec({ keys: { pci }, topics: TOPICS });
    const { card: _card, ...refund } = payment('r-1');
    const piiOnly = ledger.decode('payments', consumed(writer.encode('payments', { value: refund })));
    expect(piiOnly.wireseal).toMatchObject({ encrypted: false, decrypted: [], sealed: ['customer.ssn', 'customer.dob'], unmatched: ['card.number', 'card.cvv'] });
    ledger.decode('payments', consumed({ value: JSON.stringify({ id: 'x', note: 'nothing sealed' }), headers: { [HEADER_MARKER]: '1' } }));
    expect(ledger.stats).toMatchObject({ decrypted: 0, leftSealed: 1, withoutFields: 1, tokensOpened: 0, tokensLeftSealed: 2 });
  });

  it("record binding holds for the audience a reader has; a reader without an audience still refuses plaintext at that audience's paths", () => {
    const ledger = createKafkaCodec({ keys: { pci }, topics: TOPICS });
    const fraud = createKafkaCodec({ keys: { pii }, topics: TOPICS });
    const analytics = createKafkaCodec({ keys: {}, topics: { ...TOPICS, migrating: { mode: 'fields', policy: POLICY, decryptMode: 'migrate' } } });
    const one = JSON.parse(String(writer.encode('payments', { value: payment('p-1') }).value));
    const two = JSON.parse(String(writer.encode('payments', { value: payment('p-2') }).value));
    // p-1's card token pasted into p-2: bound to id "p-1", so it does not open in p-2.
    const moved = consumed({ value: JSON.stringify({ ...two, card: one.card }) });
    expect(codeOf(() => ledger.decode('payments', moved))).toBe('ERR_CONTEXT_MISMATCH');
    // A reader without the pci keys cannot check it: the token is handed on as it is.
    expect(fraud.decode('payments', moved).wireseal.sealed).toEqual(['card.number', 'card.cvv']);
    // Plaintext where a pci token belongs is refused by every strict reader, keys or not.
    const plain = consumed({ value: JSON.stringify({ ...two, card: { number: CARD, cvv: '123' } }) });
    for (const reader of [ledger, fraud, analytics]) expect(codeOf(() => reader.decode('payments', plain))).toBe('ERR_PLAINTEXT_FIELD');
    expect(analytics.decode('migrating', plain).wireseal).toMatchObject({ passedThrough: ['card.number', 'card.cvv'], sealed: ['customer.ssn', 'customer.dob'] });
    expect(analytics.stats).toMatchObject({ passedThrough: 1, leftSealed: 0, tokensLeftSealed: 2 });
  });

  it('sealing needs every audience the document has values for: ERR_AUDIENCE_MISSING, and the producer wrapper sends nothing', async () => {
    const pciWriter = createKafkaCodec({ keys: { pci }, topics: TOPICS });
    expect(codeOf(() => pciWriter.encode('payments', { value: payment('p-1') }))).toBe('ERR_AUDIENCE_MISSING');
    const { customer: _c, ...cardOnly } = payment('p-3');
    const sealed = JSON.parse(String(pciWriter.encode('payments', { value: cardOnly }).value));
    expect(decodeProtectedHeader(sealed.card.cvv).kid).toBe('pci-1');
    const calls: unknown[] = [];
    const fake = { send: async (r: unknown) => (calls.push(r), []) } as unknown as Producer;
    await expect(wiresealProducer(fake, pciWriter).send({ topic: 'payments', messages: [{ value: cardOnly }, { value: payment('p-4') }] })).rejects.toMatchObject({ code: 'ERR_AUDIENCE_MISSING' });
    expect(calls).toHaveLength(0);
  });

  it("an audience's key-provider outage is thrown (never dead-lettered) only for records holding that audience's tokens", async () => {
    const piiProvider = new SwappableKeys(pii);
    let down = false;
    const flaky = { ready: async () => {}, close: () => {}, current: () => { if (down) throw new KeySourceError('pii secret unavailable'); return piiProvider.current(); } };
    const reader = createKafkaCodec({ keys: { pci, pii: flaky }, topics: TOPICS });
    let sends = 0;
    const sender = { send: async () => void sends++ } as unknown as Producer;
    const handled: string[] = [];
    const each = wiresealEachMessage(reader, async ({ message }) => void handled.push((message.wireseal.doc as { id: string }).id), { deadLetter: { producer: sender } });
    const payload = (m: Message) => ({ topic: 'payments', partition: 0, message: consumed(m), heartbeat: async () => {}, pause: () => () => {} }) as EachMessagePayload;
    const { customer: _c, ...cardOnly } = payment('card-only');
    down = true;
    await expect(each(payload(writer.encode('payments', { value: payment('both') })))).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE' });
    await each(payload(writer.encode('payments', { value: cardOnly })));
    down = false;
    await each(payload(writer.encode('payments', { value: payment('both') })));
    expect(handled).toEqual(['card-only', 'both']);
    expect(sends).toBe(0);
    expect(reader.stats).toMatchObject({ decrypted: 2, deadLettered: 0 });
  });
});

describe('public-key audiences', () => {
  it('a writer holding the pii public keys seals but cannot read them back; the reader with the private keys opens them', () => {
    const piiPrivate = PrivateKeySet.generate({ kid: 'pii-x25519', type: 'X25519' });
    const checkout = createKafkaCodec({ keys: { pci, pii: PublicKeySet.of(piiPrivate) }, topics: TOPICS });
    const sent = checkout.encode('payments', { value: payment('p-1') });
    const wire = JSON.parse(String(sent.value));
    expect(decodeProtectedHeader(wire.customer.ssn)).toMatchObject({ alg: 'ECDH-ES+A256KW', kid: 'pii-x25519', wsf: 'customer.ssn' });
    // The writer's own codec hands its pii tokens on sealed: a public key opens nothing.
    const own = checkout.decode('payments', consumed(sent));
    expect(own.wireseal).toMatchObject({ decrypted: ['card.number', 'card.cvv'], sealed: ['customer.ssn', 'customer.dob'] });
    expect(own.value!.toString()).not.toContain(SSN);
    expect(checkout.stats).toMatchObject({ decrypted: 1, tokensOpened: 2, tokensLeftSealed: 2 });
    const fraud = createKafkaCodec({ keys: { pii: piiPrivate }, topics: TOPICS });
    expect(fraud.decode('payments', consumed(sent)).wireseal).toMatchObject({ doc: { ...wire, customer: payment('p-1').customer }, sealed: ['card.number', 'card.cvv'] });
    // Whole values seal with a shared key set only.
    for (const keys of [piiPrivate, PublicKeySet.of(piiPrivate)]) {
      expect(codeOf(() => createKafkaCodec({ topics: { docs: { mode: 'whole', keys: keys as never } } }))).toBe('ERR_POLICY_INVALID');
    }
  });
});

describe('keys per topic', () => {
  const create = (options: KafkaCodecOptions) => () => createKafkaCodec(options);
  const payments = { mode: 'fields', policy: POLICY } as const;
  const plainPolicy = { mode: 'fields' as const, policy: { fields: ['secret'] } };

  it('refuses, at configuration time, keys that cannot serve a topic (ERR_POLICY_INVALID)', () => {
    const bad: Array<[string, KafkaCodecOptions]> = [
      ['a keyring for a whole-value topic (codec-wide)', { keys: { pci, pii }, topics: { payments, docs: { mode: 'whole' } } }],
      ['a keyring for a whole-value topic (its own)', { keys: pci, topics: { docs: { mode: 'whole', keys: { docs: pci } as never } } }],
      ['one key set for a policy with two audiences', { keys: pci, topics: { payments } }],
      ["a topic keyring naming an audience its policy lacks", { topics: { payments: { ...payments, keys: { pci, pii, pcii: pci } } } }],
      ['a codec keyring naming an audience no topic has (a typo)', { keys: { pci, pii, pcii: pci }, topics: { payments } }],
      ["a codec keyring with none of a topic's audiences", { keys: { pci, pii }, topics: { payments, other: plainPolicy } }],
      ['a keyring entry that is not a key source (string)', { keys: { pci: 'k' as never }, topics: { payments } }],
      ['a keyring entry that is not a key source (object)', { keys: { pci: {} as never }, topics: { payments } }],
      ['a keyring entry that is not a key source (null)', { keys: { pci: null as never }, topics: { payments } }],
      ['keys that are not an object', { keys: 'k' as never, topics: { payments } }],
      ['keys on a plain topic', { topics: { audit: { mode: 'plain', keys: pci } as never } }],
      ['no keys for an encrypted topic', { topics: { payments } }],
    ];
    for (const [what, options] of bad) expect(codeOf(create(options)), what).toBe('ERR_POLICY_INVALID');
    // With a topic function, the same rules apply at the topic's first record (thrown, never a record failure).
    const lazy = createKafkaCodec({ keys: { pci, pii }, topics: (t) => (t === 'docs' ? { mode: 'whole' } : undefined) });
    expect(codeOf(() => lazy.encode('docs', { value: 'x' }))).toBe('ERR_POLICY_INVALID');
  });

  it('a codec keyring serves each field topic with its own audiences; whole-value and other topics take their own keys', () => {
    const wholeKeys = KeySet.generate({ kid: 'docs-1' });
    const topics: TopicConfigs = {
      payments,
      cards: { mode: 'fields', policy: { audiences: { pci: ['number'] } } },
      legacy: { ...plainPolicy, keys: wholeKeys },
      docs: { mode: 'whole', keys: wholeKeys },
      audit: { mode: 'plain' },
    };
    const both = createKafkaCodec({ keys: { pci, pii }, topics });
    const ledger = createKafkaCodec({ keys: { pci }, topics });
    const cardsMsg = both.encode('cards', { value: { number: CARD } });
    expect(ledger.decode('cards', consumed(cardsMsg)).wireseal.doc).toEqual({ number: CARD });
    expect(ledger.decode('legacy', consumed(both.encode('legacy', { value: { secret: 's' } }))).wireseal.doc).toEqual({ secret: 's' });
    expect(ledger.decode('docs', consumed(both.encode('docs', { value: 'whole' }))).value!.toString()).toBe('whole');
    expect(ledger.decode('payments', consumed(both.encode('payments', { value: payment('p-1') }))).wireseal.sealed).toEqual(['customer.ssn', 'customer.dob']);
    // No codec-wide keys at all: every encrypted topic has its own.
    const own = createKafkaCodec({ topics: { docs: { mode: 'whole', keys: wholeKeys }, payments: { ...payments, keys: {} }, audit: { mode: 'plain' } } });
    expect(own.decode('payments', consumed(both.encode('payments', { value: payment('p-2') }))).wireseal.sealed).toHaveLength(4);
    expect(codeOf(() => createKafkaCodec({ topics: { audit: { mode: 'plain' } } }))).toBe('no error');
  });

  it("a topic's own keyring: the same audience name can mean another key set on another topic", () => {
    const otherPii = KeySet.generate({ kid: 'hr-pii-1' });
    const hr = { mode: 'fields' as const, policy: { audiences: { pii: ['employee.ssn'] } } };
    const c = createKafkaCodec({ keys: { pci, pii }, topics: { payments, hr: { ...hr, keys: { pii: otherPii } } } });
    const sealed = JSON.parse(String(c.encode('hr', { value: { employee: { ssn: SSN } } }).value));
    expect(decodeProtectedHeader(sealed.employee.ssn).kid).toBe('hr-pii-1');
    const paymentsOnly = createKafkaCodec({ keys: { pii }, topics: { payments, hr: { ...hr, keys: {} } } });
    expect(paymentsOnly.decode('hr', consumed({ value: JSON.stringify(sealed) })).wireseal.sealed).toEqual(['employee.ssn']);
  });
});
