// The codec without a broker: framing, context binding, strict/migrate,
// configuration errors, tampering, and a cross-check of the whole-value
// framing and the `wsc` context contract against Python's jwcrypto.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeySet, decodeProtectedHeader } from '@wireseal/core';
import { FieldMissingError, KeySourceError, PlaintextFieldError, WiresealError } from '@wireseal/core/errors';
import type { EachMessagePayload, KafkaMessage, Producer } from 'kafkajs';
import { HEADER_JWE, HEADER_MARKER, createKafkaCodec, deadLetterMessage, wiresealEachMessage, wiresealProducer } from '@wireseal/kafka';
import type { JsonDocument, KafkaCodecEvent } from '@wireseal/kafka';
import { SwappableKeys } from './cluster.ts';
import { codeOf } from './codes.ts';

const POLICY = { fields: ['card.number', 'card.cvv', 'customer.ssn'] };
const payment = { id: 'p-1', amount: 1250, card: { number: '4111111111111111', cvv: '123', exp: '12/29' }, customer: { ssn: '123-45-6789', name: 'Ada' } };

/** What a kafkajs consumer hands over for a produced message: Buffers, an offset. */
function consumed(m: { key?: Buffer | string | null; value: Buffer | string | null; headers?: Record<string, unknown> }, offset = '0'): KafkaMessage {
  const headers: Record<string, Buffer | Buffer[]> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = Array.isArray(v) ? v.map((x) => Buffer.from(x as string)) : Buffer.from(v as string);
  return {
    key: m.key === undefined || m.key === null ? null : Buffer.from(m.key),
    value: m.value === null ? null : Buffer.from(m.value),
    headers,
    timestamp: '1700000000000',
    attributes: 0,
    offset,
  };
}


const keys = KeySet.generate({ kid: '2026-11' });
const codec = createKafkaCodec({
  keys,
  topics: {
    payments: { mode: 'fields', policy: POLICY },
    'payments-migrating': { mode: 'fields', policy: POLICY, decryptMode: 'migrate' },
    docs: { mode: 'whole', cty: 'application/json' },
    'docs-dir': { mode: 'whole', alg: 'dir' },
    'docs-migrating': { mode: 'whole', decryptMode: 'migrate' },
    audit: { mode: 'plain' },
  },
});

describe('field mode', () => {
  it('seals the policy fields, keeps key, headers and everything else, and opens back', () => {
    const sealed = codec.encode('payments', { key: 'p-1', value: JSON.stringify(payment), headers: { trace: 'abc' }, partition: 0 });
    expect(sealed.key).toBe('p-1');
    expect(sealed.partition).toBe(0);
    expect(sealed.headers).toEqual({ trace: 'abc', [HEADER_MARKER]: '1' });
    const doc = JSON.parse(String(sealed.value));
    expect(doc.amount).toBe(1250);
    expect(doc.card.exp).toBe('12/29');
    for (const v of [doc.card.number, doc.card.cvv, doc.customer.ssn]) expect(v).toMatch(/^eyJ[^.]+\.[^.]+\.[^.]+\.[^.]+\.[^.]+$/);
    expect(decodeProtectedHeader(doc.card.number)).toMatchObject({ alg: 'A256KW', enc: 'A256GCM', kid: '2026-11', wsf: 'card.number' });
    expect(String(sealed.value)).not.toContain('4111111111111111');

    const opened = codec.decode('payments', consumed(sealed, '7'));
    expect(opened.wireseal.doc).toEqual(payment);
    expect(JSON.parse(opened.value!.toString())).toEqual(payment);
    expect(opened.key!.toString()).toBe('p-1');
    expect(opened.offset).toBe('7');
    expect(Object.keys(opened.headers)).toEqual(['trace']);
    expect(opened.headers.trace!.toString()).toBe('abc');
    expect(opened.wireseal.decrypted).toEqual(['card.number', 'card.cvv', 'customer.ssn']);
  });

  it('accepts a document object, Buffer or string value alike', () => {
    for (const value of [payment, Buffer.from(JSON.stringify(payment)), JSON.stringify(payment)]) {
      const opened = codec.decode('payments', consumed(codec.encode('payments', { value })));
      expect(opened.wireseal.doc).toEqual(payment);
    }
  });

  it('rejects plaintext on a strict topic and passes it through (counted, reported) in migrate mode', () => {
    const plain = consumed({ value: JSON.stringify(payment) });
    expect(codeOf(() => codec.decode('payments', plain))).toBe('ERR_PLAINTEXT_FIELD');
    const events: KafkaCodecEvent[] = [];
    const c = createKafkaCodec({ keys, topics: { t: { mode: 'fields', policy: POLICY, decryptMode: 'migrate' } }, onEvent: (e) => events.push(e) });
    const opened = c.decode('t', plain, 3);
    expect(opened.wireseal.doc).toEqual(payment);
    expect(opened.wireseal.encrypted).toBe(false);
    expect(c.stats).toMatchObject({ passedThrough: 1, decrypted: 0 });
    expect(events).toEqual([{ type: 'passed-through', topic: 't', partition: 3, offset: '0', paths: ['card.number', 'card.cvv', 'customer.ssn'] }]);
  });

  it('rejects a value that is not JSON with ERR_TOKEN_MALFORMED, on the way in, and ERR_POLICY_INVALID on the way out', () => {
    expect(codeOf(() => codec.decode('payments', consumed({ value: Buffer.from([0xff, 0xfe, 0x00]) })))).toBe('ERR_TOKEN_MALFORMED');
    expect(codeOf(() => codec.encode('payments', { value: 'not json' }))).toBe('ERR_POLICY_INVALID');
  });
});

