// Policies with audiences, run as the built executable: keyring files and
// --audience options for fields encrypt/decrypt, inspect --policy (audience,
// kid and alg per token, no keys), reencrypt per audience (a rotated pci key,
// pii tokens left byte-identical), and keyset commands on a keyring's audience.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, PrivateKeySet, decryptFields } from '@wireseal/core';
import type { JsonValue } from '@wireseal/core';
import { errorCode, tempDir, wireseal } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const POLICY = { audiences: { pci: ['card.number', 'card.cvv'], pii: ['customer.ssn'] }, bind: ['id'] };
const policy = FieldPolicy.parse(POLICY);
const piiKeys = PrivateKeySet.generate({ kid: 'pii-1', type: 'X25519' });
const doc = (id: number): Record<string, JsonValue> => ({ id, card: { number: `4111-${id}`, cvv: 100 + id }, customer: { ssn: `078-05-${1000 + id}`, name: `c${id}` } });

const header = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;

type Sealed = { id: number; card: { number: string; cvv: string }; customer: { ssn: string; name: string } };

// The key files live in keys/, next to the keyring files that name them (relative paths); commands run in tmp.dir.
const keysDir = tmp.path('keys');
const rel = (name: string): string => `keys/${name}`;
const ring = (name: string, audiences: Record<string, Record<string, string>>): string => {
  writeFileSync(`${keysDir}/${name}`, JSON.stringify({ audiences }));
  return rel(name);
};
const run = (args: string[], input?: string) => wireseal(args, { cwd: tmp.dir, ...(input !== undefined ? { input } : {}) });

let writer: string; // pci shared keys, pii public key: seals everything, opens only pci
let full: string; // pci shared keys, pii private key
let piiOnly: string;
let pciOnly: string;

beforeAll(async () => {
  mkdirSync(keysDir);
  writeFileSync(tmp.path('policy.json'), JSON.stringify(POLICY));
  expect((await run(['keygen', '--kid', 'pci-1', '--out', rel('pci.json')])).code).toBe(0);
  writeFileSync(`${keysDir}/pii-public.json`, JSON.stringify(piiKeys.publicJwks()));
  writeFileSync(`${keysDir}/pii-private.json`, JSON.stringify(piiKeys.toPrivateJwks()));
  writer = ring('writer.json', { pci: { keyset: 'pci.json' }, pii: { public: 'pii-public.json' } });
  full = ring('full.json', { pci: { keyset: 'pci.json' }, pii: { private: 'pii-private.json' } });
  piiOnly = ring('pii-only.json', { pii: { private: 'pii-private.json' } });
  pciOnly = ring('pci-only.json', { pci: { keyset: 'pci.json' } });
});

