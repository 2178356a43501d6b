// Audiences over HTTP: a fields route whose policy splits its paths between
// two audiences (pci, pii), a server that holds the keys of one of them, and
// clients holding other keyrings, on real Express and Fastify servers.
import { describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, decryptFields } from '@wireseal/core';
import type { KeyProvider } from '@wireseal/core';
import type { WiresealRequestInfo } from '@wireseal/http';
import { wiresealMiddleware } from '@wireseal/http/express';
import { createFetch } from '@wireseal/http/fetch';
import type { FetchLike } from '@wireseal/http/fetch';
import Fastify from 'fastify';
import { wiresealFastify } from '@wireseal/http/fastify';
import { onEachServer } from './support/servers.ts';
import type { ServerSetup } from './support/servers.ts';

const pciKeys = KeySet.generate({ kid: 'pci-2026' });
const piiKeys = KeySet.generate({ kid: 'pii-2026' });
const POLICY = { audiences: { pci: ['card.number', 'card.cvv'], pii: ['customer.ssn'] } };
const TOKEN = /^eyJ[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/;
const PAN = '4111111111111111';
const SSN = '078-05-1120';
const doc = { card: { number: PAN, cvv: '737' }, customer: { ssn: SSN, name: 'Ann' }, amount: 12 };
const RESPONSE = { 'wireseal-http': 'response' };
const PCI_ONLY = { audiences: { pci: ['card.number', 'card.cvv'] } };

/** What the handlers received: body and info, per request. */
const seen: Array<{ body: any; info: WiresealRequestInfo | undefined }> = [];

const setup: ServerSetup = {
  routes: {
    pay: { method: 'POST', path: '/pay', mode: 'fields', policy: POLICY },
    // Answers the pii field in plaintext, which this server cannot seal.
    leak: { method: 'POST', path: '/leak', mode: 'fields', policy: POLICY },
    // Hands the pii token back where it found it: its answers' policy has no pii audience.
    forward: { method: 'POST', path: '/forward', mode: 'fields', policy: POLICY, responsePolicy: PCI_ONLY },
  },
  // The server is the card processor: it holds the pci keys only.
  adapter: { keys: { pci: pciKeys } },
  answer: (path, body, _type, info) => {
    const b = body as typeof doc;
    seen.push({ body: b, info });
    if (path === '/leak') return { customer: { ssn: SSN } };
    if (path === '/forward') return { card: { number: '4000000000000002' }, customer: b.customer };
    // The card goes back (sealed again, for pci); the pii token it could not open is handed back outside the policy.
    return { card: { number: '4000000000000002' }, ssnAsReceived: b.customer?.ssn ?? null };
  },
};

/** Records the bodies that crossed the wire. */
function recorder(): { fetch: FetchLike; sent: string[]; answered: string[] } {
  const sent: string[] = [];
  const answered: string[] = [];
  return {
    sent,
    answered,
    fetch: async (input, init) => {
      if (typeof init?.body === 'string') sent.push(init.body);
      const res = await globalThis.fetch(input, init);
      answered.push(await res.clone().text());
      return res;
    },
  };
}

onEachServer('a fields route with two audiences, a server holding one', setup, (server) => {
  it('opens the pci fields, hands the handler the pii token byte for byte, reports it left sealed, and seals the answer with its keyring', async () => {
    const rec = recorder();
    // The writer holds both audiences: a different keyring from the server's.
    const sfetch = createFetch({ keys: { pci: pciKeys, pii: piiKeys }, mode: 'fields', policy: POLICY, fetch: rec.fetch });
    seen.length = 0;
    const res = await sfetch(`${server().url}/pay`, { method: 'POST', body: JSON.stringify(doc) });
    expect(res.status).toBe(200);

    const wire = JSON.parse(rec.sent[0]!);
    expect(wire.card.number).toMatch(TOKEN);
    expect(wire.customer.ssn).toMatch(TOKEN);
    const [{ body, info }] = seen as [(typeof seen)[number]];
    expect(body.card).toEqual(doc.card);
    expect(body.customer.ssn).toBe(wire.customer.ssn); // untouched: the same token, byte for byte
    expect(body.customer.name).toBe('Ann');
    expect(info).toMatchObject({ mode: 'fields', sealed: true, decrypted: ['card.number', 'card.cvv'], leftSealed: ['customer.ssn'] });

    // The answer's card is sealed for pci, with the server's keyring, and opens with the pci keys alone.
    const answered = JSON.parse(rec.answered[0]!);
    expect(answered.card.number).toMatch(TOKEN);
    expect(rec.answered[0]).not.toContain('4000000000000002');
    const pciOnly = decryptFields({ pci: pciKeys }, answered, FieldPolicy.parse(POLICY), { context: RESPONSE });
    expect(pciOnly.doc).toMatchObject({ card: { number: '4000000000000002' } });
    // The client opens it too, and gets back the token it sent.
    expect(await res.json()).toEqual({ card: { number: '4000000000000002' }, ssnAsReceived: wire.customer.ssn });
  });

  it('a client holding only the pii keys: the server leaves its field sealed, and the client leaves the answer\'s pci field sealed', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys: { pii: piiKeys }, mode: 'fields', policy: POLICY, fetch: rec.fetch });
    seen.length = 0;
    const res = await sfetch(`${server().url}/pay`, { method: 'POST', body: JSON.stringify({ customer: { ssn: SSN }, amount: 3 }) });
    expect(res.status).toBe(200);
    const [{ body, info }] = seen as [(typeof seen)[number]];
    expect(body.customer.ssn).toBe(JSON.parse(rec.sent[0]!).customer.ssn);
    expect(info).toMatchObject({ sealed: true, decrypted: [], leftSealed: ['customer.ssn'] });
    const got = await res.json();
    expect(got.card.number).toBe(JSON.parse(rec.answered[0]!).card.number); // not this client's audience: as it came
    expect(got.card.number).toMatch(TOKEN);
  });

  it('a route whose answers\' policy leaves the pii audience out hands the pii token back as it came', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys: { pci: pciKeys, pii: piiKeys }, mode: 'fields', policy: POLICY, responsePolicy: PCI_ONLY, fetch: rec.fetch });
    const res = await sfetch(`${server().url}/forward`, { method: 'POST', body: JSON.stringify(doc) });
    expect(res.status).toBe(200);
    const got = await res.json();
    expect(got.customer.ssn).toBe(JSON.parse(rec.sent[0]!).customer.ssn);
    expect(got.card.number).toBe('4000000000000002');
  });

  it('an answer with values for an audience the server holds no keys for is refused (500), never sent in plaintext', async () => {
    const rec = recorder();
    const sfetch = createFetch({ keys: { pci: pciKeys, pii: piiKeys }, mode: 'fields', policy: POLICY, fetch: rec.fetch });
    const res = await sfetch(`${server().url}/leak`, { method: 'POST', body: JSON.stringify(doc) });
    expect(res.status).toBe(500);
    expect((await res.json()).code).toBe('ERR_AUDIENCE_MISSING');
    expect(rec.answered[0]).not.toContain(SSN);
    expect(server().failures.at(-1)).toMatchObject({ code: 'ERR_AUDIENCE_MISSING', phase: 'response' });
  });
});