describe('whole-value mode', () => {
  it('puts the raw ciphertext in the value and header.ek.iv..tag in wireseal-jwe', () => {
    const plaintext = JSON.stringify(payment);
    const sealed = codec.encode('docs', { key: Buffer.from([1, 2, 3]), value: plaintext, headers: { a: 'x', multi: ['1', '2'] } });
    const value = sealed.value as Buffer;
    expect(Buffer.isBuffer(value)).toBe(true);
    expect(value.length).toBe(Buffer.byteLength(plaintext)); // GCM: ciphertext is as long as the plaintext
    const frame = sealed.headers![HEADER_JWE] as string;
    const parts = frame.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[3]).toBe('');
    expect(Buffer.from(parts[1]!, 'base64url')).toHaveLength(40); // A256KW wrapped content key
    expect(Buffer.from(parts[2]!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(parts[4]!, 'base64url')).toHaveLength(16);
    expect(JSON.parse(Buffer.from(parts[0]!, 'base64url').toString())).toEqual({
      alg: 'A256KW', enc: 'A256GCM', kid: '2026-11', cty: 'application/json', wsc: wscOf({ topic: 'docs' }),
    });
    expect(sealed.headers![HEADER_MARKER]).toBe('1');
    expect(sealed.headers!.multi).toEqual(['1', '2']);

    const opened = codec.decode('docs', consumed(sealed));
    expect(opened.value!.toString()).toBe(plaintext);
    expect([...opened.key!]).toEqual([1, 2, 3]);
    expect(Object.keys(opened.headers)).toEqual(['a', 'multi']);
    expect(opened.wireseal).toMatchObject({ mode: 'whole', encrypted: true, kid: '2026-11', cty: 'application/json' });
  });

  it("alg 'dir' leaves the encrypted-key slot empty (54 characters shorter)", () => {
    const a = codec.encode('docs-dir', { value: 'x' }).headers![HEADER_JWE] as string;
    expect(a.split('.')[1]).toBe('');
    expect(codec.decode('docs-dir', consumed(codec.encode('docs-dir', { value: 'hello' }))).value!.toString()).toBe('hello');
  });

  it('round-trips an empty value, and leaves tombstones (null) unsealed both ways', () => {
    const empty = codec.encode('docs', { value: '' });
    expect((empty.value as Buffer).length).toBe(0);
    expect(codec.decode('docs', consumed(empty)).value!.length).toBe(0);
    const tomb = codec.encode('docs', { key: 'k', value: null });
    expect(tomb).toEqual({ key: 'k', value: null });
    expect(codec.decode('docs', consumed(tomb)).value).toBeNull();
    expect(codec.decode('payments', consumed({ key: 'k', value: null })).value).toBeNull();
  });

  it('rejects plaintext on a strict topic (ERR_PLAINTEXT_FIELD) and passes it through in migrate mode', () => {
    expect(codeOf(() => codec.decode('docs', consumed({ value: 'plain' })))).toBe('ERR_PLAINTEXT_FIELD');
    const opened = codec.decode('docs-migrating', consumed({ value: 'plain', headers: { h: '1' } }));
    expect(opened.value!.toString()).toBe('plain');
    expect(opened.wireseal.passedThrough).toEqual(['$']);
  });

  it('rejects broken framing with ERR_TOKEN_MALFORMED', () => {
    const good = codec.encode('docs', { value: 'v' });
    const frame = good.headers![HEADER_JWE] as string;
    const cases: Array<Record<string, unknown>> = [
      { [HEADER_JWE]: frame }, // no marker
      { [HEADER_MARKER]: '1' }, // no frame
      { [HEADER_MARKER]: '2', [HEADER_JWE]: frame },
      { [HEADER_MARKER]: '1', [HEADER_JWE]: [frame, frame] },
      { [HEADER_MARKER]: '1', [HEADER_JWE]: frame.replace('..', '.AAAA.') }, // ciphertext slot not empty
      { [HEADER_MARKER]: '1', [HEADER_JWE]: frame.split('.').slice(0, 3).join('.') },
    ];
    for (const headers of cases) expect(codeOf(() => codec.decode('docs', consumed({ value: good.value as Buffer, headers })))).toBe('ERR_TOKEN_MALFORMED');
  });

  it('every single-byte change to the value, and every single-character change to the frame, is a typed error', () => {
    const good = codec.encode('docs', { value: JSON.stringify(payment) });
    const value = good.value as Buffer;
    const frame = good.headers![HEADER_JWE] as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    fc.assert(
      fc.property(fc.nat(value.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const v = Buffer.from(value);
        v[i] = v[i]! ^ x;
        return codeOf(() => codec.decode('docs', consumed({ value: v, headers: { [HEADER_MARKER]: '1', [HEADER_JWE]: frame } }))) === 'ERR_DECRYPT';
      }),
    );
    fc.assert(
      fc.property(fc.nat(frame.length - 1), fc.constantFrom(...alphabet), (i, ch) => {
        fc.pre(frame[i] !== ch);
        const f = frame.slice(0, i) + ch + frame.slice(i + 1);
        const code = codeOf(() => codec.decode('docs', consumed({ value, headers: { [HEADER_MARKER]: '1', [HEADER_JWE]: f } })));
        return code.startsWith('ERR_');
      }),
      { numRuns: 500 },
    );
  });
});