describe('fields encrypt | decrypt with a keyring', () => {
  let sealedText: string;
  let sealed: Sealed;

  beforeAll(async () => {
    const enc = await run(['fields', 'encrypt', '--policy', 'policy.json', '--keyring', writer], JSON.stringify(doc(7)));
    expect(enc.code, enc.stderr).toBe(0);
    sealedText = enc.out;
    sealed = JSON.parse(enc.out) as Sealed;
  });

  it('seals each audience under its own keys: pci under the shared primary, pii to the public key', () => {
    expect(header(sealed.card.number)).toMatchObject({ alg: 'A256KW', kid: 'pci-1', wsf: 'card.number' });
    expect(header(sealed.card.cvv)).toMatchObject({ alg: 'A256KW', kid: 'pci-1', wsf: 'card.cvv' });
    expect(header(sealed.customer.ssn)).toMatchObject({ alg: 'ECDH-ES+A256KW', kid: 'pii-1', wsf: 'customer.ssn' });
    expect(typeof header(sealed.customer.ssn).wsc).toBe('string'); // bind: ["id"]
    expect([sealed.id, sealed.customer.name]).toEqual([7, 'c7']);
    const pci = KeySet.fromJwks(readFileSync(`${keysDir}/pci.json`, 'utf8'));
    expect(decryptFields({ pci, pii: piiKeys }, sealed, policy).doc).toEqual(doc(7));
  });

  it('a reader holding only pii opens the ssn; the card tokens stay byte-identical and are reported as sealed', async () => {
    const r = await run(['fields', 'decrypt', '--policy', 'policy.json', '--audience', `pii=private:${rel('pii-private.json')}`, '--report'], sealedText);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.out) as Sealed;
    expect(out.card).toEqual(sealed.card);
    expect(out.customer.ssn).toBe('078-05-1007');
    expect(JSON.parse(r.stderr)).toEqual({ decrypted: ['customer.ssn'], passedThrough: [], sealed: ['card.number', 'card.cvv'] });
    // The same from a keyring file.
    const file = await run(['fields', 'decrypt', '--policy', 'policy.json', '--keyring', piiOnly], sealedText);
    expect(file.out).toBe(r.out);
  });

  it('a reader holding only pci, or pii public keys only, leaves the ssn token as it was; the full keyring opens everything', async () => {
    for (const keyring of [pciOnly, writer]) {
      const r = await run(['fields', 'decrypt', '--policy', 'policy.json', '--keyring', keyring, '--report'], sealedText);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.out)).toEqual({ ...doc(7), customer: { ssn: sealed.customer.ssn, name: 'c7' } });
      expect(JSON.parse(r.stderr).sealed).toEqual(['customer.ssn']);
    }
    const all = await run(['fields', 'decrypt', '--policy', 'policy.json', '--keyring', full, '--report'], sealedText);
    expect(JSON.parse(all.out)).toEqual(doc(7));
    expect(JSON.parse(all.stderr)).toEqual({ decrypted: ['card.number', 'card.cvv', 'customer.ssn'], passedThrough: [], sealed: [] });
  });

  it('--keyring and --audience combine; a single-audience policy takes --audience default=FILE like --keyset', async () => {
    const both = await run(['fields', 'decrypt', '--policy', 'policy.json', '--keyring', pciOnly, '--audience', `pii=private:${rel('pii-private.json')}`], sealedText);
    expect(JSON.parse(both.out)).toEqual(doc(7));
    writeFileSync(tmp.path('single.json'), JSON.stringify({ fields: ['card.number'] }));
    const enc = await run(['fields', 'encrypt', '--policy', 'single.json', '--audience', `default=${rel('pci.json')}`], JSON.stringify(doc(1)));
    expect(enc.code, enc.stderr).toBe(0);
    const dec = await run(['fields', 'decrypt', '--policy', 'single.json', '--keyset', rel('pci.json')], enc.out);
    expect(JSON.parse(dec.out)).toEqual(doc(1));
  });

  it('refusals: a key set for a policy with audiences, both forms, an unknown or repeated audience (ERR_USAGE); a missing audience when sealing (ERR_AUDIENCE_MISSING)', async () => {
    const single = await run(['fields', 'decrypt', '--policy', 'policy.json', '--keyset', rel('pci.json')], sealedText);
    expect([single.code, errorCode(single), single.out]).toEqual([2, 'ERR_USAGE', '']);
    expect(single.stderr).toContain('--keyring');
    const mixed = await run(['fields', 'decrypt', '--policy', 'policy.json', '--keyset', rel('pci.json'), '--keyring', full], sealedText);
    expect([mixed.code, errorCode(mixed)]).toEqual([2, 'ERR_USAGE']);
    const unknown = await run(['fields', 'decrypt', '--policy', 'policy.json', '--keyring', full, '--audience', `ops=${rel('pci.json')}`], sealedText);
    expect([unknown.code, errorCode(unknown)]).toEqual([2, 'ERR_USAGE']);
    expect(unknown.stderr).toContain('"ops"');
    const twice = await run(['fields', 'decrypt', '--policy', 'policy.json', '--keyring', full, '--audience', `pci=${rel('pci.json')}`], sealedText);
    expect([twice.code, errorCode(twice)]).toEqual([2, 'ERR_USAGE']);
    const missing = await run(['fields', 'encrypt', '--policy', 'policy.json', '--keyring', pciOnly], JSON.stringify(doc(2)));
    expect([missing.code, errorCode(missing), missing.out]).toEqual([1, 'ERR_AUDIENCE_MISSING', '']);
    expect(missing.stderr).not.toContain('078-05');
  });

  it('bad keyring files are ERR_KEYSET_INVALID: not JSON, a wrong shape, private keys given as public (never printing key bytes)', async () => {
    writeFileSync(`${keysDir}/broken.json`, '{"audiences": ');
    const shapes = [rel('broken.json'), ring('two-kinds.json', { pci: { keyset: 'pci.json', public: 'pii-public.json' } }), ring('leak.json', { pii: { public: 'pii-private.json' } })];
    for (const keyring of shapes) {
      const r = await run(['fields', 'decrypt', '--policy', 'policy.json', '--keyring', keyring], sealedText);
      expect([r.code, errorCode(r), r.out], keyring).toEqual([1, 'ERR_KEYSET_INVALID', '']);
    }
    const leak = await run(['fields', 'encrypt', '--policy', 'policy.json', '--audience', `pii=public:${rel('pii-private.json')}`, '--audience', `pci=${rel('pci.json')}`], JSON.stringify(doc(3)));
    expect([leak.code, errorCode(leak)]).toEqual([1, 'ERR_KEYSET_INVALID']);
    expect(leak.stderr).toContain('"pii"');
    for (const k of piiKeys.toPrivateJwks().keys) expect(leak.stderr).not.toContain(String(k.d));
    const nofile = await run(['fields', 'decrypt', '--policy', 'policy.json', '--keyring', rel('absent.json')], sealedText);
    expect([nofile.code, errorCode(nofile)]).toEqual([3, 'ERR_IO']);
  });
});

