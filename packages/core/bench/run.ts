/**
 * wireseal core benchmarks (issues #2 and #3). Every figure is a ratio against
 * a named peer measured in the same run, interleaved round by round, because
 * the machine is shared and absolute timings are noise.
 *
 *   pnpm bench                                   # from the repo root (builds, runs against dist/)
 *   node --conditions=@wireseal/source bench/run.ts   # in packages/core, against src/
 *
 * Knobs: WIRESEAL_BENCH_ROUNDS (20), WIRESEAL_BENCH_MS (150 per case per round),
 * WIRESEAL_BENCH_OPENSSL_SECONDS (3), WIRESEAL_BENCH_ONLY (comma list of
 * sections: small,large,fields,audiences,bytes), WIRESEAL_BENCH_STRICT=1 (exit 1 when a target
 * is missed; benchmarks are not tests, so by default it only reports).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deepStrictEqual } from 'node:assert/strict';
import * as jose from 'jose';
import cloak from '@47ng/cloak';
import { KeySet, FieldPolicy, PrivateKeySet, PublicKeySet, decryptFields, encryptFields, open, seal } from '@wireseal/core';
import type { Case, Measured } from './harness.ts';
import { envNumber, fmt, median, ratio, runGroup, spread, table } from './harness.ts';
import { opensslSpeed, opensslVersion } from './openssl.ts';
import type { Payment } from './payment.ts';
import {
  FIELDS,
  checkFloor,
  cloakFieldPeer,
  cloakSyncFieldPeer,
  floorPeer,
  joseFieldPeer,
  mastercardPaths,
  mastercardPeer,
  paymentDocument,
  sensitiveValues,
} from './payment.ts';

const run = promisify(execFile);

const ROUNDS = envNumber('WIRESEAL_BENCH_ROUNDS', 20);
const MS = envNumber('WIRESEAL_BENCH_MS', 150);
const WARMUP_MS = Math.min(MS, 300);
const OPENSSL_SECONDS = Math.round(envNumber('WIRESEAL_BENCH_OPENSSL_SECONDS', 3));
const ONLY = new Set((process.env.WIRESEAL_BENCH_ONLY ?? 'small,large,fields,audiences,bytes').split(',').map((s) => s.trim()));
const STRICT = process.env.WIRESEAL_BENCH_STRICT === '1';

/** A comparison row: `subject` against `peer`, with an optional minimum ratio. */
interface Comparison {
  readonly subject: string;
  readonly peer?: string;
  readonly target?: number;
}

const missed: string[] = [];

function report(title: string, unit: string, results: readonly Measured[], comparisons: readonly Comparison[], scale = 1, digits = 0): void {
  const byName = new Map(results.map((m) => [m.name, m]));
  const rows: string[][] = [];
  const targets: string[] = [];
  for (const c of comparisons) {
    const m = byName.get(c.subject);
    if (!m) throw new Error(`no case named ${c.subject}`);
    const value = `${fmt(median(m.perRound) / scale, digits)} (±${fmt(spread(m) / 2, 0)}%)`;
    const cpuValue = fmt(median(m.perRoundCpu) / scale, digits);
    if (!c.peer) {
      rows.push([c.subject, value, cpuValue, '—', '—', '—', '—', '—']);
      continue;
    }
    const p = byName.get(c.peer);
    if (!p) throw new Error(`no case named ${c.peer}`);
    const wall = ratio(m, p, 'wall');
    const cpu = ratio(m, p, 'cpu');
    let met = '—';
    if (c.target !== undefined) {
      met = cpu >= c.target ? 'yes' : 'NO';
      if ((wall >= c.target) !== (cpu >= c.target)) met += ` (wall: ${wall >= c.target ? 'yes' : 'no'})`;
      if (cpu < c.target) missed.push(`${title}: ${c.subject} vs ${c.peer} = ${cpu.toFixed(2)}x per CPU second (${wall.toFixed(2)}x wall) < ${c.target}x`);
      // One machine-readable line per target: scripts/bench.mjs gathers them into docs/benchmarks.json.
      targets.push(`WIRESEAL_TARGET ${JSON.stringify({ section: title, case: c.subject, vs: c.peer, measured: Number(cpu.toFixed(3)), wall: Number(wall.toFixed(3)), target: c.target, met: cpu >= c.target, judged: 'ratio of documents or operations per CPU-second' })}`);
    }
    rows.push([c.subject, value, cpuValue, c.peer, `${wall.toFixed(2)}x`, `${cpu.toFixed(2)}x`, c.target === undefined ? '—' : `≥ ${c.target}x`, met]);
  }
  console.log(`\n### ${title}\n`);
  console.log(table(['case', `${unit} (wall)`, `${unit} per CPU-s`, 'vs', 'ratio (wall)', 'ratio (CPU)', 'target', 'met?'], rows));
  for (const t of targets) console.log(t);
}

