/**
 * `wireseal inspect`: decode a token's protected header and segment sizes
 * without any key; with `--policy`, every policy value of a JSON document:
 * its concrete path, audience, kid and alg. Nothing here is authenticated
 * until the tokens are opened.
 */
import { DEFAULT_LIMITS, WiresealError, decodeProtectedHeader, looksLikeToken, policyLocations } from '@wireseal/core';
import type { FieldPolicy, PolicyMisfit, ProtectedHeader } from '@wireseal/core';
import { TokenMalformedError } from '@wireseal/core/errors';
import type { CommandSpec } from '../args.ts';
import { flag, str } from '../args.ts';
import { EXIT, usageError } from '../errors.ts';
import { readAll, write } from '../io.ts';
import { MAX_DOCUMENT, parseDocument, readPolicy } from './fields.ts';

/** What `inspect` reports about a token. */
export interface TokenReport {
  header: ProtectedHeader;
  /** Decoded sizes in bytes. */
  bytes: { protectedHeader: number; encryptedKey: number; iv: number; ciphertext: number; tag: number };
  /** Total token length in characters. */
  length: number;
  /** What `open` would reject before decrypting (wrong lengths, algorithms). Empty when none. */
  problems: string[];
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function segmentBytes(text: string, name: string): number {
  if (!B64URL.test(text) || text.length % 4 === 1) throw new TokenMalformedError(`token ${name} segment is not valid unpadded base64url`);
  return Buffer.from(text, 'base64url').length;
}

/** Decodes a token's structure. @throws TokenMalformedError when it is not a JWE compact token */
export function inspectToken(token: string): TokenReport {
  const parts = token.split('.');
  if (parts.length !== 5) throw new TokenMalformedError(`token is not JWE compact serialization: expected 5 dot-separated segments, got ${parts.length}`);
  const header = decodeProtectedHeader(token);
  const [h, ek, iv, ct, tag] = parts as [string, string, string, string, string];
  const bytes = {
    protectedHeader: segmentBytes(h, 'protected header'),
    encryptedKey: segmentBytes(ek, 'encrypted key'),
    iv: segmentBytes(iv, 'iv'),
    ciphertext: segmentBytes(ct, 'ciphertext'),
    tag: segmentBytes(tag, 'tag'),
  };
  const problems: string[] = [];
  const shared = header.alg === 'A256KW' || header.alg === 'dir';
  const publicKey = header.alg === 'ECDH-ES+A256KW' || header.alg === 'RSA-OAEP-256';
  if (!shared && !publicKey) problems.push(`alg ${JSON.stringify(header.alg ?? null)} is not A256KW or dir (or, for public-key field tokens, ECDH-ES+A256KW or RSA-OAEP-256)`);
  if (header.enc !== 'A256GCM') problems.push(`enc ${JSON.stringify(header.enc ?? null)} is not A256GCM`);
  if (header.kid === undefined) problems.push('no kid');
  if (header.zip !== undefined) problems.push('zip is present (compression is not supported)');
  if (header.crit !== undefined) problems.push('crit is present (no critical extensions are supported)');
  if (header.alg === 'A256KW' && bytes.encryptedKey !== 40) problems.push(`encrypted key is ${bytes.encryptedKey} bytes; A256KW needs 40`);
  if (header.alg === 'dir' && bytes.encryptedKey !== 0) problems.push(`encrypted key is ${bytes.encryptedKey} bytes; dir needs 0`);
  if (header.alg === 'ECDH-ES+A256KW' && bytes.encryptedKey !== 40) problems.push(`encrypted key is ${bytes.encryptedKey} bytes; ECDH-ES+A256KW needs 40`);
  if (header.alg === 'ECDH-ES+A256KW' && (header.epk === null || typeof header.epk !== 'object')) problems.push('no epk (ECDH-ES+A256KW needs the ephemeral public key)');
  if (header.alg === 'RSA-OAEP-256' && (bytes.encryptedKey < 256 || bytes.encryptedKey > 1024)) problems.push(`encrypted key is ${bytes.encryptedKey} bytes; RSA-OAEP-256 needs 256-1024 (2048-8192-bit keys)`);
  if (bytes.iv !== 12) problems.push(`iv is ${bytes.iv} bytes; A256GCM needs 12`);
  if (bytes.tag !== 16) problems.push(`tag is ${bytes.tag} bytes; A256GCM needs 16`);
  if (token.length > DEFAULT_LIMITS.maxTokenLength) problems.push(`token is over the default limit of ${DEFAULT_LIMITS.maxTokenLength} characters`);
  return { header, bytes, length: token.length, problems };
}

function human(r: TokenReport): string {
  const lines = ['protected header (not authenticated until the token is opened):', `  ${JSON.stringify(r.header)}`];
  if (typeof r.header.iat === 'number') lines.push(`  iat = ${new Date(r.header.iat * 1000).toISOString()}`);
  const b = r.bytes;
  lines.push(
    `segments (bytes): header ${b.protectedHeader}, encrypted key ${b.encryptedKey}, iv ${b.iv}, ciphertext ${b.ciphertext}, tag ${b.tag}`,
    `token length: ${r.length} characters; plaintext: ${b.ciphertext} bytes`,
  );
  for (const p of r.problems) lines.push(`problem: ${p}`);
  return `${lines.join('\n')}\n`;
}

/** One policy value of a document, as `inspect --policy` reports it. */
export interface FieldReport {
  /** The concrete path (`accounts[1].iban`). */
  path: string;
  /** The policy path it sits at (a token there must carry it as `wsf`). */
  policyPath: string;
  /** The audience of that policy path (`default` for a `fields` policy). */
  audience: string;
  /** `token`; `plaintext` (not a token: a value the policy wants sealed); `malformed` (token-shaped, does not decode); `misfit` (a member of the wrong shape). */
  state: 'token' | 'plaintext' | 'malformed' | 'misfit';
  kid?: string;
  alg?: string;
  enc?: string;
  /** What `fields decrypt` would reject before decrypting this token (as for `inspect TOKEN`, and a `wsf` other than the path). */
  problems?: string[];
  /** misfit: what the policy expects there and what the document has (never the value). */
  expected?: 'object' | 'array';
  found?: string;
}

/** What `inspect --policy` reports about a document. */
export interface DocumentReport {
  fields: FieldReport[];
  /** Per audience: tokens, plaintext values, and tokens per kid. */
  audiences: Record<string, { tokens: number; plaintext: number; kids: Record<string, number> }>;
  /** Policy paths that match nothing in the document. */
  unmatched: string[];
}

function bump(map: Record<string, number>, key: string): void {
  Object.defineProperty(map, key, { value: (Object.prototype.hasOwnProperty.call(map, key) ? map[key]! : 0) + 1, enumerable: true, writable: true, configurable: true });
}

/** The policy values of a document: where each sits, its audience, and (tokens) kid and alg. Values are never shown. */
export function inspectDocument(doc: unknown, policy: FieldPolicy): DocumentReport {
  const misfits: PolicyMisfit[] = [];
  const fields: FieldReport[] = policyLocations({ v: doc }, policy, misfits).map((loc) => {
    const base = { path: loc.concrete, policyPath: loc.path.text, audience: loc.path.audience };
    const value = (loc.holder as Record<string | number, unknown>)[loc.key];
    if (!looksLikeToken(value)) return { ...base, state: 'plaintext' };
    let report: TokenReport;
    try {
      report = inspectToken(value);
    } catch (err) {
      if (!(err instanceof WiresealError)) throw err;
      return { ...base, state: 'malformed', problems: [err.message] };
    }
    const h = report.header;
    const problems = [...report.problems];
    if (h.wsf !== loc.path.text) problems.push(h.wsf === undefined ? 'no wsf: the token is not bound to a field' : `wsf ${JSON.stringify(h.wsf)} is not this policy path`);
    return { ...base, state: 'token', ...(typeof h.kid === 'string' ? { kid: h.kid } : {}), alg: String(h.alg), enc: String(h.enc), problems };
  });
  for (const m of misfits) fields.push({ path: m.concrete, policyPath: m.path.text, audience: m.path.audience, state: 'misfit', expected: m.expected, found: m.found });
  const audiences: DocumentReport['audiences'] = {};
  for (const a of policy.audiences) Object.defineProperty(audiences, a, { value: { tokens: 0, plaintext: 0, kids: {} }, enumerable: true, writable: true, configurable: true });
  for (const f of fields) {
    const a = audiences[f.audience]!;
    if (f.state === 'token' || f.state === 'malformed') {
      a.tokens++;
      if (f.kid !== undefined) bump(a.kids, f.kid);
    } else a.plaintext++;
  }
  const hit = new Set(fields.map((f) => f.policyPath));
  return { fields, audiences, unmatched: policy.paths.filter((p) => !hit.has(p.text)).map((p) => p.text) };
}

/** A table: columns padded to their widest cell, the last one not. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd());
}

function humanDocument(r: DocumentReport): string {
  const what = (f: FieldReport): string[] =>
    f.state === 'token' ? [f.kid ?? '(no kid)', f.alg ?? ''] : f.state === 'misfit' ? [`(${f.found} where the policy expects ${f.expected === 'array' ? 'an array' : 'an object'})`, ''] : [`(${f.state})`, ''];
  const lines = r.fields.length ? table([['PATH', 'AUDIENCE', 'KID', 'ALG'], ...r.fields.map((f) => [f.path, f.audience, ...what(f)])]) : ['no policy path matches a value in this document'];
  for (const f of r.fields) for (const p of f.problems ?? []) lines.push(`problem: ${f.path}: ${p}`);
  const per = Object.entries(r.audiences).map(([a, c]) => `${a}: ${c.tokens} token${c.tokens === 1 ? '' : 's'}${c.plaintext ? `, ${c.plaintext} not sealed` : ''}`);
  lines.push('', `${per.join('; ')}. Headers are not authenticated until the tokens are opened.`);
  if (r.unmatched.length) lines.push(`unmatched policy paths: ${r.unmatched.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** `wireseal inspect`. */
export const inspect: CommandSpec = {
  name: 'inspect',
  summary: 'Show the protected header and segment sizes of a token, or the tokens of a document (--policy), without decrypting.',
  usage: ['inspect [TOKEN | -] [--json]', 'inspect --policy FILE [--json] < document.json'],
  description: [
    'Reads the token from standard input when TOKEN is absent or "-". Problems that `open` would reject are listed.',
    'With --policy, reads a JSON document instead and lists every value at a policy path: its concrete path, the',
    'audience of that path, and for tokens the kid and alg (plaintext values are listed, never shown). No key needed.',
  ].join('\n'),
  options: {
    policy: { type: 'string', metavar: 'FILE', help: 'Inspect the JSON document on standard input against this field policy' },
    json: { type: 'boolean', help: 'Print JSON: {header, bytes, length, problems}; with --policy {fields, audiences, unmatched}' },
  },
  positionals: { min: 0, max: 1 },
  examples: ['wireseal inspect "$(cat token.txt)"', 'wireseal inspect --json < token.txt', 'wireseal inspect --policy policy.json < sealed.json'],
  async run({ values, positionals, io }) {
    const arg = positionals[0];
    const policyFile = str(values, 'policy');
    if (policyFile !== undefined) {
      if (arg !== undefined && arg !== '-') throw usageError('inspect --policy reads the document from standard input; it takes no TOKEN');
      const policy = await readPolicy(policyFile);
      const doc = parseDocument((await readAll(io.stdin, MAX_DOCUMENT)).toString('utf8'), 'standard input');
      const report = inspectDocument(doc, policy);
      await write(io.stdout, flag(values, 'json') ? `${JSON.stringify(report)}\n` : humanDocument(report));
      return EXIT.OK;
    }
    const token = arg !== undefined && arg !== '-' ? arg.trim() : (await readAll(io.stdin, DEFAULT_LIMITS.maxTokenLength + 1024)).toString('latin1').trim();
    const report = inspectToken(token);
    await write(io.stdout, flag(values, 'json') ? `${JSON.stringify(report)}\n` : human(report));
    return EXIT.OK;
  },
};