describe('inspect --policy', () => {
  it('shows each token\'s concrete path, audience, kid and alg without keys; plaintext is listed, never shown', async () => {
    const enc = await run(['fields', 'encrypt', '--policy', 'policy.json', '--keyring', writer], JSON.stringify(doc(5)));
    const human = await run(['inspect', '--policy', 'policy.json'], enc.out);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.out.split('\n');
    expect(lines[0]).toMatch(/^PATH\s+AUDIENCE\s+KID\s+ALG$/);
    expect(lines[1]).toMatch(/^card\.number\s+pci\s+pci-1\s+A256KW$/);
    expect(lines[2]).toMatch(/^card\.cvv\s+pci\s+pci-1\s+A256KW$/);
    expect(lines[3]).toMatch(/^customer\.ssn\s+pii\s+pii-1\s+ECDH-ES\+A256KW$/);
    expect(human.out).toContain('pci: 2 tokens; pii: 1 token');

    const json = JSON.parse((await run(['inspect', '--policy', 'policy.json', '--json'], enc.out)).out);
    expect(json.fields).toEqual([
      { path: 'card.number', policyPath: 'card.number', audience: 'pci', state: 'token', kid: 'pci-1', alg: 'A256KW', enc: 'A256GCM', problems: [] },
      { path: 'card.cvv', policyPath: 'card.cvv', audience: 'pci', state: 'token', kid: 'pci-1', alg: 'A256KW', enc: 'A256GCM', problems: [] },
      { path: 'customer.ssn', policyPath: 'customer.ssn', audience: 'pii', state: 'token', kid: 'pii-1', alg: 'ECDH-ES+A256KW', enc: 'A256GCM', problems: [] },
    ]);
    expect(json.audiences).toEqual({ pci: { tokens: 2, plaintext: 0, kids: { 'pci-1': 2 } }, pii: { tokens: 1, plaintext: 0, kids: { 'pii-1': 1 } } });
    expect(json.unmatched).toEqual([]);

    // inspect TOKEN on the public-key token finds nothing open would reject before decrypting.
    const token = (JSON.parse(enc.out) as Sealed).customer.ssn;
    expect(JSON.parse((await run(['inspect', '--json', token])).out).problems).toEqual([]);
  });

  it('flags plaintext, a token at another path (wsf), unmatched paths and arrays; TOKEN with --policy is refused', async () => {
    writeFileSync(tmp.path('arrays.json'), JSON.stringify({ audiences: { pci: ['cards[*].number'], pii: ['customer.ssn', 'customer.dob'] } }));
    const enc = JSON.parse((await run(['fields', 'encrypt', '--policy', 'arrays.json', '--keyring', writer], JSON.stringify({ cards: [{ number: 'a' }, { number: 'b' }], customer: { ssn: 's' } }))).out) as {
      cards: Array<{ number: string }>;
    };
    const moved = { cards: [{ number: enc.cards[0]!.number }, { number: '4111111111111111' }], customer: { ssn: enc.cards[1]!.number } };
    const r = await run(['inspect', '--policy', 'arrays.json', '--json'], JSON.stringify(moved));
    const report = JSON.parse(r.out);
    expect(report.fields.map((f: { path: string; audience: string; state: string }) => [f.path, f.audience, f.state])).toEqual([
      ['cards[0].number', 'pci', 'token'],
      ['cards[1].number', 'pci', 'plaintext'],
      ['customer.ssn', 'pii', 'token'],
    ]);
    expect(report.fields[2].problems).toEqual(['wsf "cards[*].number" is not this policy path']);
    expect(report.unmatched).toEqual(['customer.dob']);
    expect(r.out).not.toContain('4111111111111111');
    const human = await run(['inspect', '--policy', 'arrays.json'], JSON.stringify(moved));
    expect(human.out).toMatch(/^cards\[1\]\.number\s+pci\s+\(plaintext\)$/m);
    expect(human.out).toContain('problem: customer.ssn: wsf "cards[*].number" is not this policy path');
    const both = await run(['inspect', '--policy', 'arrays.json', enc.cards[0]!.number]);
    expect([both.code, errorCode(both)]).toEqual([2, 'ERR_USAGE']);
  });
});