describe('keyrings are for fields routes', () => {
  const keyring = { pci: pciKeys, pii: piiKeys };
  const invalid = expect.objectContaining({ code: 'ERR_POLICY_INVALID' });

  it('a whole route with a keyring of its own is ERR_POLICY_INVALID when registered, on every adapter and the client', async () => {
    const ws = wiresealMiddleware({ keys: pciKeys });
    expect(() => ws.route({ mode: 'whole', keys: keyring })).toThrow(invalid);
    expect(() => createFetch({ mode: 'whole', keys: keyring })).toThrow(invalid);
    expect(() => createFetch({ keys: pciKeys, routes: { 'POST /w': { mode: 'whole', keys: keyring } } })).toThrow(invalid);
    const app = Fastify();
    await app.register(wiresealFastify, { keys: pciKeys });
    expect(() => app.post('/w', { config: { wireseal: { mode: 'whole', keys: keyring } } }, async () => ({}))).toThrow(invalid);
    await app.close();
  });

  it('an adapter keyring leaves whole routes without shared keys: refused unless their profiles carry their own', () => {
    const ws = wiresealMiddleware({ keys: keyring });
    expect(() => ws.route({ mode: 'whole' })).toThrow(invalid);
    expect(() => ws.route({ mode: 'whole', keys: pciKeys })).not.toThrow();
    expect(() => ws.route({ mode: 'fields', policy: POLICY })).not.toThrow();
  });

  it('one key set for a policy with two audiences, or a keyring with none of the policy\'s, is refused when registered', () => {
    const ws = wiresealMiddleware({ keys: pciKeys });
    expect(() => ws.route({ mode: 'fields', policy: POLICY })).toThrow(invalid);
    expect(() => ws.route({ mode: 'fields', policy: POLICY, keys: { other: pciKeys } })).toThrow(invalid);
    expect(() => ws.route({ mode: 'fields', policy: ['card.number'], keys: { pci: pciKeys } })).toThrow(invalid);
    expect(() => ws.route({ mode: 'fields', policy: ['card.number'], keys: { default: pciKeys } })).not.toThrow();
  });

  it('Fastify waits for every provider of an adapter keyring before serving', async () => {
    let loaded = false;
    const provider: KeyProvider = {
      ready: async () => {
        loaded = true;
      },
      current: () => pciKeys,
      close: () => undefined,
    };
    const app = Fastify();
    await app.register(wiresealFastify, { keys: { pci: provider, pii: piiKeys } });
    expect(loaded).toBe(true);
    await app.close();
  });
});
