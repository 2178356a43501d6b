import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeySet, open, seal } from '@wireseal/core';
import { envKeyProvider, fileKeyProvider } from '../src/providers.ts';
import type { KeySetLoadInfo, KeySourceErrorInfo } from '../src/providers.ts';
import type { WiresealError } from '@wireseal/core/errors';
import { caught } from './helpers.ts';

const text = (b: Uint8Array) => new TextDecoder().decode(b);


/** Every 16-character substring of every `k` in `jwks` must be absent from `haystack`. */
function expectNoKeyBytes(haystack: string, ...sets: Array<{ keys: Array<{ k: string }> }>): void {
  for (const set of sets) {
    for (const { k } of set.keys) {
      for (let i = 0; i + 16 <= k.length; i++) expect(haystack).not.toContain(k.slice(i, i + 16));
    }
  }
}

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

describe('envKeyProvider', () => {
  const keys = KeySet.generate({ kid: 'env-1' });
  const json = JSON.stringify(keys.toJwks());

  it('reads JSON from WIRESEAL_KEYSET by default and seals/opens', async () => {
    const p = envKeyProvider({ env: { WIRESEAL_KEYSET: json } });
    await p.ready();
    await p.ready(); // idempotent
    const token = seal(p.current(), 'hi');
    expect(text(open(keys, token))).toBe('hi');
    expect(p.current().primaryKid).toBe('env-1');
  });

  it('reads base64url and padded standard base64 of the JSON, from a custom variable', async () => {
    const a = envKeyProvider({ name: 'MY_KEYS', env: { MY_KEYS: b64url(json) } });
    await a.ready();
    expect(a.current().primaryKid).toBe('env-1');
    const b = envKeyProvider({ name: 'MY_KEYS', env: { MY_KEYS: Buffer.from(json).toString('base64') } });
    await b.ready();
    expect(b.current().primaryKid).toBe('env-1');
  });

  it('reads process.env when no env is given', async () => {
    vi.stubEnv('WIRESEAL_KEYSET', json);
    try {
      const p = envKeyProvider();
      await p.ready();
      expect(p.current().primaryKid).toBe('env-1');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('rejects ready() with ERR_KEY_SOURCE when the variable is missing, garbage or an invalid set', async () => {
    expect((await caught(() => envKeyProvider({ env: {} }).ready())).code).toBe('ERR_KEY_SOURCE');
    expect((await caught(() => envKeyProvider({ env: { WIRESEAL_KEYSET: '  ' } }).ready())).code).toBe('ERR_KEY_SOURCE');
    expect((await caught(() => envKeyProvider({ env: { WIRESEAL_KEYSET: 'not base64 at all!' } }).ready())).code).toBe('ERR_KEY_SOURCE');

    const short = { keys: [{ kty: 'oct', kid: 'short', k: Buffer.alloc(16, 7).toString('base64url'), key_ops: ['encrypt', 'decrypt'] }] };
    for (const value of [JSON.stringify(short), b64url(JSON.stringify(short)), '{"keys": [', b64url('{oops')]) {
      const err = await caught(() => envKeyProvider({ env: { WIRESEAL_KEYSET: value } }).ready());
      expect(err.code).toBe('ERR_KEY_SOURCE');
      if (value === JSON.stringify(short) || value === b64url(JSON.stringify(short))) {
        expect((err.cause as WiresealError).code).toBe('ERR_KEYSET_INVALID');
      }
      expectNoKeyBytes(inspect(err, { depth: 10 }), short);
    }
  });

  it('never puts key bytes into errors for a set without primary', async () => {
    const noPrimary = { keys: [{ ...keys.toJwks().keys[0]!, key_ops: ['decrypt'] }] };
    const err = await caught(() => envKeyProvider({ env: { WIRESEAL_KEYSET: JSON.stringify(noPrimary) } }).ready());
    expect(err.code).toBe('ERR_KEY_SOURCE');
    expect((err.cause as WiresealError).code).toBe('ERR_KEYSET_INVALID');
    expectNoKeyBytes(inspect(err, { depth: 10 }) + String(err.stack), keys.toJwks());
  });

  it('throws ERR_KEY_SOURCE from current() before ready() and after close()', async () => {
    const p = envKeyProvider({ env: { WIRESEAL_KEYSET: json } });
    expect((await caught(() => p.current())).code).toBe('ERR_KEY_SOURCE');
    await p.ready();
    p.close();
    expect((await caught(() => p.current())).code).toBe('ERR_KEY_SOURCE');
    expect((await caught(() => p.ready())).code).toBe('ERR_KEY_SOURCE');
  });
});

describe('fileKeyProvider', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wireseal-keys-'));
    file = path.join(dir, 'keyset.json');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Atomic replace, as the docs recommend; a new inode changes the fingerprint for sure. */
  function writeAtomic(content: string): void {
    const tmp = `${file}.${process.hrtime.bigint()}.tmp`;
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, file);
  }

  it('loads the file, seals/opens, and picks up a rotation by itself', async () => {
    const v1 = KeySet.generate({ kid: 'file-1' });
    writeAtomic(JSON.stringify(v1.toJwks()));
    const reloads: KeySetLoadInfo[] = [];
    const errors: WiresealError[] = [];
    const p = fileKeyProvider({ path: file, intervalMs: 20, onReload: (i) => reloads.push(i), onError: (e) => errors.push(e) });
    try {
      await p.ready();
      const t1 = seal(p.current(), 'one');
      expect(p.current().primaryKid).toBe('file-1');

      const v2 = v1.addKey({ kid: 'file-2' }).promote('file-2');
      writeAtomic(JSON.stringify(v2.toJwks()));
      await vi.waitFor(() => expect(p.current().primaryKid).toBe('file-2'), { timeout: 3000, interval: 10 });
      const t2 = seal(p.current(), 'two');
      expect(text(open(p.current(), t1))).toBe('one');
      expect(text(open(p.current(), t2))).toBe('two');
      expect(reloads.at(-1)).toEqual({ source: file, primaryKid: 'file-2', kids: ['file-1', 'file-2'] });
      expect(errors).toEqual([]);
    } finally {
      p.close();
    }
  });

  it('accepts a file: URL', async () => {
    writeAtomic(JSON.stringify(KeySet.generate({ kid: 'url-1' }).toJwks()));
    const p = fileKeyProvider({ path: new URL(`file://${file}`) });
    await p.ready();
    expect(p.current().primaryKid).toBe('url-1');
    p.close();
  });

  it('keeps the last good set through bad rewrites and a deleted file, reporting each once without key bytes', async () => {
    const good = KeySet.generate({ kid: 'good' });
    writeAtomic(JSON.stringify(good.toJwks()));
    const reports: Array<[WiresealError, KeySourceErrorInfo]> = [];
    const p = fileKeyProvider({ path: file, intervalMs: 10_000, onError: (e, i) => reports.push([e, i]) });
    await p.ready();
    try {
      const before = seal(p.current(), 'kept');
      const short = { keys: [{ kty: 'oct', kid: 'short', k: Buffer.alloc(16, 9).toString('base64url'), key_ops: ['encrypt', 'decrypt'] }] };
      const noPrimary = { keys: [{ ...KeySet.generate({ kid: 'np' }).toJwks().keys[0]!, key_ops: ['decrypt'] }] };
      const bad = ['not json {', JSON.stringify(short), JSON.stringify(noPrimary)];
      for (const [i, content] of bad.entries()) {
        writeAtomic(content);
        await p.check();
        await p.check(); // the same bad state is not reported twice
        expect(reports).toHaveLength(i + 1);
        expect(reports[i]![0].code).toBe('ERR_KEY_SOURCE');
        expect((reports[i]![0].cause as WiresealError).code).toBe('ERR_KEYSET_INVALID');
        expect(reports[i]![1]).toEqual({ source: file, servingPrimaryKid: 'good' });
        expect(p.current().primaryKid).toBe('good');
        expect(text(open(p.current(), before))).toBe('kept');
        expectNoKeyBytes(inspect(reports[i], { depth: 10 }) + JSON.stringify(reports[i]![1]), good.toJwks(), short, noPrimary);
      }
      fs.rmSync(file);
      await p.check();
      await p.check();
      expect(reports).toHaveLength(4);
      expect(reports[3]![0].code).toBe('ERR_KEY_SOURCE');
      expect(p.current().primaryKid).toBe('good');

      const fixed = KeySet.generate({ kid: 'fixed' });
      writeAtomic(JSON.stringify(fixed.toJwks()));
      await p.check();
      expect(p.current().primaryKid).toBe('fixed');
      expect(reports).toHaveLength(4);
    } finally {
      p.close();
    }
  });

  it('rejects ready() with ERR_KEY_SOURCE for a missing or invalid file, and tries again on the next call', async () => {
    const p = fileKeyProvider({ path: file });
    expect((await caught(() => p.ready())).code).toBe('ERR_KEY_SOURCE');
    writeAtomic('{"keys": []}');
    const err = await caught(() => p.ready());
    expect(err.code).toBe('ERR_KEY_SOURCE');
    expect((err.cause as WiresealError).code).toBe('ERR_KEYSET_INVALID');
    expect((await caught(() => p.current())).code).toBe('ERR_KEY_SOURCE');
    writeAtomic(JSON.stringify(KeySet.generate({ kid: 'late' }).toJwks()));
    await p.ready();
    expect(p.current().primaryKid).toBe('late');
    p.close();
    expect((await caught(() => p.current())).code).toBe('ERR_KEY_SOURCE');
  });

  it('stops polling on close()', async () => {
    writeAtomic(JSON.stringify(KeySet.generate({ kid: 'a' }).toJwks()));
    const reloads: KeySetLoadInfo[] = [];
    const p = fileKeyProvider({ path: file, intervalMs: 10, onReload: (i) => reloads.push(i) });
    await p.ready();
    p.close();
    writeAtomic(JSON.stringify(KeySet.generate({ kid: 'b' }).toJwks()));
    await new Promise((r) => setTimeout(r, 100));
    expect(reloads).toEqual([]);
  });

  it('throws ERR_KEY_SOURCE where the runtime has no node:fs', async () => {
    const spy = vi.spyOn(process, 'getBuiltinModule').mockImplementation((() => undefined) as typeof process.getBuiltinModule);
    try {
      expect((await caught(() => fileKeyProvider({ path: file }))).code).toBe('ERR_KEY_SOURCE');
    } finally {
      spy.mockRestore();
    }
  });
});
