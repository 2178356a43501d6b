/**
 * `wireseal inspect`: decode a token's protected header and segment sizes
 * without any key. Nothing here is authenticated until the token is opened.
 */
import { DEFAULT_LIMITS, decodeProtectedHeader } from '@wireseal/core';
import type { ProtectedHeader } from '@wireseal/core';
import { TokenMalformedError } from '@wireseal/core/errors';
import type { CommandSpec } from '../args.ts';
import { flag } from '../args.ts';
import { EXIT } from '../errors.ts';
import { readAll, write } from '../io.ts';

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
  if (header.alg !== 'A256KW' && header.alg !== 'dir') problems.push(`alg ${JSON.stringify(header.alg ?? null)} is not A256KW or dir`);
  if (header.enc !== 'A256GCM') problems.push(`enc ${JSON.stringify(header.enc ?? null)} is not A256GCM`);
  if (header.kid === undefined) problems.push('no kid');
  if (header.zip !== undefined) problems.push('zip is present (compression is not supported)');
  if (header.crit !== undefined) problems.push('crit is present (no critical extensions are supported)');
  if (header.alg === 'A256KW' && bytes.encryptedKey !== 40) problems.push(`encrypted key is ${bytes.encryptedKey} bytes; A256KW needs 40`);
  if (header.alg === 'dir' && bytes.encryptedKey !== 0) problems.push(`encrypted key is ${bytes.encryptedKey} bytes; dir needs 0`);
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

/** `wireseal inspect`. */
export const inspect: CommandSpec = {
  name: 'inspect',
  summary: 'Show the protected header and segment sizes of a token, without decrypting (no key needed).',
  usage: ['inspect [TOKEN | -] [--json]'],
  description: 'Reads the token from standard input when TOKEN is absent or "-". Problems that `open` would reject are listed.',
  options: { json: { type: 'boolean', help: 'Print JSON: {header, bytes, length, problems}' } },
  positionals: { min: 0, max: 1 },
  examples: ['wireseal inspect "$(cat token.txt)"', 'wireseal inspect --json < token.txt'],
  async run({ values, positionals, io }) {
    const arg = positionals[0];
    const token = arg !== undefined && arg !== '-' ? arg.trim() : (await readAll(io.stdin, DEFAULT_LIMITS.maxTokenLength + 1024)).toString('latin1').trim();
    const report = inspectToken(token);
    await write(io.stdout, flag(values, 'json') ? `${JSON.stringify(report)}\n` : human(report));
    return EXIT.OK;
  },
};