describe('the topic is bound as context { topic }', () => {
  it('a record copied into another topic does not open (ERR_CONTEXT_MISMATCH), in both modes', () => {
    const c = createKafkaCodec({ keys, topics: (t) => (t.startsWith('f-') ? { mode: 'fields', policy: POLICY } : { mode: 'whole' }) });
    expect(codeOf(() => c.decode('f-b', consumed(c.encode('f-a', { value: payment }))))).toBe('ERR_CONTEXT_MISMATCH');
    expect(codeOf(() => c.decode('w-b', consumed(c.encode('w-a', { value: 'doc' }))))).toBe('ERR_CONTEXT_MISMATCH');
  });

  it('contextTopic binds another name (mirrored topics)', () => {
    const src = createKafkaCodec({ keys, topics: { payments: { mode: 'whole' } } });
    const mirror = createKafkaCodec({ keys, topics: { 'us-east.payments': { mode: 'whole', contextTopic: 'payments' } } });
    expect(mirror.decode('us-east.payments', consumed(src.encode('payments', { value: 'v' }))).value!.toString()).toBe('v');
  });
});

describe('configuration and keys', () => {
  it('an unconfigured topic is ERR_POLICY_INVALID both ways, never silently plaintext', () => {
    expect(codeOf(() => codec.encode('nope', { value: 'x' }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => codec.decode('nope', consumed({ value: 'x' })))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => createKafkaCodec({ keys, topics: { t: { mode: 'fields', policy: { fields: ['a.__proto__'] } } } }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => createKafkaCodec({ keys, topics: { t: { mode: 'sealed' } as never } }))).toBe('ERR_POLICY_INVALID');
  });

  it('plain topics pass untouched; a message that already carries wireseal headers is not sealed again', () => {
    const m = { key: 'k', value: 'v', headers: { h: '1' } };
    expect(codec.encode('audit', m)).toBe(m);
    expect(codec.decode('audit', consumed(m)).value!.toString()).toBe('v');
    const sealed = codec.encode('docs', { value: 'v' });
    expect(codeOf(() => codec.encode('docs', sealed as never))).toBe('ERR_POLICY_INVALID');
  });

  it('uses the key set in force per record: rotation needs no new codec', () => {
    const k1 = KeySet.generate({ kid: 'k1' });
    const provider = new SwappableKeys(k1);
    const c = createKafkaCodec({ keys: provider, topics: { t: { mode: 'whole' } } });
    const before = c.encode('t', { value: 'one' });
    const k12 = k1.addKey({ kid: 'k2' });
    provider.set(k12.promote('k2'));
    const after = c.encode('t', { value: 'two' });
    expect(c.decode('t', consumed(before)).wireseal.kid).toBe('k1');
    expect(c.decode('t', consumed(after)).wireseal.kid).toBe('k2');
    provider.set(k12.promote('k2').remove('k1'));
    expect(codeOf(() => c.decode('t', consumed(before)))).toBe('ERR_KEY_UNKNOWN');
  });

  it('a dead-letter policy without a producer is a configuration error', () => {
    expect(codeOf(() => wiresealEachMessage(codec, async () => {}))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => wiresealEachMessage(codec, async () => {}, { onFailure: 'skip' }))).toBe('no error');
    expect(codeOf(() => wiresealEachMessage(codec, async () => {}, { onFailure: 'drop' as never }))).toBe('ERR_POLICY_INVALID');
  });

  it('a key-source outage or an unconfigured topic is not a record failure: it throws, nothing is dead-lettered', async () => {
    let sends = 0;
    const sender = { send: async () => void sends++ } as unknown as Producer;
    const down = { ready: async () => {}, close: () => {}, current: () => { throw new KeySourceError('secret unavailable'); } };
    const payload = (topic: string) => ({ topic, partition: 0, message: consumed({ value: 'x' }), heartbeat: async () => {}, pause: () => () => {} }) as EachMessagePayload;
    const handled: unknown[] = [];
    const outage = wiresealEachMessage(createKafkaCodec({ keys: down, topics: { docs: { mode: 'whole' } } }), async (p) => void handled.push(p), { deadLetter: { producer: sender } });
    await expect(outage(payload('docs'))).rejects.toMatchObject({ code: 'ERR_KEY_SOURCE' });
    const unconfigured = wiresealEachMessage(codec, async (p) => void handled.push(p), { deadLetter: { producer: sender } });
    await expect(unconfigured(payload('nope'))).rejects.toMatchObject({ code: 'ERR_POLICY_INVALID' });
    expect(sends).toBe(0);
    expect(handled).toHaveLength(0);
  });

  it('the producer wrapper seals a whole call before sending; one bad message means nothing is sent', async () => {
    const calls: unknown[] = [];
    const fake = { send: async (r: unknown) => (calls.push(r), []), sendBatch: async (b: unknown) => (calls.push(b), []) } as unknown as Producer;
    const producer = wiresealProducer(fake, codec);
    expect(producer.raw).toBe(fake);
    await expect(producer.send({ topic: 'payments', messages: [{ value: payment }, { value: 'not json' }] })).rejects.toMatchObject({ code: 'ERR_POLICY_INVALID' });
    await expect(producer.sendBatch({ topicMessages: [{ topic: 'docs', messages: [{ value: 'a' }] }, { topic: 'nope', messages: [{ value: 'b' }] }] })).rejects.toMatchObject({ code: 'ERR_POLICY_INVALID' });
    expect(calls).toHaveLength(0);
    await producer.sendBatch({ acks: -1, topicMessages: [{ topic: 'docs', messages: [{ key: 'k', value: 'a' }] }, { topic: 'audit', messages: [{ value: 'b' }] }] });
    const sent = calls[0] as { acks: number; topicMessages: Array<{ topic: string; messages: Array<{ key?: string; value: unknown; headers?: Record<string, unknown> }> }> };
    expect(sent.acks).toBe(-1);
    expect(sent.topicMessages[0]!.messages[0]!.key).toBe('k');
    expect(sent.topicMessages[0]!.messages[0]!.headers![HEADER_MARKER]).toBe('1');
    expect(sent.topicMessages[1]!.messages[0]).toEqual({ value: 'b' });
  });

  it('a dead-letter record is the original plus the error and source headers', () => {
    const original = consumed({ key: 'k', value: Buffer.from([0, 1, 2]), headers: { a: 'x' } }, '42');
    const dl = deadLetterMessage('docs', 2, original, 'ERR_DECRYPT');
    expect(dl.key).toBe(original.key);
    expect(dl.value).toBe(original.value);
    expect(dl.timestamp).toBe(original.timestamp);
    expect(dl.headers).toEqual({
      a: original.headers!.a,
      'wireseal-error': 'ERR_DECRYPT',
      'wireseal-source-topic': 'docs',
      'wireseal-source-partition': '2',
      'wireseal-source-offset': '42',
    });
  });
});

