// scan on JSONL files, run as the built executable: exact counts per kid, alg
// and audience for a file of known composition (with plaintext, records that
// are not JSON, misfits and a malformed token), --require-absent before and
// after a reencrypt, progress and refusals. Kafka topics: test/kafka.test.ts.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, encryptFields } from '@wireseal/core';
import type { Tally } from '../src/scan/tally.ts';
import { errorCode, tempDir, wireseal } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const SPLIT = { audiences: { pci: ['card.number', 'card.cvv'], pii: ['customer.ssn'] } };
const split = FieldPolicy.parse(SPLIT);
const pciOld = KeySet.generate({ kid: 'pci-1' });
const pciNew = pciOld.addKey({ kid: 'pci-2' }).promote('pci-2');
const pii = KeySet.generate({ kid: 'pii-1' });
const policyFile = tmp.path('split-policy.json');
const input = tmp.path('events.jsonl');
const N = 90; // 30 records of each kind below

const doc = (i: number) => ({ id: i, card: { number: `4111-${i}`, cvv: `${100 + i}` }, customer: { ssn: `078-05-${1000 + i}`, name: `c${i}` } });

/** JSON of `scan --json`. */
type Summary = Tally & { status: string; requireAbsent?: Record<string, number> };

beforeAll(() => {
  writeFileSync(policyFile, JSON.stringify(SPLIT));
  writeFileSync(tmp.path('pci.json'), JSON.stringify(pciNew.toJwks()));
  writeFileSync(tmp.path('pii.json'), JSON.stringify(pii.toJwks()));
  writeFileSync(tmp.path('ring.json'), JSON.stringify({ audiences: { pci: { keyset: 'pci.json' }, pii: { keyset: 'pii.json' } } }));
  const lines: Buffer[] = [];
  const line = (v: unknown) => lines.push(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
  for (let i = 0; i < N; i++) {
    if (i % 3 === 0) line(encryptFields({ pci: pciOld, pii }, doc(i), split)); // pci-1 ×2, pii-1
    else if (i % 3 === 1) line(encryptFields({ pci: pciNew, pii }, doc(i), split)); // pci-2 ×2, pii-1
    else {
      const sealed = encryptFields({ pci: pciNew, pii }, doc(i), split) as { customer: { ssn: string } };
      sealed.customer.ssn = `078-05-${1000 + i}`; // pci-2 ×2, plaintext at customer.ssn
      line(sealed);
    }
    if (i % 30 === 0) line('   '); // blank: not a record
  }
  line('{"id": "not json",');
  line('plain text');
  lines.push(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])); // not UTF-8
  const ssn = (encryptFields({ pii }, { customer: { ssn: 'x' } }, FieldPolicy.parse({ audiences: { pii: ['customer.ssn'] } })) as { customer: { ssn: string } }).customer.ssn;
  line({ id: 'misfit', card: 'a string where an object is expected', customer: { ssn } }); // 2 misfits, pii-1
  line({ id: 'malformed', card: { number: 'eyJub3Q.a.b.c.d' } }); // token-shaped, does not decode
  writeFileSync(input, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
});

const scan = (file: string, extra: string[] = []) => wireseal(['scan', '--policy', policyFile, '--in', file, '--json', ...extra]);