async function machineInfo(): Promise<void> {
  const cpu = cpus();
  console.log('@wireseal/core: issues #2 (seal/open) and #3 (field documents), each case against named peers in the same run.\n');
  console.log(`- date: ${new Date().toISOString()}`);
  console.log(`- cpu: ${cpu[0]?.model ?? 'unknown'} × ${cpu.length} (load average at start: ${loadavg().map((l) => l.toFixed(2)).join(', ')})`);
  console.log(`- memory: ${fmt(totalmem() / 2 ** 30, 1)} GiB`);
  console.log(`- node: ${process.version} (bundled OpenSSL ${process.versions.openssl}), ${process.platform}/${process.arch}`);
  console.log(`- openssl CLI: ${(await opensslVersion()) ?? 'not found'}`);
  console.log(`- @wireseal/core resolved to: ${import.meta.resolve('@wireseal/core')}`);
  console.log(`- method: ${ROUNDS} interleaved rounds of ${MS} ms per case after ${WARMUP_MS} ms warm-up; figures are medians over rounds (± half the max-min spread of the wall figure); ratios are medians of per-round ratios. Async peers are awaited per call.`);
  console.log('- two clocks: "wall" is what one sequential caller sees; "per CPU-s" divides by this process\'s CPU time (all threads, so async peers\' libuv-pool work counts), which is what a busy server sustains per core and which other processes on a shared machine barely move. Targets are judged on the CPU ratio; a wall verdict that differs is shown beside it.');
}

/** Throws unless two byte arrays hold the same bytes (Buffer or plain Uint8Array alike). */
function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (Buffer.compare(actual, expected) !== 0) throw new Error(`${what}: round trip returned different bytes`);
}

function keyBytes(keys: KeySet): Uint8Array<ArrayBuffer> {
  const k = keys.toJwks().keys[0]!.k;
  return new Uint8Array(Buffer.from(k, 'base64url'));
}