/** The error a call throws (a WiresealError), for asserting its code and members. */
function errorOf(fn: () => unknown): WiresealError {
  try {
    fn();
  } catch (err) {
    if (err instanceof WiresealError) return err;
    throw err;
  }
  throw new Error('expected a WiresealError');
}

const SHAPE_POLICY = ['accounts[*].iban', 'card.number'];
const IBAN = 'DE89370400440532013000';
const CARD = '4111111111111111';

describe('policy paths of the wrong shape', () => {
  const shapes = createKafkaCodec({
    keys,
    topics: {
      strict: { mode: 'fields', policy: SHAPE_POLICY },
      migrating: { mode: 'fields', policy: SHAPE_POLICY, decryptMode: 'migrate' },
    },
  });
  const forged = (doc: unknown) => consumed({ value: JSON.stringify(doc), headers: { [HEADER_MARKER]: '1' } });

  it('strict: an object where the policy has [*], or a string where it expects an object, is ERR_PLAINTEXT_FIELD with the member\'s path', () => {
    const a = errorOf(() => shapes.decode('strict', forged({ accounts: { '0': { iban: IBAN } } })));
    expect([a.code, (a as PlaintextFieldError).path]).toEqual(['ERR_PLAINTEXT_FIELD', 'accounts']);
    const b = errorOf(() => shapes.decode('strict', forged({ card: CARD })));
    expect([b.code, (b as PlaintextFieldError).path]).toEqual(['ERR_PLAINTEXT_FIELD', 'card']);
    expect(shapes.stats).toMatchObject({ decrypted: 0, withoutFields: 0, passedThrough: 0, tokensOpened: 0 });
  });

  it('migrate: the member is handed on as passed through, with its path, counted and reported', () => {
    const events: KafkaCodecEvent[] = [];
    const c = createKafkaCodec({ keys, topics: { migrating: { mode: 'fields', policy: SHAPE_POLICY, decryptMode: 'migrate' } }, onEvent: (e) => events.push(e) });
    const sealedCard = JSON.parse(String(c.encode('migrating', { value: { card: { number: CARD } } }).value)).card;
    const opened = c.decode('migrating', forged({ accounts: { '0': { iban: IBAN } }, card: sealedCard }), 4);
    expect(opened.wireseal).toMatchObject({ encrypted: true, decrypted: ['card.number'], passedThrough: ['accounts'], unmatched: [] });
    expect(opened.wireseal.doc).toEqual({ accounts: { '0': { iban: IBAN } }, card: { number: CARD } });
    expect(c.stats).toMatchObject({ passedThrough: 1, decrypted: 0, withoutFields: 0, tokensOpened: 1 });
    expect(events.filter((e) => e.type === 'passed-through')).toEqual([{ type: 'passed-through', topic: 'migrating', partition: 4, offset: '0', paths: ['accounts'] }]);
  });

  it('encode refuses a wrong-shape document with ERR_PLAINTEXT_FIELD; the producer wrapper sends nothing', async () => {
    const wrong: JsonDocument[] = [{ accounts: { '0': { iban: IBAN } } }, { card: CARD }, { accounts: [{ iban: IBAN }], card: CARD }];
    for (const value of wrong) {
      expect(codeOf(() => shapes.encode('strict', { value }))).toBe('ERR_PLAINTEXT_FIELD');
      expect(codeOf(() => shapes.encode('strict', { value: JSON.stringify(value) }))).toBe('ERR_PLAINTEXT_FIELD');
    }
    const calls: unknown[] = [];
    const fake = { send: async (r: unknown) => (calls.push(r), []), sendBatch: async (b: unknown) => (calls.push(b), []) } as unknown as Producer;
    const producer = wiresealProducer(fake, shapes);
    const good = { accounts: [{ iban: IBAN }], card: { number: CARD } };
    await expect(producer.send({ topic: 'strict', messages: [{ value: good }, { value: { accounts: { '0': { iban: IBAN } } } }] })).rejects.toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
    await expect(producer.sendBatch({ topicMessages: [{ topic: 'strict', messages: [{ value: good }, { value: { card: CARD } }] }] })).rejects.toMatchObject({ code: 'ERR_PLAINTEXT_FIELD' });
    expect(calls).toHaveLength(0);
  });
});