describe('scan --in FILE', () => {
  it('counts tokens per kid, alg and audience, plaintext per policy path, records not JSON and misfits, exactly', async () => {
    const r = await scan(input);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.out) as Summary;
    expect(s).toEqual({
      status: 'done',
      file: input,
      mode: 'fields',
      records: N + 5,
      notJson: 3,
      tombstones: 0,
      tokens: 60 + 120 + 61,
      tokensByKid: { 'pci-1': 60, 'pci-2': 120, 'pii-1': 61 },
      tokensByAlg: { A256KW: 241 },
      tokensByAudience: { pci: 180, pii: 61 },
      tokensWithoutKid: 0,
      malformed: 1,
      plaintext: 30,
      plaintextByPath: { 'customer.ssn': 30 },
      misfits: 2,
      misfitsByPath: { 'card.number': 1, 'card.cvv': 1 },
      seconds: expect.any(Number),
    });
    expect(r.stderr).toContain('scan: done: 95 records of');
    expect(r.stderr).toContain('tokens by kid: "pci-2" ×120, "pii-1" ×61, "pci-1" ×60');
    expect(r.stderr).toContain('tokens by audience: pci ×180, pii ×61');
    expect(r.stderr).toContain('plaintext by policy path (values not shown): customer.ssn ×30');
    // Plaintext values are counted, never printed.
    expect(r.stderr + r.out).not.toMatch(/078-05-/);
  });

  it('a {"fields": [...]} policy counts its tokens under the audience "default"', async () => {
    const keys = KeySet.generate({ kid: 'k1' });
    const policy = FieldPolicy.parse({ fields: ['pan'] });
    const file = tmp.path('default.jsonl');
    writeFileSync(file, `${Array.from({ length: 7 }, (_, i) => JSON.stringify(encryptFields(keys, { pan: `p${i}` }, policy, { alg: i < 2 ? 'dir' : 'A256KW' }))).join('\n')}\n`);
    writeFileSync(tmp.path('default-policy.json'), JSON.stringify(policy.toJSON()));
    const r = await wireseal(['scan', '--policy', tmp.path('default-policy.json'), '--in', file, '--json', '--progress', 'none']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ records: 7, tokens: 7, tokensByKid: { k1: 7 }, tokensByAlg: { dir: 2, A256KW: 5 }, tokensByAudience: { default: 7 }, plaintext: 0 });
  });

  it('--require-absent KID: exit 4 with the count while tokens under KID remain, exit 0 once reencrypt has moved them', async () => {
    const found = await scan(input, ['--require-absent', 'pci-0', '--require-absent', 'pci-1']);
    expect(found.code, found.stderr).toBe(4);
    expect((JSON.parse(found.out) as Summary).requireAbsent).toEqual({ 'pci-0': 0, 'pci-1': 60 });
    expect(found.stderr).toContain('scan: 60 tokens are still sealed under kid "pci-1" (--require-absent)');
    expect(found.stderr).toContain('scan: no token under kid "pci-0"');

    const none = await scan(input, ['--require-absent', 'pci-0']);
    expect(none.code, none.stderr).toBe(0);
    expect((JSON.parse(none.out) as Summary).requireAbsent).toEqual({ 'pci-0': 0 });

    const out = tmp.path('events.v2.jsonl');
    const re = await wireseal(['reencrypt', '--policy', policyFile, '--keyring', tmp.path('ring.json'), '--in', input, '--out', out, '--json']);
    expect(re.code, re.stderr).toBe(4); // the records that are not JSON, the misfit and the malformed token are rejected
    expect(JSON.parse(re.out)).toMatchObject({ written: N, resealedByKid: { 'pci-1': 60 } });
    const after = await scan(out, ['--require-absent', 'pci-1']);
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.out)).toMatchObject({ records: N, tokensByKid: { 'pci-2': 180, 'pii-1': 90 }, plaintext: 0, requireAbsent: { 'pci-1': 0 } });
    expect(after.stderr).toContain('scan: no token under kid "pci-1"');
  });

  it('shows progress as reencrypt does (--progress bar: a \\r bar; lines: "scan: N records, R rec/s")', async () => {
    const bar = await wireseal(['scan', '--policy', policyFile, '--in', input, '--progress', 'bar']);
    expect(bar.code, bar.stderr).toBe(0);
    expect(bar.stderr).toMatch(/\r.*records .*rec\/s/);
    expect(bar.out).toBe(''); // no --json: nothing on stdout
    const lines = await wireseal(['scan', '--policy', policyFile, '--in', input, '--progress', 'lines', '--progress-interval', '0.001']);
    expect(lines.stderr).toMatch(/^scan: 95 records \(100\.0%\), [\d,]+ rec\/s/m);
  });

  it('refuses bad command lines (exit 2) and a missing file (exit 3)', async () => {
    for (const args of [
      ['scan', '--policy', policyFile],
      ['scan', '--in', input],
      ['scan', '--policy', policyFile, '--in', input, '--topic', 't', '--brokers', 'b:1'],
      ['scan', '--policy', policyFile, '--in', input, '--mode', 'whole'],
      ['scan', '--policy', policyFile, '--mode', 'whole', '--topic', 't', '--brokers', 'b:1'],
      ['scan', '--policy', policyFile, '--in', input, '--require-absent', ''],
    ]) {
      const r = await wireseal(args);
      expect([r.code, errorCode(r)], args.join(' ')).toEqual([2, 'ERR_USAGE']);
    }
    const missing = await scan(tmp.path('nope.jsonl'));
    expect([missing.code, errorCode(missing)]).toEqual([3, 'ERR_IO']);
  });
});