describe('reencrypt per audience', () => {
  const N = 3;
  let input: string;
  let inputLines: string[];

  beforeAll(async () => {
    const lines: string[] = [];
    for (let i = 0; i < N; i++) lines.push((await run(['fields', 'encrypt', '--policy', 'policy.json', '--keyring', writer], JSON.stringify(doc(i)))).out.trim());
    inputLines = lines;
    input = tmp.path('events.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);
    // Rotate only pci's key, through the keyring file.
    expect((await run(['keyset', 'add', '--keyring', full, '--audience', 'pci', '--kid', 'pci-2'])).code).toBe(0);
    const promote = await run(['keyset', 'promote', '--kid', 'pci-2', '--keyring', full, '--audience', 'pci']);
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stderr).toContain(`wireseal keyset retire pci-1 --keyring ${full} --audience pci`);
  });

  it('after rotating only pci: pci tokens move to the new primary; pii tokens, with no keys to open them, stay byte-identical and are counted', async () => {
    const out = tmp.path('events.v2.jsonl');
    const r = await run(['reencrypt', '--policy', 'policy.json', '--audience', `pci=${rel('pci.json')}`, '--in', input, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      status: 'done',
      primaryKids: { pci: 'pci-2', pii: null },
      records: N,
      written: N,
      failed: 0,
      fieldsResealed: 2 * N,
      alreadyCurrent: 0,
      leftSealed: N,
      leftSealedByAudience: { pii: N },
      resealedByKid: { 'pci-1': 2 * N },
    });
    expect(r.stderr).toContain(`reencrypt: done under pci "pci-2": ${N} records`);
    expect(r.stderr).toContain(`${N} left sealed (no keys to open "pii" ×${N})`);
    const pci = KeySet.fromJwks(readFileSync(`${keysDir}/pci.json`, 'utf8'));
    readFileSync(out, 'utf8').trim().split('\n').forEach((line, i) => {
      const before = JSON.parse(inputLines[i]!) as Sealed;
      const after = JSON.parse(line) as Sealed;
      expect(after.customer.ssn).toBe(before.customer.ssn); // byte-identical
      expect([header(after.card.number).kid, header(after.card.cvv).kid]).toEqual(['pci-2', 'pci-2']);
      expect(decryptFields({ pci, pii: piiKeys }, after, policy).doc).toEqual(doc(i));
    });

    // With the full keyring (pii's private key too), in worker threads: everything is current, every line unchanged.
    const again = await run(['reencrypt', '--policy', 'policy.json', '--keyring', full, '--in', out, '--out', tmp.path('events.v3.jsonl'), '--json', '--jobs', '2']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ primaryKids: { pci: 'pci-2', pii: 'pii-1' }, records: N, fieldsResealed: 0, alreadyCurrent: 3 * N, leftSealed: 0 });
    expect(readFileSync(tmp.path('events.v3.jsonl'), 'utf8')).toBe(readFileSync(out, 'utf8'));
  });

  it('plaintext of an audience the keyring lacks fails that record (ERR_AUDIENCE_MISSING); a public-key audience seals it', async () => {
    const file = tmp.path('mixed.jsonl');
    writeFileSync(file, `${inputLines[0]}\n${JSON.stringify(doc(9))}\n`);
    const r = await run(['reencrypt', '--policy', 'policy.json', '--keyring', pciOnly, '--in', file, '--out', tmp.path('mixed.out.jsonl'), '--json']);
    expect(r.code, r.stderr).toBe(4);
    expect(JSON.parse(r.out)).toMatchObject({ records: 2, written: 1, leftSealed: 1, failedByCode: { ERR_AUDIENCE_MISSING: 1 } });
    const w = await run(['reencrypt', '--policy', 'policy.json', '--keyring', writer, '--in', file, '--out', tmp.path('mixed.w.jsonl'), '--json']);
    expect(w.code, w.stderr).toBe(0);
    expect(JSON.parse(w.out)).toMatchObject({ records: 2, written: 2, leftSealed: 1, sealedFromPlaintext: 3, fieldsResealed: 2 });
    const last = JSON.parse(readFileSync(tmp.path('mixed.w.jsonl'), 'utf8').trim().split('\n')[1]!) as Sealed;
    expect(header(last.customer.ssn)).toMatchObject({ alg: 'ECDH-ES+A256KW', kid: 'pii-1' });
  });

  it('Kafka: a keyring that cannot open an audience, or --mode whole with a keyring, is refused before connecting', async () => {
    const kafka = ['reencrypt', '--policy', 'policy.json', '--topic', 'a', '--to-topic', 'b', '--brokers', '127.0.0.1:9'];
    const partial = await run([...kafka, '--keyring', writer]);
    expect([partial.code, errorCode(partial)]).toEqual([2, 'ERR_USAGE']);
    expect(partial.stderr).toContain('"pii"');
    const whole = await run([...kafka, '--keyring', full, '--mode', 'whole']);
    expect([whole.code, errorCode(whole)]).toEqual([2, 'ERR_USAGE']);
  });
});

