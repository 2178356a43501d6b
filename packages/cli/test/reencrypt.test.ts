// reencrypt on JSONL files, run as the built executable: a 100,000-line file
// after a rotation, killed (SIGKILL) halfway and resumed, compared with an
// uninterrupted run; and the per-field rules, rejects, progress and refusals.
import { createCipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, decryptFields, encryptFields, seal } from '@wireseal/core';
import type { Context, JsonValue } from '@wireseal/core';
import { errorCode, tempDir, wireseal } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const POLICY = { fields: ['card.number', 'customer.ssn'] };
const policy = FieldPolicy.parse(POLICY);
const ctx: Context = Object.freeze({ tenant: 'acme' });

function plainDoc(i: number): Record<string, JsonValue> {
  return { id: i, card: { number: `4111${String(i).padStart(12, '0')}`, brand: 'visa' }, customer: { ssn: `${100 + (i % 800)}-12-${String(i % 10000).padStart(4, '0')}`, name: `c${i}` }, amount: i / 4 };
}

const kidOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

describe('a 100,000-line file after a rotation', () => {
  const N = 100_000;
  const keysFile = tmp.path('keys.json');
  const policyFile = tmp.path('policy.json');
  const input = tmp.path('in.jsonl');
  let rotated: KeySet;

  beforeAll(async () => {
    writeFileSync(policyFile, JSON.stringify(POLICY));
    expect((await wireseal(['keygen', '--kid', 'old', '--out', keysFile])).code).toBe(0);
    const old = KeySet.fromJwks(readFileSync(keysFile, 'utf8'));
    const lines: string[] = [];
    for (let i = 0; i < N; i++) lines.push(JSON.stringify(encryptFields(old, plainDoc(i), policy, { context: ctx })));
    writeFileSync(input, `${lines.join('\n')}\n`);
    expect((await wireseal(['keyset', 'add', '--keyset', keysFile, '--kid', 'new'])).code).toBe(0);
    expect((await wireseal(['keyset', 'promote', 'new', '--keyset', keysFile])).code).toBe(0);
    rotated = KeySet.fromJwks(readFileSync(keysFile, 'utf8'));
  }, 300_000);

  const args = (out: string): string[] => ['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--context', 'tenant=acme', '--in', input, '--out', out, '--json'];

  /** Every line: same id and plaintext as the source record, every field re-sealed under "new". */
  function checkOutput(file: string): string[] {
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(N);
    lines.forEach((line, i) => {
      const doc = JSON.parse(line) as { id: number; card: { number: string }; customer: { ssn: string } };
      if (doc.id !== i) expect.fail(`line ${i} holds record ${doc.id}`);
      if (kidOf(doc.card.number) !== 'new' || kidOf(doc.customer.ssn) !== 'new') expect.fail(`line ${i} still has a token under the old key`);
      const opened = decryptFields(rotated, doc, policy, { context: ctx });
      expect(opened.decrypted).toHaveLength(2);
      if (JSON.stringify(opened.doc) !== JSON.stringify(plainDoc(i))) expect.fail(`line ${i} does not decrypt to its record`);
    });
    return lines;
  }

  it('re-seals every field, killed halfway and resumed, with the same records as an uninterrupted run', async () => {
    // The uninterrupted run, in one thread.
    const full = await wireseal([...args(tmp.path('full.jsonl')), '--jobs', '1']);
    expect(full.code, full.stderr).toBe(0);
    const summary = JSON.parse(full.out);
    expect(summary).toMatchObject({ status: 'done', primaryKid: 'new', records: N, written: N, failed: 0, fieldsResealed: 2 * N, alreadyCurrent: 0, sealedFromPlaintext: 0, resealedByKid: { old: 2 * N }, resumed: false });
    expect(full.stderr).toMatch(/reencrypt: done under primary "new": 100,000 records in .*200,000 fields re-sealed, 0 already current, 0 sealed from plaintext, 0 failed/);
    expect(existsSync(tmp.path('full.jsonl.checkpoint'))).toBe(false);
    expect(statSync(tmp.path('full.jsonl')).mode & 0o777).toBe(0o600);

    // The interrupted run, with two worker threads: SIGKILL once the checkpoint shows half the input done.
    const out = tmp.path('resumed.jsonl');
    const cpFile = `${out}.checkpoint`;
    const inputSize = statSync(input).size;
    let killedAt = 0;
    const killed = await wireseal([...args(out), '--jobs', '2'], {
      onSpawn: (child) => {
        const timer = setInterval(() => {
          try {
            const cp = JSON.parse(readFileSync(cpFile, 'utf8')) as { inOffset: number };
            if (cp.inOffset >= inputSize / 2) {
              killedAt = cp.inOffset;
              child.kill('SIGKILL');
              clearInterval(timer);
            }
          } catch {
            /* not written yet */
          }
        }, 10);
        child.on('exit', () => clearInterval(timer));
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThanOrEqual(inputSize / 2);
    const cp = JSON.parse(readFileSync(cpFile, 'utf8')) as { inOffset: number; outOffset: number; line: number };
    expect(cp.inOffset).toBeLessThan(inputSize);
    expect(statSync(out).size).toBeGreaterThanOrEqual(cp.outOffset); // anything past outOffset is cut on resume

    // Without --resume the leftovers are refused, untouched.
    const refused = await wireseal(args(out));
    expect([refused.code, errorCode(refused)]).toEqual([2, 'ERR_USAGE']);
    expect(existsSync(cpFile)).toBe(true);

    const resumed = await wireseal([...args(out), '--resume', '--jobs', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.out)).toMatchObject({ status: 'done', records: N, written: N, failed: 0, fieldsResealed: 2 * N, resumed: true });
    expect(existsSync(cpFile)).toBe(false);

    const a = checkOutput(tmp.path('full.jsonl'));
    const b = checkOutput(out);
    // Same records in the same order; the tokens differ only by their fresh content keys and IVs.
    const shape = (l: string) => l.replace(/"eyJ[^"]+"/g, (t) => `"${t.split('.')[0]}"`);
    for (let i = 0; i < N; i += 997) expect(shape(b[i]!)).toBe(shape(a[i]!));
  }, 300_000);

  it('refuses to resume under another primary key', async () => {
    const out = tmp.path('other.jsonl');
    const killed = await wireseal([...args(out), '--checkpoint-every', '1000'], {
      onSpawn: (child) => {
        const timer = setInterval(() => {
          if (existsSync(`${out}.checkpoint`) && (JSON.parse(readFileSync(`${out}.checkpoint`, 'utf8')) as { line: number }).line > 0) {
            child.kill('SIGKILL');
            clearInterval(timer);
          }
        }, 10);
        child.on('exit', () => clearInterval(timer));
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    const otherKeys = tmp.path('other-keys.json');
    writeFileSync(otherKeys, JSON.stringify(rotated.addKey({ kid: 'newer' }).promote('newer').toJwks()));
    const r = await wireseal(['reencrypt', '--policy', policyFile, '--keyset', otherKeys, '--context', 'tenant=acme', '--in', input, '--out', out, '--resume']);
    expect([r.code, errorCode(r)]).toEqual([2, 'ERR_USAGE']);
    expect(r.stderr).toContain('primary');
  }, 120_000);
});

describe('per-field rules, rejects and progress', () => {
  const keys = KeySet.generate({ kid: 'k1' }).addKey({ kid: 'k2' });
  const rotated = keys.promote('k2');
  const keysFile = tmp.path('small-keys.json');
  const policyFile = tmp.path('small-policy.json');
  const input = tmp.path('small.jsonl');
  const lines: string[] = [];

  beforeAll(() => {
    writeFileSync(keysFile, JSON.stringify(rotated.toJwks()));
    writeFileSync(policyFile, JSON.stringify(POLICY));
    const old = encryptFields(keys, plainDoc(1), policy, { context: ctx }) as { card: { number: string }; customer: { ssn: string } };
    const current = JSON.stringify(encryptFields(rotated, plainDoc(2), policy, { context: ctx }));
    const tampered = JSON.parse(JSON.stringify(old)) as typeof old;
    tampered.customer.ssn = `${tampered.customer.ssn.slice(0, -3)}AAA`;
    // 0: old tokens, odd spacing and a 20-digit number that JSON.parse would round: kept byte for byte
    lines.push(`{ "id": 0,  "big": 12345678901234567890, "card": {"number": ${JSON.stringify(old.card.number)}}, "customer": {"ssn": ${JSON.stringify(old.customer.ssn)}} }`);
    lines.push(current); // 1: already current: byte-identical
    lines.push(JSON.stringify(plainDoc(3))); // 2: plaintext: sealed
    lines.push(JSON.stringify(tampered)); // 3: ERR_DECRYPT
    lines.push('{"id": 4, "card": '); // 4: not JSON
    lines.push(''); // 5: blank: kept
    lines.push(JSON.stringify(encryptFields(keys, plainDoc(6), policy, { context: { tenant: 'other' } }))); // 6: ERR_CONTEXT_MISMATCH
    lines.push(JSON.stringify({ id: 7, card: { number: seal(keys, '"x"', { field: 'customer.ssn', context: ctx }) } })); // 7: ERR_FIELD_MISMATCH
    // 8: a current token where the policy expects it, and plaintext under a member of the wrong shape
    // (an array where customer.ssn expects an object): never written back with that plaintext.
    const cur = encryptFields(rotated, plainDoc(8), policy, { context: ctx }) as { card: { number: string } };
    lines.push(JSON.stringify({ id: 8, card: { number: cur.card.number }, customer: [{ ssn: '078-05-1120' }] }));
    writeFileSync(input, `${lines.join('\n')}\n`);
  });

  const run = (out: string, extra: string[] = []) =>
    wireseal(['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--context', 'tenant=acme', '--in', input, '--out', out, '--json', ...extra]);

  it('re-seals old tokens, keeps current ones byte-identical, seals plaintext, rejects bad records with their code (exit 4)', async () => {
    const out = tmp.path('small-out.jsonl');
    const r = await run(out);
    expect(r.code, r.stderr).toBe(4);
    expect(JSON.parse(r.out)).toMatchObject({
      records: 8,
      written: 3,
      failed: 5,
      fieldsResealed: 2,
      alreadyCurrent: 2,
      sealedFromPlaintext: 2,
      resealedByKid: { k1: 2 },
      failedByCode: { ERR_DECRYPT: 1, ERR_INPUT_INVALID: 1, ERR_CONTEXT_MISMATCH: 1, ERR_FIELD_MISMATCH: 1, ERR_PLAINTEXT_FIELD: 1 },
    });
    const outLines = readFileSync(out, 'utf8').split('\n');
    expect(outLines).toHaveLength(5); // 3 records, the blank line, and the final newline
    expect(outLines[0]).toMatch(/^\{ "id": 0, {2}"big": 12345678901234567890, "card": \{"number": "eyJ[^"]+"\}, "customer": \{"ssn": "eyJ[^"]+"\} \}$/);
    expect(outLines[1]).toBe(lines[1]);
    expect(outLines[3]).toBe('');
    for (const i of [0, 2]) {
      const doc = JSON.parse(outLines[i]!) as { card: { number: string }; customer: { ssn: string } };
      expect([kidOf(doc.card.number), kidOf(doc.customer.ssn)]).toEqual(['k2', 'k2']);
      expect(decryptFields(rotated, doc, policy, { context: ctx }).decrypted).toHaveLength(2);
    }
    expect((decryptFields(rotated, JSON.parse(outLines[2]!), policy, { context: ctx }).doc as JsonValue)).toEqual(plainDoc(3));

    const rejects = readFileSync(`${out}.rejects.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; code: string; record: string; message: string });
    expect(rejects.map((x) => [x.line, x.code])).toEqual([
      [4, 'ERR_DECRYPT'],
      [5, 'ERR_INPUT_INVALID'],
      [7, 'ERR_CONTEXT_MISMATCH'],
      [8, 'ERR_FIELD_MISMATCH'],
      [9, 'ERR_PLAINTEXT_FIELD'],
    ]);
    expect(rejects[4]!.record).toBe(lines[8]);
    expect(rejects[0]!.record).toBe(lines[3]);
    expect(statSync(`${out}.rejects.jsonl`).mode & 0o777).toBe(0o600);
    expect(r.stderr).toContain('5 failed');
  });

  it('--legacy-key-env converts legacy AES-CBC values (made here with node:crypto) and rejects ones that do not decrypt', async () => {
    const legacyKey = randomBytes(32);
    const cbc = (text: string): string => {
      const iv = randomBytes(16);
      const c = createCipheriv('aes-256-cbc', legacyKey, iv);
      return Buffer.concat([iv, c.update(text, 'utf8'), c.final()]).toString('base64');
    };
    const file = tmp.path('legacy.jsonl');
    const old = encryptFields(keys, plainDoc(1), policy, { context: ctx }) as { card: { number: string } };
    const records = [
      { id: 0, card: { number: cbc('4111-0000') }, customer: { ssn: cbc('078-05-1120') } },
      { id: 1, card: { number: old.card.number }, customer: { ssn: cbc('123-45-6789') } },
      { id: 2, card: { number: `${cbc('tampered').slice(0, -8)}AAAAAAA=` } },
    ];
    writeFileSync(file, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const out = tmp.path('legacy-out.jsonl');
    const r = await wireseal(
      ['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--context', 'tenant=acme', '--in', file, '--out', out, '--json', '--strict', '--legacy-key-env', 'LEGACY_KEY', '--legacy-key-encoding', 'base64'],
      { env: { LEGACY_KEY: legacyKey.toString('base64') } },
    );
    expect(r.code, r.stderr).toBe(4);
    expect(JSON.parse(r.out)).toMatchObject({ records: 3, written: 2, legacyConverted: 3, fieldsResealed: 1, failedByCode: { ERR_DECRYPT: 1 } });
    const docs = readFileSync(out, 'utf8').trim().split('\n').map((l) => decryptFields(rotated, JSON.parse(l), policy, { context: ctx }).doc);
    expect(docs).toEqual([
      { id: 0, card: { number: '4111-0000' }, customer: { ssn: '078-05-1120' } },
      { id: 1, card: { number: '4111000000000001' }, customer: { ssn: '123-45-6789' } },
    ]);
    const missing = await wireseal(['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--in', file, '--out', tmp.path('l2.jsonl'), '--legacy-key-env', 'NOPE']);
    expect([missing.code, errorCode(missing)]).toEqual([1, 'ERR_KEY_SOURCE']);
  });

  it('--client (or WIRESEAL_KAFKA_CLIENT) names kafkajs or platformatic; anything else, or --client with files, is ERR_USAGE', async () => {
    const kafka = ['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--topic', 'a', '--to-topic', 'b', '--brokers', '127.0.0.1:9'];
    const bad = await wireseal([...kafka, '--client', 'rdkafka']);
    expect([bad.code, errorCode(bad)]).toEqual([2, 'ERR_USAGE']);
    expect(bad.stderr).toContain('--client must be one of kafkajs, platformatic (got "rdkafka")');
    const env = await wireseal(kafka, { env: { WIRESEAL_KAFKA_CLIENT: 'Kafkajs' } });
    expect([env.code, errorCode(env)]).toEqual([2, 'ERR_USAGE']);
    expect(env.stderr).toContain('WIRESEAL_KAFKA_CLIENT must be one of kafkajs, platformatic (got "Kafkajs")');
    // The flag wins over the environment (then the broker does not answer: ERR_IO).
    const flagWins = await wireseal([...kafka, '--client', 'kafkajs'], { env: { WIRESEAL_KAFKA_CLIENT: 'nope' } });
    expect(errorCode(flagWins)).toBe('ERR_IO');
    const files = await run(tmp.path('client-out.jsonl'), ['--client', 'platformatic']);
    expect([files.code, errorCode(files)]).toEqual([2, 'ERR_USAGE']);
    expect(files.stderr).toContain('--client applies only with --topic');
  }, 60_000);

  it('--strict rejects plaintext records with ERR_PLAINTEXT_FIELD', async () => {
    const out = tmp.path('strict-out.jsonl');
    const r = await run(out, ['--strict']);
    expect(r.code).toBe(4);
    const summary = JSON.parse(r.out);
    expect(summary.sealedFromPlaintext).toBe(0);
    expect(summary.failedByCode.ERR_PLAINTEXT_FIELD).toBe(2);
  });

  it('refuses to overwrite the output without --force, and --force starts over', async () => {
    const out = tmp.path('exists.jsonl');
    writeFileSync(out, 'keep me\n');
    const r = await run(out);
    expect([r.code, errorCode(r)]).toEqual([2, 'ERR_USAGE']);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
    expect((await run(out, ['--force'])).code).toBe(4);
    expect(readFileSync(out, 'utf8')).not.toContain('keep me');
  });

  it('SIGINT checkpoints and exits 130; --resume finishes with every record exactly once', async () => {
    const big = tmp.path('sigint.jsonl');
    const rows = Array.from({ length: 20_000 }, (_, i) => JSON.stringify(encryptFields(keys, plainDoc(i), policy, { context: ctx })));
    writeFileSync(big, `${rows.join('\n')}\n`);
    const out = tmp.path('sigint-out.jsonl');
    const base = ['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--context', 'tenant=acme', '--in', big, '--out', out, '--checkpoint-every', '500', '--json'];
    const stopped = await wireseal(base, {
      onSpawn: (child) => {
        const timer = setInterval(() => {
          try {
            if ((JSON.parse(readFileSync(`${out}.checkpoint`, 'utf8')) as { line: number }).line > 0) {
              child.kill('SIGINT');
              clearInterval(timer);
            }
          } catch {
            /* not yet */
          }
        }, 10);
        child.on('exit', () => clearInterval(timer));
      },
    });
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(JSON.parse(stopped.out).status).toBe('interrupted');
    expect(stopped.stderr).toContain('--resume');
    const cp = JSON.parse(readFileSync(`${out}.checkpoint`, 'utf8')) as { outOffset: number; line: number };
    expect(statSync(out).size).toBe(cp.outOffset); // a clean stop leaves nothing past the checkpoint
    expect(cp.line).toBeLessThan(20_000);
    const resumed = await wireseal([...base, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const ids = readFileSync(out, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual(rows.map((_, i) => i));
  });

  it('prints plain progress lines when not a terminal, and a \\r bar with rate and ETA with --progress bar', async () => {
    const big = tmp.path('progress.jsonl');
    const doc = JSON.stringify(encryptFields(keys, plainDoc(9), policy, { context: ctx }));
    writeFileSync(big, `${Array.from({ length: 20_000 }, () => doc).join('\n')}\n`);
    const base = ['reencrypt', '--policy', policyFile, '--keyset', keysFile, '--context', 'tenant=acme', '--in', big];
    const lines = await wireseal([...base, '--out', tmp.path('p1.jsonl'), '--progress-interval', '0.05']);
    expect(lines.code).toBe(0);
    const progress = lines.stderr.split('\n').filter((l) => l.startsWith('reencrypt: ') && l.includes('rec/s'));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatch(/^reencrypt: [\d,]+ records \(\d+\.\d%\), [\d,]+ rec\/s, ETA \S+$/);
    expect(lines.stderr).not.toContain('\r');
    const bar = await wireseal([...base, '--out', tmp.path('p2.jsonl'), '--progress', 'bar']);
    expect(bar.code).toBe(0);
    expect(bar.stderr).toMatch(/\r\[[#.]{24}\] +\d+\.\d% [\d,]+ records {2}[\d,]+ rec\/s {2}ETA /);
    expect(bar.stderr).toMatch(/reencrypt: done under primary "k2": 20,000 records/);
  });
});