describe('counting what a record held', () => {
  const fresh = (onEvent?: (e: KafkaCodecEvent) => void) =>
    createKafkaCodec({
      keys,
      topics: { payments: { mode: 'fields', policy: POLICY }, migrating: { mode: 'fields', policy: POLICY, decryptMode: 'migrate' }, docs: { mode: 'whole' } },
      ...(onEvent ? { onEvent } : {}),
    });

  it('a record on a strict topic with no value at any policy path is counted as withoutFields, not decrypted, and is not "encrypted"', () => {
    const c = fresh();
    const opened = c.decode('payments', consumed({ value: JSON.stringify({ id: 'p-2', amount: 5 }), headers: { [HEADER_MARKER]: '1' } }));
    expect(opened.wireseal).toMatchObject({ encrypted: false, decrypted: [], passedThrough: [], unmatched: POLICY.fields });
    expect(c.stats).toMatchObject({ decrypted: 0, withoutFields: 1, passedThrough: 0, tokensOpened: 0 });
    // The same on the way out: nothing sealed is not "encrypted".
    c.encode('payments', { value: { id: 'p-2', amount: 5 } });
    expect(c.stats).toMatchObject({ encrypted: 0, encodedWithoutFields: 1, valuesSealed: 0 });
  });

  it('counts values sealed and tokens opened, per concrete path in field mode and per record in whole mode', () => {
    const c = fresh();
    const arrays = createKafkaCodec({ keys, topics: { t: { mode: 'fields', policy: SHAPE_POLICY } } });
    const twoAccounts = arrays.encode('t', { value: { accounts: [{ iban: IBAN }, { iban: IBAN }], card: { number: CARD } } });
    expect(arrays.stats).toMatchObject({ encrypted: 1, valuesSealed: 3 });
    expect(arrays.decode('t', consumed(twoAccounts)).wireseal.decrypted).toEqual(['accounts[0].iban', 'accounts[1].iban', 'card.number']);
    expect(arrays.stats).toMatchObject({ decrypted: 1, tokensOpened: 3 });

    c.decode('payments', consumed(c.encode('payments', { value: payment })));
    c.decode('payments', consumed(c.encode('payments', { value: { ...payment, customer: { name: 'Ada' } } })));
    c.decode('docs', consumed(c.encode('docs', { value: 'v' })));
    expect(c.stats).toMatchObject({ encrypted: 3, encodedWithoutFields: 0, valuesSealed: 3 + 2 + 1, decrypted: 3, withoutFields: 0, tokensOpened: 3 + 2 + 1 });
  });

  it('migrate: tokens opened beside plaintext count as opened, the record as passed through', () => {
    const c = fresh();
    const sealed = JSON.parse(String(c.encode('migrating', { value: payment }).value));
    sealed.customer.ssn = '123-45-6789';
    const opened = c.decode('migrating', consumed({ value: JSON.stringify(sealed) }));
    expect(opened.wireseal).toMatchObject({ encrypted: true, decrypted: ['card.number', 'card.cvv'], passedThrough: ['customer.ssn'] });
    expect(c.stats).toMatchObject({ passedThrough: 1, decrypted: 0, withoutFields: 0, tokensOpened: 2 });
  });
});