describe('keyset commands on a keyring audience', () => {
  it('list shows every audience with its kind; edits need --audience and a shared key set', async () => {
    const list = await run(['keyset', 'list', '--keyring', full, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const all = JSON.parse(list.out);
    expect(Object.keys(all)).toEqual(['pci', 'pii']);
    expect(all.pci.kind).toBe('keyset');
    expect(all.pii).toMatchObject({ kind: 'private', keys: [{ kid: 'pii-1', role: 'primary', type: 'OKP X25519' }] });
    const text = await run(['keyset', 'list', '--keyring', full]);
    expect(text.out).toMatch(/^pci \(keyset .*pci\.json\)\nKID\s+ROLE\s+RETIRED\n/);
    const one = await run(['keyset', 'list', '--keyring', full, '--audience', 'pii', '--json']);
    expect(JSON.parse(one.out)).toEqual([{ kid: 'pii-1', role: 'primary', type: 'OKP X25519' }]);
    for (const k of piiKeys.toPrivateJwks().keys) expect(list.out + text.out + one.out).not.toContain(String(k.d));

    const pub = await run(['keyset', 'add', '--keyring', full, '--audience', 'pii', '--kid', 'x']);
    expect([pub.code, errorCode(pub)]).toEqual([2, 'ERR_USAGE']);
    const noAudience = await run(['keyset', 'promote', '--kid', 'pci-2', '--keyring', full]);
    expect([noAudience.code, errorCode(noAudience)]).toEqual([2, 'ERR_USAGE']);
    const unknown = await run(['keyset', 'promote', '--kid', 'pci-2', '--keyring', full, '--audience', 'ops']);
    expect([unknown.code, errorCode(unknown)]).toEqual([2, 'ERR_USAGE']);
    const alone = await run(['keyset', 'promote', '--kid', 'pci-2', '--keyset', rel('pci.json'), '--audience', 'pci']);
    expect([alone.code, errorCode(alone)]).toEqual([2, 'ERR_USAGE']);
  });
});
