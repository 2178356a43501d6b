// keygen and the keyset commands, run as the built executable: a full
// rotation through the file commands, file modes, refusals and exit codes.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { KeySet } from '@wireseal/core';
import type { Jwks } from '@wireseal/core';
import { errorCode, tempDir, wireseal } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const readJwks = (file: string): Jwks => JSON.parse(readFileSync(file, 'utf8')) as Jwks;
const keyBytes = (jwks: Jwks): string[] => jwks.keys.map((k) => k.k);

describe('keygen', () => {
  it('prints a valid key set with one 32-byte primary to stdout', async () => {
    const r = await wireseal(['keygen', '--kid', '2026-05']);
    expect(r.code).toBe(0);
    const keys = KeySet.fromJwks(r.out);
    expect(keys.primaryKid).toBe('2026-05');
    expect(keys.list()).toEqual([{ kid: '2026-05', role: 'primary' }]);
    expect(Buffer.from((JSON.parse(r.out) as Jwks).keys[0]!.k, 'base64url')).toHaveLength(32);
  });

  it('writes files with mode 0600, refuses to overwrite without --force, and keeps stdout free of keys', async () => {
    const file = tmp.path('gen.json');
    const first = await wireseal(['keygen', '--kid', 'a', '--out', file]);
    expect(first.code).toBe(0);
    expect(first.out).toBe('');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = readFileSync(file, 'utf8');
    expect(first.stderr).not.toContain(keyBytes(JSON.parse(before) as Jwks)[0]!);

    const again = await wireseal(['keygen', '--kid', 'b', '--out', file]);
    expect(again.code).toBe(2);
    expect(errorCode(again)).toBe('ERR_USAGE');
    expect(readFileSync(file, 'utf8')).toBe(before);

    const forced = await wireseal(['keygen', '--kid', 'b', '--out', file, '--force']);
    expect(forced.code).toBe(0);
    expect(KeySet.fromJwks(readFileSync(file, 'utf8')).primaryKid).toBe('b');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('--key gives one decrypt-only JWK (or a primary with --primary)', async () => {
    const r = await wireseal(['keygen', '--key', '--kid', 'k1']);
    expect(r.code).toBe(0);
    const jwk = JSON.parse(r.out);
    expect(jwk).toMatchObject({ kty: 'oct', kid: 'k1', key_ops: ['decrypt'] });
    expect(Buffer.from(jwk.k, 'base64url')).toHaveLength(32);
    const p = await wireseal(['keygen', '--key', '--primary', '--kid', 'k2']);
    expect(JSON.parse(p.out).key_ops).toEqual(['encrypt', 'decrypt']);
  });

  it('rejects a bad kid with ERR_KEYSET_INVALID (exit 1)', async () => {
    const r = await wireseal(['keygen', '--kid', 'x'.repeat(65)]);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('ERR_KEYSET_INVALID');
    expect(r.out).toBe('');
  });
});

describe('rotation through the file commands', () => {
  it('add, promote, retire, remove: old tokens open until the old key is removed, new tokens use the new key', async () => {
    const keys = tmp.path('keys.json');
    expect((await wireseal(['keygen', '--kid', '2026-05', '--out', keys])).code).toBe(0);
    const oldToken = (await wireseal(['seal', '--keyset', keys], { input: 'sealed in May' })).out.trim();

    // 1. add the new key decrypt-only: still sealing with the old one
    const add = await wireseal(['keyset', 'add', '--keyset', keys, '--kid', '2026-11']);
    expect(add.code).toBe(0);
    let set = readJwks(keys);
    expect(set.keys.map((k) => [k.kid, k.key_ops])).toEqual([
      ['2026-05', ['encrypt', 'decrypt']],
      ['2026-11', ['decrypt']],
    ]);
    expect(statSync(keys).mode & 0o777).toBe(0o600);
    const stillOld = (await wireseal(['seal', '--keyset', keys], { input: 'x' })).out.trim();
    expect(JSON.parse(Buffer.from(stillOld.split('.')[0]!, 'base64url').toString()).kid).toBe('2026-05');

    // 2. promote
    const promote = await wireseal(['keyset', 'promote', '2026-11', '--keyset', keys]);
    expect(promote.code).toBe(0);
    set = readJwks(keys);
    expect(set.keys.map((k) => [k.kid, k.key_ops])).toEqual([
      ['2026-05', ['decrypt']],
      ['2026-11', ['encrypt', 'decrypt']],
    ]);
    const newToken = (await wireseal(['seal', '--keyset', keys], { input: 'sealed in November' })).out.trim();
    expect(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid).toBe('2026-11');

    // remove refuses a key that is not retired (and the primary, always)
    const early = await wireseal(['keyset', 'remove', '2026-05', '--keyset', keys]);
    expect([early.code, errorCode(early)]).toEqual([2, 'ERR_USAGE']);
    const primary = await wireseal(['keyset', 'remove', '2026-11', '--keyset', keys, '--force']);
    expect([primary.code, errorCode(primary)]).toEqual([1, 'ERR_KEYSET_INVALID']);
    const retirePrimary = await wireseal(['keyset', 'retire', '2026-11', '--keyset', keys]);
    expect([retirePrimary.code, errorCode(retirePrimary)]).toEqual([1, 'ERR_KEYSET_INVALID']);

    // 3. retire: still opens old tokens
    const retire = await wireseal(['keyset', 'retire', '2026-05', '--keyset', keys]);
    expect(retire.code).toBe(0);
    set = readJwks(keys);
    expect(set.keys[0]).toMatchObject({ kid: '2026-05', key_ops: ['decrypt'] });
    expect(typeof set.keys[0]!.wireseal_retired).toBe('string');
    const list = await wireseal(['keyset', 'list', '--keyset', keys, '--json']);
    expect(JSON.parse(list.out)).toEqual([
      { kid: '2026-05', role: 'decrypt-only', retired: set.keys[0]!.wireseal_retired },
      { kid: '2026-11', role: 'primary' },
    ]);
    const openOld = await wireseal(['open', '--keyset', keys], { input: oldToken });
    expect([openOld.code, openOld.out]).toEqual([0, 'sealed in May']);

    // 4. remove: old tokens no longer open, new ones do
    const remove = await wireseal(['keyset', 'remove', '2026-05', '--keyset', keys]);
    expect(remove.code).toBe(0);
    expect(readJwks(keys).keys.map((k) => k.kid)).toEqual(['2026-11']);
    const gone = await wireseal(['open', '--keyset', keys], { input: oldToken });
    expect([gone.code, errorCode(gone), gone.out]).toEqual([1, 'ERR_KEY_UNKNOWN', '']);
    const openNew = await wireseal(['open', '--keyset', keys], { input: newToken });
    expect([openNew.code, openNew.out]).toEqual([0, 'sealed in November']);
  });

  it('every keyset sub-command takes the kid as a positional or as --kid; both differing is ERR_USAGE', async () => {
    const keys = tmp.path('kid-forms.json');
    await wireseal(['keygen', '--kid', 'current', '--out', keys]);
    expect((await wireseal(['keyset', 'add', 'next', '--keyset', keys])).code).toBe(0);
    const before = readFileSync(keys, 'utf8');
    for (const cmd of ['add', 'promote', 'retire', 'remove']) {
      const twice = await wireseal(['keyset', cmd, 'next', '--kid', 'other', '--keyset', keys]);
      expect([twice.code, errorCode(twice)], cmd).toEqual([2, 'ERR_USAGE']);
      if (cmd !== 'add') {
        const none = await wireseal(['keyset', cmd, '--keyset', keys]);
        expect([none.code, errorCode(none)], cmd).toEqual([2, 'ERR_USAGE']);
      }
    }
    expect(readFileSync(keys, 'utf8')).toBe(before);

    const promote = await wireseal(['keyset', 'promote', '--kid', 'next', '--keyset', keys]);
    expect(promote.code, promote.stderr).toBe(0);
    expect(KeySet.fromJwks(readFileSync(keys, 'utf8')).primaryKid).toBe('next');
    expect((await wireseal(['keyset', 'retire', 'current', '--kid', 'current', '--keyset', keys])).code).toBe(0); // the same kid twice is fine
    expect(typeof readJwks(keys).keys[0]!.wireseal_retired).toBe('string');
    expect((await wireseal(['keyset', 'remove', '--kid', 'current', '--keyset', keys])).code).toBe(0);
    expect(readJwks(keys).keys.map((k) => k.kid)).toEqual(['next']);
  });

  it('keyset add --jwk adds a given key decrypt-only; a duplicate kid is ERR_KEYSET_INVALID', async () => {
    const keys = tmp.path('jwk-keys.json');
    await wireseal(['keygen', '--kid', 'one', '--out', keys]);
    const jwkFile = tmp.path('two.json');
    await wireseal(['keygen', '--key', '--primary', '--kid', 'two', '--out', jwkFile]);
    const r = await wireseal(['keyset', 'add', '--keyset', keys, '--jwk', jwkFile]);
    expect(r.code).toBe(0);
    const set = readJwks(keys);
    expect(set.keys[1]).toMatchObject({ kid: 'two', key_ops: ['decrypt'], k: (JSON.parse(readFileSync(jwkFile, 'utf8')) as { k: string }).k });
    const dup = await wireseal(['keyset', 'add', '--keyset', keys, '--kid', 'one']);
    expect([dup.code, errorCode(dup)]).toEqual([1, 'ERR_KEYSET_INVALID']);
    expect(readJwks(keys)).toEqual(set); // unchanged
  });

  it('list never prints key bytes, from a file or an environment variable', async () => {
    const keys = tmp.path('list.json');
    await wireseal(['keygen', '--kid', 'p', '--out', keys]);
    await wireseal(['keyset', 'add', '--keyset', keys, '--kid', 'q']);
    const secrets = keyBytes(readJwks(keys));
    const text = await wireseal(['keyset', 'list', '--keyset', keys]);
    expect(text.code).toBe(0);
    expect(text.out.split('\n')[1]).toMatch(/^p\s+primary$/);
    expect(text.out.split('\n')[2]).toMatch(/^q\s+decrypt-only$/);
    const env = await wireseal(['keyset', 'list', '--keyset-env', 'MY_KEYS'], { env: { MY_KEYS: readFileSync(keys, 'utf8') } });
    expect(env.out).toBe(text.out);
    const b64 = await wireseal(['keyset', 'list'], { env: { WIRESEAL_KEYSET: Buffer.from(readFileSync(keys)).toString('base64url') } });
    expect(b64.out).toBe(text.out);
    for (const r of [text, env, b64]) for (const k of secrets) expect(r.out + r.stderr).not.toContain(k);
  });

  it('an invalid key set file is ERR_KEYSET_INVALID naming the kid, never the bytes', async () => {
    const file = tmp.path('bad.json');
    const short = Buffer.alloc(16, 7).toString('base64url');
    writeFileSync(file, JSON.stringify({ keys: [{ kty: 'oct', kid: 'shorty', k: short, key_ops: ['encrypt', 'decrypt'] }] }));
    const r = await wireseal(['keyset', 'list', '--keyset', file]);
    expect([r.code, errorCode(r)]).toEqual([1, 'ERR_KEYSET_INVALID']);
    expect(r.stderr).toContain('shorty');
    expect(r.stderr).not.toContain(short);
  });
});