describe('requireMatch per topic', () => {
  const topics = {
    some: { mode: 'fields' as const, policy: SHAPE_POLICY, requireMatch: ['card.number'] },
    all: { mode: 'fields' as const, policy: SHAPE_POLICY, requireMatch: true },
    none: { mode: 'fields' as const, policy: SHAPE_POLICY, requireMatch: false },
  };
  const c = createKafkaCodec({ keys, topics });

  it('a name that is not a policy path (or a bad value, or a topic that is not in fields mode) is ERR_POLICY_INVALID at configuration time', () => {
    const bad: unknown[] = [['card.cvv'], ['accounts[0].iban'], ['card'], 'card.number', [1], [null], 1];
    for (const requireMatch of bad) {
      expect(codeOf(() => createKafkaCodec({ keys, topics: { t: { mode: 'fields', policy: SHAPE_POLICY, requireMatch } as never } }))).toBe('ERR_POLICY_INVALID');
    }
    expect(codeOf(() => createKafkaCodec({ keys, topics: { t: { mode: 'whole', requireMatch: true } as never } }))).toBe('ERR_POLICY_INVALID');
    // A topic function is resolved on first use: the first record fails the same way, both directions.
    const lazy = createKafkaCodec({ keys, topics: () => ({ mode: 'fields', policy: SHAPE_POLICY, requireMatch: ['card.cvv'] }) });
    expect(codeOf(() => lazy.encode('x', { value: { card: { number: CARD } } }))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => lazy.decode('y', consumed({ value: '{}' })))).toBe('ERR_POLICY_INVALID');
    expect(codeOf(() => createKafkaCodec({ keys, topics: { t: { mode: 'fields', policy: SHAPE_POLICY, requireMatch: [] } } }))).toBe('no error');
  });

  it('encode: a record without a required path fails with ERR_FIELD_MISSING naming the policy paths; nothing is sent', async () => {
    const some = errorOf(() => c.encode('some', { value: { accounts: [{ iban: IBAN }] } }));
    expect([some.code, (some as FieldMissingError).paths]).toEqual(['ERR_FIELD_MISSING', ['card.number']]);
    const all = errorOf(() => c.encode('all', { value: { card: { number: CARD }, accounts: [] } }));
    expect([all.code, (all as FieldMissingError).paths]).toEqual(['ERR_FIELD_MISSING', ['accounts[*].iban']]);
    expect(codeOf(() => c.encode('some', { value: { card: { number: CARD } } }))).toBe('no error');
    expect(codeOf(() => c.encode('none', { value: {} }))).toBe('no error');
    const calls: unknown[] = [];
    const fake = { send: async (r: unknown) => (calls.push(r), []), sendBatch: async (b: unknown) => (calls.push(b), []) } as unknown as Producer;
    await expect(wiresealProducer(fake, c).send({ topic: 'some', messages: [{ value: { card: { number: CARD } } }, { value: { id: 1 } }] })).rejects.toMatchObject({ code: 'ERR_FIELD_MISSING' });
    expect(calls).toHaveLength(0);
  });

  it('decode: the same option applies to consumed records (ERR_FIELD_MISSING, a record failure); tombstones are not checked', () => {
    const reader = createKafkaCodec({ keys, topics: { some: topics.none } });
    const partial = consumed(createKafkaCodec({ keys, topics: { some: topics.none } }).encode('some', { value: { accounts: [{ iban: IBAN }] } }));
    expect(reader.decode('some', partial).wireseal.unmatched).toEqual(['card.number']);
    const e = errorOf(() => c.decode('some', partial));
    expect([e.code, (e as FieldMissingError).paths]).toEqual(['ERR_FIELD_MISSING', ['card.number']]);
    expect(c.decode('some', consumed({ key: 'k', value: null })).value).toBeNull();
  });
});

