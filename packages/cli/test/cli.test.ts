// The executable's surface: --help on every command, usage errors, version,
// and the README's quick example run as written.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, NODE, errorCode, tempDir, wireseal } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('help, usage and version', () => {
  it('--help works on every command listed by wireseal --help (exit 0, usage on stdout)', async () => {
    const top = await wireseal(['--help']);
    expect(top.code).toBe(0);
    const names = [...top.out.matchAll(/^ {2}([a-z]+(?: [a-z]+)?) {2,}/gm)].map((m) => m[1]!);
    expect(names).toEqual(['keygen', 'keyset add', 'keyset promote', 'keyset retire', 'keyset remove', 'keyset list', 'seal', 'open', 'inspect', 'fields encrypt', 'fields decrypt', 'reencrypt', 'scan', 'secrets push', 'secrets migrate']);
    for (const name of names) {
      const r = await wireseal([...name.split(' '), '--help']);
      expect(r.code, name).toBe(0);
      expect(r.out.startsWith(`Usage: wireseal ${name}`), name).toBe(true);
      expect(r.out).toContain('Exit codes:');
    }
    const group = await wireseal(['keyset', '--help']);
    expect([group.code, group.out.startsWith('Usage: wireseal keyset <add|promote|retire|remove|list>')]).toEqual([0, true]);
  });

  it('usage errors exit 2 with ERR_USAGE: no command, unknown command, unknown option, missing value, bad choice', async () => {
    for (const args of [[], ['frobnicate'], ['keyset', 'frob'], ['seal', '--nope'], ['keygen', '--kid'], ['seal', '--alg', 'A128KW', '--keyset', 'x'], ['inspect', 'a', 'b'], ['keyset', 'promote', '--keyset', 'k.json']]) {
      const r = await wireseal(args);
      expect(r.code, args.join(' ')).toBe(2);
      if (args.length > 0) expect(errorCode(r), args.join(' ')).toBe('ERR_USAGE');
      expect(r.out).toBe('');
    }
  });

  it('seal without any key source is a usage error naming the options', async () => {
    const r = await wireseal(['seal'], { input: 'x' });
    expect([r.code, errorCode(r)]).toEqual([2, 'ERR_USAGE']);
    expect(r.stderr).toContain('--keyset');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await wireseal(['--version'])).out).toBe(`${pkg.version}\n`);
  });
});

describe('README', () => {
  it('the quick example runs as written', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const example = blocks[1]!;
    expect(example).toContain('wireseal keygen');
    const bin = tmp.path('wireseal');
    writeFileSync(bin, `#!/bin/sh\nexec "${NODE}" "${CLI}" "$@"\n`);
    chmodSync(bin, 0o755);
    const out = execFileSync('bash', ['-euo', 'pipefail', '-c', example], { cwd: tmp.dir, env: { PATH: `${tmp.dir}:/usr/bin:/bin`, HOME: tmp.dir }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = out.split('\n');
    expect(lines).toContain('protected header (not authenticated until the token is opened):');
    expect(out).toContain('hello{"id":1,"card":{"number":"4111111111111111"},"accounts":[{"iban":"DE89"}]}');
    expect(out).toMatch(/KID\s+ROLE\s+RETIRED\n2026-05\s+primary\n$/);
  });
});