/** Issue #2: a 16-byte value, seal + open, wireseal (node, noble) against jose CompactEncrypt + compactDecrypt. */
async function smallValues(keys: KeySet, raw: Uint8Array<ArrayBuffer>): Promise<void> {
  const value = new Uint8Array(16).fill(0x42);
  const kid = keys.primaryKid;
  const kwKey = await crypto.subtle.importKey('raw', raw, 'AES-KW', false, ['wrapKey', 'unwrapKey']);
  const gcmKey = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  const joseRoundTrip = (alg: 'A256KW' | 'dir', key: CryptoKey) => async (): Promise<Uint8Array> => {
    const token = await new jose.CompactEncrypt(value).setProtectedHeader({ alg, enc: 'A256GCM', kid }).encrypt(key);
    return (await jose.compactDecrypt(token, key)).plaintext;
  };
  const ws = (alg: 'A256KW' | 'dir', engine: 'node' | 'noble') => (): Uint8Array => open(keys, seal(keys, value, { alg, engine }), { engine });

  // Check before measuring: each round trip returns the value, and jose opens wireseal's tokens.
  for (const alg of ['A256KW', 'dir'] as const) {
    for (const engine of ['node', 'noble'] as const) assertBytes(ws(alg, engine)(), value, `wireseal ${engine} ${alg}`);
    assertBytes(await joseRoundTrip(alg, alg === 'dir' ? gcmKey : kwKey)(), value, `jose ${alg}`);
    assertBytes((await jose.compactDecrypt(seal(keys, value, { alg }), alg === 'dir' ? gcmKey : kwKey)).plaintext, value, `jose opening wireseal ${alg}`);
  }

  const cases: Case[] = [
    { name: 'wireseal node A256KW', fn: ws('A256KW', 'node') },
    { name: 'wireseal noble A256KW', fn: ws('A256KW', 'noble') },
    { name: 'jose A256KW', fn: joseRoundTrip('A256KW', kwKey) },
    { name: 'wireseal node dir', fn: ws('dir', 'node') },
    { name: 'wireseal noble dir', fn: ws('dir', 'noble') },
    { name: 'jose dir', fn: joseRoundTrip('dir', gcmKey) },
  ];
  const results = await runGroup(cases, { rounds: ROUNDS, msPerRound: MS, warmupMs: WARMUP_MS });
  report('Issue #2 — 16-byte value, seal + open (A256GCM)', 'round trips/s', results, [
    { subject: 'wireseal node A256KW', peer: 'jose A256KW', target: 10 },
    { subject: 'wireseal noble A256KW', peer: 'jose A256KW' },
    { subject: 'jose A256KW' },
    { subject: 'wireseal node dir', peer: 'jose dir', target: 10 },
    { subject: 'wireseal noble dir', peer: 'jose dir' },
    { subject: 'jose dir' },
  ]);
}

/** Issue #2: a 1 MiB value, seal, against `openssl speed -evp aes-256-gcm` at 16 KiB blocks in the same run. */
async function largeValues(keys: KeySet): Promise<void> {
  const size = 1024 * 1024;
  const value = new Uint8Array(size);
  crypto.getRandomValues(value.subarray(0, 65536));
  for (let i = 65536; i < size; i += 65536) value.copyWithin(i, 0, 65536);
  const ws = (engine: 'node' | 'noble') => (): number => seal(keys, value, { engine }).length;
  // What a server pays to send the token: V8 returns long strings as ropes, flattened on first use.
  const wsSent = (): number => Buffer.from(seal(keys, value), 'latin1').length;
  // Check: the token opens to the same bytes with both engines.
  for (const engine of ['node', 'noble'] as const) assertBytes(open(keys, seal(keys, value, { engine }), { engine }), value, `wireseal ${engine} 1 MiB`);

  const openssl: Measured = { name: `openssl speed (16 KiB blocks)`, perRound: [], perRoundCpu: [] };
  let command = '';
  const rounds = Math.max(3, Math.ceil(ROUNDS / 5));
  const results = await runGroup(
    [
      { name: 'wireseal node seal 1 MiB', fn: ws('node'), unitsPerCall: size },
      { name: 'wireseal noble seal 1 MiB', fn: ws('noble'), unitsPerCall: size },
      { name: 'wireseal node seal 1 MiB + Buffer.from(token)', fn: wsSent, unitsPerCall: size },
    ],
    {
      rounds,
      msPerRound: Math.max(MS, 600),
      warmupMs: WARMUP_MS,
      onRound: async () => {
        const wall = await opensslSpeed(OPENSSL_SECONDS, 'wall');
        const cpu = await opensslSpeed(OPENSSL_SECONDS, 'cpu');
        command = cpu.command;
        openssl.perRound.push(wall.bytesPerSecond);
        openssl.perRoundCpu.push(cpu.bytesPerSecond);
      },
    },
  );
  const all = [...results, openssl];
  report('Issue #2 — 1 MiB value, seal (A256KW + A256GCM, token string out)', 'MB/s', all, [
    { subject: 'wireseal node seal 1 MiB', peer: openssl.name, target: 0.5 },
    { subject: 'wireseal noble seal 1 MiB', peer: openssl.name },
    { subject: 'wireseal node seal 1 MiB + Buffer.from(token)', peer: openssl.name },
    { subject: openssl.name },
  ], 1e6, 0);
  console.log(`\nopenssl peer: \`${command}\` (its default: per CPU user second) and the same with \`-elapsed\` (per wall-clock second), once each per round (${rounds} rounds); MB = 10^6 bytes of plaintext. \`seal\` returns the token string; \`+ Buffer.from(token)\` adds the first use of that string (V8 flattens the rope and copies 1.4 MB), as a server writing it would.`);
}