describe('unmatched policy paths', () => {
  it('encode reports the policy paths (as the policy writes them, no values) that matched nothing; decode lists them in OpenedInfo', () => {
    const events: KafkaCodecEvent[] = [];
    const c = createKafkaCodec({ keys, topics: { t: { mode: 'fields', policy: [...SHAPE_POLICY, 'customer.ssn'] }, w: { mode: 'whole' } }, onEvent: (e) => events.push(e) });
    const m = c.encode('t', { value: { accounts: [], card: { number: CARD } }, partition: 2 });
    c.encode('t', { value: { accounts: [{ iban: IBAN }, { iban: IBAN }], card: { number: CARD }, customer: { ssn: '123-45-6789' } } }); // all matched: no event
    c.encode('t', { value: { id: 'x' } });
    c.encode('w', { value: 'whole values have no policy' });
    expect(events).toEqual([
      { type: 'unmatched', topic: 't', partition: 2, paths: ['accounts[*].iban', 'customer.ssn'] },
      { type: 'unmatched', topic: 't', partition: -1, paths: ['accounts[*].iban', 'card.number', 'customer.ssn'] },
    ]);
    expect(JSON.stringify(events)).not.toMatch(/4111|DE89|123-45/);
    expect(c.decode('t', consumed(m)).wireseal.unmatched).toEqual(['accounts[*].iban', 'customer.ssn']);
    expect(c.decode('w', consumed(c.encode('w', { value: 'v' }))).wireseal.unmatched).toEqual([]);
  });
});

