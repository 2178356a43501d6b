// The Confluent CSFLE benchmark peer (bench/confluent.ts) without a broker or
// any registry service: the value it produces hides the six PII fields, reads
// back deep-equal, and no socket is opened on the way.
import diagnostics_channel from 'node:diagnostics_channel';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confluentFieldCodec } from '../bench/confluent.ts';
import type { Doc } from '../bench/doc.ts';
import { FIELDS, makeDoc } from '../bench/doc.ts';

// Every outgoing TCP/IPC connection attempt made in this process (net.connect,
// http(s), undici all end in net.Socket#connect) while a test runs.
const connects: unknown[] = [];
const onSocket = (msg: unknown) => connects.push(msg);
const originalConnect = net.Socket.prototype.connect;
beforeEach(() => {
  connects.length = 0;
  diagnostics_channel.subscribe('net.client.socket', onSocket);
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    connects.push(args[0]);
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
});
afterEach(() => {
  diagnostics_channel.unsubscribe('net.client.socket', onSocket);
  net.Socket.prototype.connect = originalConnect;
});

describe('Confluent CSFLE peer', () => {
  it('hides the PII fields, reads back deep-equal, leaves the input alone, opens no socket', async () => {
    const codec = await confluentFieldCodec(FIELDS, 'bench-confluent-peer');
    const doc = makeDoc(123_456);
    const original = structuredClone(doc);
    const value = await codec.serialize(doc);
    expect(doc).toEqual(original);

    // Confluent framing: magic byte 0, int32 BE schema id, then the JSON.
    expect(value[0]).toBe(0);
    expect(value.readInt32BE(1)).toBe(codec.schemaId);
    const text = value.toString('utf8');
    expect(text).not.toContain('4111000000123456'); // card.number
    expect(text).not.toContain('123-45-3456'); // customer.ssn
    for (const secret of [doc.card.holder, doc.customer.email, doc.customer.phone]) expect(text).not.toContain(secret);
    const wire = JSON.parse(value.subarray(5).toString('utf8')) as Doc;
    expect(wire.card.cvv).not.toBe(doc.card.cvv); // 3 digits: too short to look for as a substring
    // Untagged fields stay in clear.
    expect(wire.card.exp).toBe('12/29');
    expect(wire.merchant).toEqual(doc.merchant);
    expect(wire.description).toBe(doc.description);
    // AES-GCM, base64(12-byte IV || ciphertext || 16-byte tag) per field.
    expect(Buffer.from(wire.customer.ssn, 'base64').length).toBe(12 + doc.customer.ssn.length + 16);

    expect(await codec.deserialize(value)).toEqual(original);
    expect(connects).toEqual([]);
  });

  it('reuses one DEK for the subject (fresh IV per field), and rejects a tampered field', async () => {
    const codec = await confluentFieldCodec(FIELDS, 'bench-confluent-peer-2');
    const doc = makeDoc(7);
    const a = await codec.serialize(doc);
    const b = await codec.serialize(doc);
    expect(a.equals(b)).toBe(false); // random 96-bit IV per field
    expect(await codec.deserialize(a)).toEqual(doc);
    expect(await codec.deserialize(b)).toEqual(doc);

    const wire = JSON.parse(a.subarray(5).toString('utf8')) as Doc;
    const ct = Buffer.from(wire.card.number, 'base64');
    ct[ct.length - 1]! ^= 1;
    wire.card.number = ct.toString('base64');
    const tampered = Buffer.concat([a.subarray(0, 5), Buffer.from(JSON.stringify(wire))]);
    await expect(codec.deserialize(tampered)).rejects.toThrow();
    expect(connects).toEqual([]);
  });

  it('AES256_SIV (deterministic) round-trips too', async () => {
    const codec = await confluentFieldCodec(FIELDS, 'bench-confluent-peer-siv', { algorithm: 'AES256_SIV' });
    const doc = makeDoc(42);
    const a = await codec.serialize(doc);
    expect(a.equals(await codec.serialize(doc))).toBe(true);
    expect(a.toString('utf8')).not.toContain(doc.card.number);
    expect(await codec.deserialize(a)).toEqual(doc);
  });
});