/** Issue #3: the ~1 KB payment document, encrypt + decrypt, against jose, cloak, mastercard and the floor. */
async function fieldDocuments(keys: KeySet, raw: Uint8Array<ArrayBuffer>): Promise<void> {
  const doc = paymentDocument();
  const docBytes = Buffer.byteLength(JSON.stringify(doc));
  const policy = FieldPolicy.parse({ fields: [...FIELDS] });
  const ws = (engine: 'node' | 'noble', alg: 'A256KW' | 'dir' = 'A256KW', reuseContentKey = false) => (): Payment =>
    decryptFields<Payment>(keys, encryptFields(keys, doc, policy, { engine, alg, reuseContentKey }), policy, { engine }).doc;

  // wireseal: round trip, and every field token is a standalone JWE that jose opens; one key wrap per document.
  const sealed = encryptFields(keys, doc, policy) as Payment;
  const tokens = [sealed.card.number, sealed.card.cvv, sealed.card.expiry, sealed.customer.ssn, sealed.customer.dob, ...sealed.accounts.map((a) => a.iban)];
  const kwKey = await crypto.subtle.importKey('raw', raw, 'AES-KW', false, ['unwrapKey', 'wrapKey']);
  const expected = sensitiveValues(doc);
  for (let i = 0; i < tokens.length; i++) {
    const { plaintext } = await jose.compactDecrypt(tokens[i]!, kwKey);
    deepStrictEqual(new TextDecoder().decode(plaintext), expected[i]);
  }
  const wraps = new Set(tokens.map((t) => t.split('.')[1]));
  for (const engine of ['node', 'noble'] as const) deepStrictEqual(ws(engine)(), doc);
  deepStrictEqual(ws('node', 'dir')(), doc);

  const josePeer = joseFieldPeer(kwKey, keys.primaryKid);
  deepStrictEqual(await josePeer(doc), doc);
  // A cloak key is `k1.aesgcm256.<base64url of the raw key>` (its formatKey is not exported from the package root).
  const cloakKey = await cloak.parseKey(`k1.aesgcm256.${Buffer.from(raw).toString('base64url')}`);
  const cloakPeer = cloakFieldPeer(cloakKey);
  const cloakSync = cloakSyncFieldPeer(cloakKey);
  deepStrictEqual(await cloakPeer(doc), doc);
  deepStrictEqual(cloakSync(doc), doc);
  checkFloor(raw, doc);

  const dir = await mkdtemp(join(tmpdir(), 'wireseal-bench-'));
  try {
    const certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-subj', '/CN=wireseal-bench', '-days', '1']);
    const mc = mastercardPeer(certPath, keyPath, doc);
    // mastercard round-trips each value through JSON.parse of its text, so "4111111111111111" and "737" come back as numbers.
    const back = mc(doc);
    const loose = (p: Payment): string[] => sensitiveValues(p).map((s) => String(JSON.parse(s)));
    deepStrictEqual(loose(back), loose(doc));
    const quirks = sensitiveValues(back).filter((s, i) => s !== expected[i]).length;

    const cases: Case[] = [
      { name: 'wireseal node', fn: ws('node') },
      { name: 'wireseal noble', fn: ws('noble') },
      { name: 'wireseal node, alg dir', fn: ws('node', 'dir') },
      { name: 'wireseal node, data-key reuse', fn: ws('node', 'A256KW', true) },
      { name: 'jose, field by field', fn: () => josePeer(doc) },
      { name: '@47ng/cloak (async)', fn: () => cloakPeer(doc) },
      { name: '@47ng/cloak (sync API)', fn: () => cloakSync(doc) },
      { name: 'mastercard-client-encryption JWE', fn: () => mc(doc) },
      { name: 'floor: bare node:crypto AES-256-GCM', fn: floorPeer(raw, doc) },
    ];
    const results = await runGroup(cases, { rounds: ROUNDS, msPerRound: MS, warmupMs: WARMUP_MS });
    report(`Issue #3 — ${docBytes}-byte payment document, 8 fields, encrypt + decrypt`, 'documents/s', results, [
      { subject: 'wireseal node', peer: 'jose, field by field', target: 20 },
      { subject: 'wireseal node', peer: 'mastercard-client-encryption JWE', target: 3 },
      { subject: 'wireseal node', peer: '@47ng/cloak (async)', target: 1.5 },
      { subject: 'wireseal node', peer: 'floor: bare node:crypto AES-256-GCM', target: 0.5 },
      { subject: 'wireseal node, data-key reuse', peer: 'floor: bare node:crypto AES-256-GCM', target: 1.0 },
      { subject: 'wireseal node', peer: '@47ng/cloak (sync API)' },
      { subject: 'wireseal noble', peer: 'jose, field by field' },
      { subject: 'wireseal noble', peer: '@47ng/cloak (async)' },
      { subject: 'wireseal noble', peer: 'floor: bare node:crypto AES-256-GCM' },
      { subject: 'wireseal node, alg dir', peer: 'floor: bare node:crypto AES-256-GCM' },
      { subject: 'jose, field by field' },
      { subject: '@47ng/cloak (async)' },
      { subject: '@47ng/cloak (sync API)' },
      { subject: 'mastercard-client-encryption JWE' },
      { subject: 'floor: bare node:crypto AES-256-GCM' },
    ]);
    console.log(`
Notes:
- fields: ${FIELDS.join(', ')} (8 values). wireseal: encryptFields + decryptFields (A256KW, the default: one key wrap per document, ${wraps.size} distinct encrypted key across ${tokens.length} tokens; each token checked to open on its own with jose). "alg dir" (the key set's key encrypts directly, no key wrap) is shown for reference.
- jose: CompactEncrypt + compactDecrypt per field (A256KW, a fresh content key per field), CryptoKey imported once.
- @47ng/cloak: encryptString/decryptString per field with a key parsed once; on Node its "async" API runs node:crypto synchronously inside an async function (WebCrypto only in browsers).
- mastercard-client-encryption: JweEncryption (RSA-OAEP-256 + A256GCM, its only JWE algorithm; RSA-2048 key and self-signed certificate made with \`openssl req -x509\`). Its paths have no wildcard, so \`accounts[*].iban\` is written as ${mastercardPaths(doc).slice(5).map((p) => `\`${p}\``).join(', ')} (works only for a known array length). Each token lands as \`{ "encryptedData": "<JWE>" }\` at the path. It round-trips values through JSON.parse, so ${quirks} of 8 values come back as numbers ("4111111111111111" → 4111111111111111).
- peers copy only the objects on the sensitive paths; wireseal copies and checks the whole document (depth, size, prototype safety).
- floor: createCipheriv/createDecipheriv per field over the same ${expected.reduce((n, s) => n + Buffer.byteLength(s), 0)} bytes of JSON text, a fresh IV each (one randomFillSync per document), no AAD, no encoding, no document.`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Audiences on the same payment document: two shared-key audiences (4 + 4
 * values) against one; and one public-key audience (X25519, ECDH-ES+A256KW)
 * against jose sealing the same fields one by one with ECDH-ES+A256KW, and
 * against the shared-key path per document.
 */
async function audienceDocuments(keys: KeySet): Promise<void> {
  const doc = paymentDocument();
  const single = FieldPolicy.parse({ fields: [...FIELDS] });
  const split = FieldPolicy.parse({ audiences: { pci: ['card.number', 'card.cvv', 'card.expiry', 'customer.ssn'], pii: ['customer.dob', 'accounts[*].iban'] } });
  const pii = KeySet.generate({ kid: 'bench-pii' });
  const reader = PrivateKeySet.generate({ kid: 'bench-x25519', type: 'X25519' });
  const writer = PublicKeySet.of(reader);
  const roundTrip = (k: Parameters<typeof encryptFields>[0], p: FieldPolicy, reuseContentKey = false) => (): Payment =>
    decryptFields<Payment>(k, encryptFields(k, doc, p, { reuseContentKey }), p).doc;
  deepStrictEqual(roundTrip(keys, single)(), doc);
  deepStrictEqual(roundTrip({ pci: keys, pii }, split)(), doc);
  deepStrictEqual(decryptFields<Payment>(reader, encryptFields(writer, doc, single), single).doc, doc);

  // jose: each value sealed on its own (a fresh ephemeral key and key agreement per field), public key imported once.
  const pub = await jose.importJWK(writer.publicJwks().keys[0] as jose.JWK, 'ECDH-ES+A256KW');
  const header: jose.CompactJWEHeaderParameters = { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'bench-x25519' };
  const utf8 = new TextEncoder();
  const joseSeal = async (): Promise<number> => {
    let n = 0;
    for (const v of sensitiveValues(doc)) n += (await new jose.CompactEncrypt(utf8.encode(v)).setProtectedHeader(header).encrypt(pub)).length;
    return n;
  };
  const cases: Case[] = [
    { name: 'one shared-key audience (8 values), round trip', fn: roundTrip(keys, single) },
    { name: 'two shared-key audiences (4 + 4), round trip', fn: roundTrip({ pci: keys, pii }, split) },
    { name: 'one shared-key audience, data-key reuse, round trip', fn: roundTrip(keys, single, true) },
    { name: 'two shared-key audiences, data-key reuse, round trip', fn: roundTrip({ pci: keys, pii }, split, true) },
    { name: 'wireseal X25519 audience, seal', fn: () => encryptFields(writer, doc, single) },
    { name: 'wireseal shared-key audience, seal', fn: () => encryptFields(keys, doc, single) },
    { name: 'wireseal X25519 audience, round trip', fn: () => decryptFields(reader, encryptFields(writer, doc, single), single) },
    { name: 'jose ECDH-ES+A256KW field by field, seal', fn: joseSeal },
  ];
  const results = await runGroup(cases, { rounds: ROUNDS, msPerRound: MS, warmupMs: WARMUP_MS });
  report('Audiences — the payment document, 8 values', 'documents/s', results, [
    { subject: 'two shared-key audiences, data-key reuse, round trip', peer: 'one shared-key audience, data-key reuse, round trip', target: 0.9 },
    { subject: 'two shared-key audiences (4 + 4), round trip', peer: 'one shared-key audience (8 values), round trip' },
    { subject: 'wireseal X25519 audience, seal', peer: 'jose ECDH-ES+A256KW field by field, seal', target: 5 },
    { subject: 'wireseal X25519 audience, seal', peer: 'wireseal shared-key audience, seal' },
    { subject: 'wireseal X25519 audience, round trip', peer: 'one shared-key audience (8 values), round trip' },
    { subject: 'one shared-key audience (8 values), round trip' },
    { subject: 'jose ECDH-ES+A256KW field by field, seal' },
  ]);
  console.log(`
Notes:
- two audiences: pci = card.number, card.cvv, card.expiry, customer.ssn; pii = customer.dob, accounts[*].iban (3 accounts); one key wrap per audience per document, or with data-key reuse (reuseContentKey: true, what the transports use) one held content key per audience across documents and the reader's cached unwrap. The target is judged like for like, both sides with reuse on.
- X25519 audience: the writer holds only the public key; one ephemeral key and key agreement per document, shared by the 8 tokens (same ek and epk). jose: one per value.`);
}

/**
 * Bytes per field token, and what each part costs, so topics and bodies can
 * be sized: one token of the payment document per key kind, measured from
 * tokens made now (kid 'bench-2026-11', a 13-character kid; a context of one
 * topic). Nothing here is a target; no binding is dropped to save bytes.
 */
function tokenBytes(keys: KeySet): void {
  const doc = paymentDocument();
  const policy = FieldPolicy.parse({ fields: [...FIELDS] });
  const context = { topic: 'payments.authorized' };
  const x25519 = PrivateKeySet.generate({ kid: 'bench-x25519', type: 'X25519' });
  const p256 = PrivateKeySet.generate({ kid: 'bench-p256', type: 'P-256' });
  const rsa = PrivateKeySet.generate({ kid: 'bench-rsa', type: 'RSA' });
  const kinds: Array<[string, Parameters<typeof encryptFields>[0], 'A256KW' | 'dir']> = [
    ['shared key, A256KW', keys, 'A256KW'],
    ['shared key, dir', keys, 'dir'],
    ['X25519, ECDH-ES+A256KW', PublicKeySet.of(x25519), 'A256KW'],
    ['P-256, ECDH-ES+A256KW', PublicKeySet.of(p256), 'A256KW'],
    ['RSA, RSA-OAEP-256', PublicKeySet.of(rsa), 'A256KW'],
  ];
  const b64 = (n: number): number => Math.ceil((n * 4) / 3);
  const rows: string[][] = [];
  let plainCard = 0;
  for (const [name, k, alg] of kinds) {
    const sealed = encryptFields(k, doc, policy, { alg, context }) as Payment;
    const token = sealed.card.number;
    const [h, ek, iv, ct, tag] = token.split('.') as [string, string, string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    // Each header member's share: its `"name":value,` in the JSON, in base64url characters.
    const member = (m: string): string => (header[m] === undefined ? '—' : String(b64(Buffer.byteLength(`${JSON.stringify(m)}:${JSON.stringify(header[m])},`))));
    plainCard = Buffer.byteLength(JSON.stringify(doc.card.number));
    const label = name.startsWith('RSA') ? `RSA-${(Buffer.from(ek, 'base64url').length * 8).toString()}, RSA-OAEP-256` : name;
    rows.push([label, String(token.length), String(h.length), member('alg'), member('enc'), member('kid'), member('wsf'), member('wsc'), member('epk'), String(ek.length), String(iv.length), String(ct.length), String(tag.length), '4']);
  }
  console.log(`\n### Bytes per field token — \`card.number\` (${plainCard} bytes of JSON text), context { topic }\n`);
  console.log(table(['key kind', 'token', 'protected header', 'alg', 'enc', 'kid', 'wsf', 'wsc', 'epk', 'encrypted key', 'IV', 'ciphertext', 'tag', 'dots'], rows));
  console.log(`
- every figure is base64url characters (= bytes in a JSON document or a Kafka record); header members are approximate shares of the header segment (each member's JSON text × 4/3).
- per document the encrypted key (and \`epk\`) is the same in every token of an audience, but each token carries it: tokens are standalone JWEs.
- fixed cost per token, shared key A256KW: header + 54 (encrypted key) + 16 (IV) + 22 (tag) + 4 dots; the ciphertext is the value's JSON text × 4/3. \`dir\` drops the encrypted key; public-key audiences add \`epk\` (ECDH-ES) or carry the RSA-encrypted key (the modulus' length × 4/3), as in the table.
- \`wsf\` grows with the path's length and \`kid\` with the kid's; \`wsc\` (43 characters of digest) is there whenever a context or a binding is.`);
}

async function main(): Promise<void> {
  await machineInfo();
  const keys = KeySet.generate({ kid: 'bench-2026-11' });
  const raw = keyBytes(keys);
  if (ONLY.has('small')) await smallValues(keys, raw);
  if (ONLY.has('large')) await largeValues(keys);
  if (ONLY.has('fields')) await fieldDocuments(keys, raw);
  if (ONLY.has('audiences')) await audienceDocuments(keys);
  if (ONLY.has('bytes')) tokenBytes(keys);
  if (missed.length > 0) {
    console.log(`\nTargets missed:\n${missed.map((m) => `- ${m}`).join('\n')}`);
    if (STRICT) process.exitCode = 1;
  } else {
    console.log('\nAll targets met.');
  }
}

await main();