/** The `wsc` of a context, computed here exactly as docs/design.md words it. */
function wscOf(ctx: Record<string, string>): string {
  const pairs = Object.entries(ctx).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(pairs)).digest().subarray(0, 16).toString('base64url');
}

describe('interop: Python jwcrypto opens the rebuilt whole-value token', () => {
  const python = process.env.WIRESEAL_PYTHON;
  it.skipIf(!python && !process.env.CI)('jwcrypto decrypts header.ek.iv.<base64url(value)>.tag and sees wsc = digest of [["topic", t]]', () => {
    const jwk = keys.toJwks().keys[0]!;
    const sealed = codec.encode('docs', { value: 'ünïcode payload' });
    const frame = sealed.headers![HEADER_JWE] as string;
    const token = frame.replace('..', `.${(sealed.value as Buffer).toString('base64url')}.`);
    const script = [
      'import sys, json, hashlib, base64',
      'from jwcrypto import jwe, jwk',
      'key = jwk.JWK(**json.loads(sys.argv[1]))',
      't = jwe.JWE()',
      't.deserialize(sys.argv[2], key=key)',
      "ctx = json.dumps([['topic', 'docs']], separators=(',', ':')).encode()",
      "wsc = base64.urlsafe_b64encode(hashlib.sha256(ctx).digest()[:16]).rstrip(b'=').decode()",
      "print(json.dumps({'plaintext': t.payload.decode('utf-8'), 'wsc_ok': t.jose_header['wsc'] == wsc}))",
    ].join('\n');
    const out = JSON.parse(execFileSync(python!, ['-c', script, JSON.stringify({ kty: jwk.kty, kid: jwk.kid, k: jwk.k }), token], { encoding: 'utf8' }));
    expect(out).toEqual({ plaintext: 'ünïcode payload', wsc_ok: true });
  });
});

describe('data-key reuse (on by default in the codec)', () => {
  const ekOfField = (m: { value: unknown }): string => (JSON.parse(String(m.value)) as { card: { number: string } }).card.number.split('.')[1]!;
  const ekOfWhole = (m: { headers?: Record<string, unknown> }): string => String(m.headers![HEADER_JWE]).split('.')[1]!;

  it('records share one wrapped content key until a bound; false gives one per record; a promote applies to the next record', () => {
    let current = KeySet.generate({ kid: 'reuse-a' });
    const provider = { current: () => current };
    const topics = { p: { mode: 'fields', policy: POLICY }, w: { mode: 'whole' } } as const;
    const on = createKafkaCodec({ keys: provider, topics });
    const bounded = createKafkaCodec({ keys: provider, topics, reuseContentKey: { maxTokens: 3 } });
    const off = createKafkaCodec({ keys: provider, topics, reuseContentKey: false });
    const fields = [1, 2, 3].map(() => on.encode('p', { value: JSON.stringify(payment) }));
    expect(new Set(fields.map(ekOfField)).size).toBe(1);
    expect(ekOfWhole(on.encode('w', { value: 'a' }))).toBe(ekOfField(fields[0]!));
    // 3 tokens per record: the second record under maxTokens 3 gets a fresh key.
    const b = [1, 2].map(() => bounded.encode('p', { value: JSON.stringify(payment) }));
    expect(ekOfField(b[0]!)).not.toBe(ekOfField(b[1]!));
    const o = [1, 2].map(() => off.encode('w', { value: 'x' }));
    expect(ekOfWhole(o[0]!)).not.toBe(ekOfWhole(o[1]!));
    for (const m of [...fields, ...b]) expect(JSON.parse(on.decode('p', consumed(m)).value!.toString())).toEqual(payment);
    current = current.addKey({ kid: 'reuse-b' }).promote('reuse-b');
    const after = on.encode('p', { value: JSON.stringify(payment) });
    expect(decodeProtectedHeader((JSON.parse(String(after.value)) as { card: { number: string } }).card.number).kid).toBe('reuse-b');
    expect(ekOfField(after)).not.toBe(ekOfField(fields[0]!));
    expect(JSON.parse(on.decode('p', consumed(fields[0]!)).value!.toString())).toEqual(payment);
  });

  it('a bad bound is refused when the codec is made (ERR_ARGUMENT_INVALID)', () => {
    expect(codeOf(() => createKafkaCodec({ keys, topics: { p: { mode: 'fields', policy: POLICY } }, reuseContentKey: { maxTokens: 0 } }))).toBe('ERR_ARGUMENT_INVALID');
  });
});
