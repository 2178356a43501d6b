// Interop with Nimbus JOSE+JWT (Java), the third JOSE library docs/design.md names:
// Nimbus opens every positive conformance vector and tokens wireseal makes now
// (whole values and field tokens), and Nimbus-made A256KW/dir tokens open in wireseal.
// It also opens every token of the audience vectors (shared keys per audience,
// ECDH-ES+A256KW on X25519 and P-256, RSA-OAEP-256) with the audience's key.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FieldPolicy, KeySet, encryptFields, open, openToken, seal } from '@wireseal/core';
import type { Jwks } from '@wireseal/core';
import type { Vectors } from '../scripts/vectors.ts';
import { FIXED_JWKS } from './helpers.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const libs = path.join(process.env.WIRESEAL_TOOLCHAIN ?? path.join(root, '.toolchain'), 'java-interop/libs');
const program = path.join(root, 'tooling/java-interop/NimbusInterop.java');

type Reply = { ok: boolean; plaintext?: string; token?: string; header?: Record<string, unknown>; error?: string };

/** Sends every request to one Nimbus process and returns its answers in order. */
function nimbus(requests: object[]): Reply[] {
  if (!existsSync(libs) || !readdirSync(libs).some((f) => f.endsWith('.jar'))) {
    throw new Error(`Nimbus jars not found in ${libs}: run ./dev setup (needs Java 17 and Maven)`);
  }
  const r = spawnSync('java', ['-cp', `${libs}/*`, program], { input: requests.map((q) => JSON.stringify(q)).join('\n'), encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`Nimbus exited ${r.status}: ${r.stderr.slice(0, 500)}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Reply);
  expect(lines).toHaveLength(requests.length);
  return lines;
}

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');
const keys = KeySet.fromJwks(FIXED_JWKS);
const k = (set: Jwks, kid: string) => set.keys.find((x) => x.kid === kid)!.k;

describe('Nimbus JOSE+JWT (Java)', () => {
  it('opens every positive conformance vector and every token wireseal makes', () => {
    const vectors = JSON.parse(readFileSync(path.join(here, 'vectors/wireseal-vectors.json'), 'utf8'));
    const cases: Array<{ k: string; token: string; plaintext: string; header?: Record<string, unknown> }> = [];
    for (const v of vectors.tokens) {
      const set = vectors.keySets[v.keySet] as Jwks;
      cases.push({ k: k(set, v.header.kid), token: v.token, plaintext: v.plaintext, header: v.header });
    }
    const made = [
      seal(keys, 'whole value'),
      seal(keys, 'dir value', { alg: 'dir' }),
      seal(keys, '{"a":1}', { cty: 'application/json', iat: 1_800_000_000, context: { topic: 'payments' } }),
      seal(keys, '"4111111111111111"', { field: 'card.number', context: { tenant: 'acme' }, engine: 'noble' }),
    ];
    const plains = ['whole value', 'dir value', '{"a":1}', '"4111111111111111"'];
    made.forEach((token, i) => cases.push({ k: k(FIXED_JWKS as unknown as Jwks, 'k-new'), token, plaintext: b64(plains[i]!) }));
    const doc = { card: { number: '4111111111111111', cvv: 737 }, accounts: [{ iban: 'DE89370400440532013000' }, { iban: 'GB82WEST12345698765432' }] };
    const sealed = encryptFields(keys, doc, FieldPolicy.parse({ fields: ['card.number', 'card.cvv', 'accounts[*].iban'] }), { context: { topic: 't' } });
    const fieldTokens: Array<[string, unknown]> = [
      [sealed.card.number as unknown as string, doc.card.number],
      [sealed.card.cvv as unknown as string, doc.card.cvv],
      [sealed.accounts[0]!.iban, doc.accounts[0]!.iban],
      [sealed.accounts[1]!.iban, doc.accounts[1]!.iban],
    ];
    for (const [token, value] of fieldTokens) cases.push({ k: k(FIXED_JWKS as unknown as Jwks, 'k-new'), token, plaintext: b64(JSON.stringify(value)) });
    // Data-key reuse on: two documents and two whole values, one wrapped content key each way; every token still a standalone JWE.
    const policy = FieldPolicy.parse({ fields: ['card.number', 'card.cvv'] });
    const reused = [1, 2].map(() => encryptFields(keys, doc, policy, { reuseContentKey: true }));
    const reusedTokens = reused.flatMap((d) => [d.card.number as unknown as string, d.card.cvv as unknown as string]);
    const reusedWhole = [seal(keys, 'reuse 1', { reuseContentKey: true }), seal(keys, 'reuse 2', { reuseContentKey: true })];
    expect(new Set(reusedTokens.map((t) => t.split('.')[1])).size).toBe(1);
    expect(new Set(reusedWhole.map((t) => t.split('.')[1])).size).toBe(1);
    reusedTokens.forEach((token, i) => cases.push({ k: k(FIXED_JWKS as unknown as Jwks, 'k-new'), token, plaintext: b64(JSON.stringify(i % 2 === 0 ? doc.card.number : doc.card.cvv)) }));
    reusedWhole.forEach((token, i) => cases.push({ k: k(FIXED_JWKS as unknown as Jwks, 'k-new'), token, plaintext: b64(`reuse ${i + 1}`) }));
    expect(cases.length).toBeGreaterThanOrEqual(vectors.tokens.length + 14);

    const replies = nimbus(cases.map((c) => ({ op: 'open', k: c.k, token: c.token })));
    replies.forEach((r, i) => {
      expect(r.error, `case ${i}`).toBeUndefined();
      expect(r.ok).toBe(true);
      expect(r.plaintext).toBe(cases[i]!.plaintext);
      if (cases[i]!.header) expect(r.header).toMatchObject(cases[i]!.header!);
    });
  });

  it('opens every audience-vector token with its audience\'s key: shared A256KW, X25519 and P-256 ECDH-ES+A256KW, RSA-OAEP-256', () => {
    const A = (JSON.parse(readFileSync(path.join(here, 'vectors/wireseal-vectors.json'), 'utf8')) as Vectors).audiences;
    const cases = A.fields.flatMap((f) => f.tokens.map((t) => ({ id: `${f.name} ${t.at}`, jwk: A.keySets[f.keyring[t.audience]!]!.keys[0]!, t })));
    expect(cases).toHaveLength(21);
    const replies = nimbus(cases.map((c) => ({ op: 'open', jwk: c.jwk, token: c.t.token })));
    replies.forEach((r, i) => {
      const { id, t } = cases[i]!;
      expect(r.error, id).toBeUndefined();
      expect(Buffer.from(r.plaintext!, 'base64url').toString('utf8'), id).toBe(JSON.stringify(t.value));
      expect(r.header, id).toMatchObject({ wsf: t.path, wsc: t.wsc });
    });
    expect(new Set(replies.map((r) => r.header!.alg))).toEqual(new Set(['A256KW', 'ECDH-ES+A256KW', 'RSA-OAEP-256']));
  });

  it('refuses the audience negatives a JOSE library can see (epk on the wrong curve, tampered encrypted keys, another audience\'s token); opens the moved and swapped ones, whose wsc is wireseal\'s check', () => {
    const A = (JSON.parse(readFileSync(path.join(here, 'vectors/wireseal-vectors.json'), 'utf8')) as Vectors).audiences;
    const replies = nimbus(A.negative.map((n) => ({ op: 'open', jwk: A.keySets[n.keyring[n.audience]!]!.keys[0]!, token: n.token })));
    replies.forEach((r, i) => {
      const n = A.negative[i]!;
      if (n.code === 'ERR_CONTEXT_MISMATCH') {
        expect(r.ok, n.name).toBe(true);
        // Authentic, but sealed for another context than the one expected where it was found.
        const sorted = Object.entries(n.expectedContext).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        expect(r.header!.wsc, n.name).not.toBe(createHash('sha256').update(JSON.stringify(sorted)).digest().subarray(0, 16).toString('base64url'));
      } else {
        expect(r.ok, n.name).toBe(false);
      }
    });
    expect(replies.filter((r) => !r.ok)).toHaveLength(4);
  });

  it('Nimbus refuses a tampered wireseal token', () => {
    const t = seal(keys, 'x');
    const bad = `${t.slice(0, -2)}${t.endsWith('AA') ? 'Ag' : 'AA'}`;
    const [r] = nimbus([{ op: 'open', k: k(FIXED_JWKS as unknown as Jwks, 'k-new'), token: bad }]);
    expect(r!.ok).toBe(false);
  });

  it('A256KW and dir tokens made by Nimbus open in wireseal on both engines', () => {
    const reqs = ['k-new', 'k-old'].flatMap((kid) =>
      (['A256KW', 'dir'] as const).map((alg) => ({ op: 'seal', k: k(FIXED_JWKS as unknown as Jwks, kid), kid, alg, plaintext: b64(`from nimbus ${alg} ${kid} ✓`) })),
    );
    const replies = nimbus(reqs);
    replies.forEach((r, i) => {
      expect(r.ok, r.error).toBe(true);
      const { header, plaintext } = openToken(keys, r.token!);
      expect(header.kid).toBe(reqs[i]!.kid);
      expect(header.alg).toBe(reqs[i]!.alg);
      expect(Buffer.from(plaintext).toString()).toBe(`from nimbus ${reqs[i]!.alg} ${reqs[i]!.kid} ✓`);
      expect(Buffer.from(open(keys, r.token!, { engine: 'noble' })).toString()).toBe(`from nimbus ${reqs[i]!.alg} ${reqs[i]!.kid} ✓`);
    });
  });
});
