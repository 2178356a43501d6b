/** `wireseal seal` and `wireseal open`: one whole value, stdin to stdout. */
import { DEFAULT_LIMITS, open, seal } from '@wireseal/core';
import type { OpenOptions, SealOptions } from '@wireseal/core';
import type { CommandSpec } from '../args.ts';
import { CONTEXT_OPTION, choice, flag, list, parseContext, positiveNumber, str } from '../args.ts';
import { EXIT } from '../errors.ts';
import { readAll, write } from '../io.ts';
import { KEY_SOURCE_OPTIONS, loadKeys } from '../keys/source.ts';

/** Largest plaintext `seal` takes: its token still fits open's default 16 MiB token limit. */
export const MAX_SEAL_INPUT = 12 * 1024 * 1024;

const FIELD_OPTION = {
  field: { type: 'string', metavar: 'PATH', help: 'Policy path bound into the token as wsf (seal); the path it must carry (open)' },
} as const;

const sealCmd: CommandSpec = {
  name: 'seal',
  summary: 'Seal standard input into a JWE compact token under the primary key; prints the token and a newline.',
  usage: ['seal [--keyset FILE | --keyset-env VAR | --secret-id ID] [--context K=V]... [--field PATH] [--cty TYPE] [--iat] [--alg A256KW|dir]'],
  options: {
    ...KEY_SOURCE_OPTIONS,
    ...CONTEXT_OPTION,
    ...FIELD_OPTION,
    cty: { type: 'string', metavar: 'TYPE', help: 'Media type of the plaintext, written as cty' },
    iat: { type: 'boolean', help: 'Write the current time as iat' },
    alg: { type: 'string', metavar: 'ALG', help: 'A256KW (default: fresh content key per token) or dir' },
  },
  examples: [
    "printf 'hello' | wireseal seal --keyset keys.json --context topic=payments > token.txt",
    'wireseal open --keyset keys.json --context topic=payments < token.txt',
  ],
  async run({ values, io }) {
    const alg = choice(values, 'alg', ['A256KW', 'dir'] as const, 'A256KW');
    const context = parseContext(list(values, 'context'));
    const keys = await loadKeys(values, io, 'seal');
    const input = await readAll(io.stdin, MAX_SEAL_INPUT);
    const options: SealOptions = { alg };
    const field = str(values, 'field');
    const cty = str(values, 'cty');
    if (field !== undefined) options.field = field;
    if (cty !== undefined) options.cty = cty;
    if (flag(values, 'iat')) options.iat = true;
    if (context) options.context = context;
    await write(io.stdout, `${seal(keys, input, options)}\n`);
    return EXIT.OK;
  },
};

const openCmd: CommandSpec = {
  name: 'open',
  summary: 'Open the token on standard input (surrounding whitespace ignored); writes the plaintext bytes to stdout.',
  usage: ['open [--keyset FILE | --keyset-env VAR | --secret-id ID] [--context K=V]... [--field PATH] [--max-age SECONDS]'],
  description: 'The token must carry the same wsf (--field) and wsc (--context) it was sealed with.',
  options: {
    ...KEY_SOURCE_OPTIONS,
    ...CONTEXT_OPTION,
    ...FIELD_OPTION,
    'max-age': { type: 'string', metavar: 'SECONDS', help: 'Require iat and refuse tokens older than this (ERR_STALE)' },
  },
  examples: ['wireseal open --secret-id prod/wireseal --region eu-west-1 < token.txt'],
  async run({ values, io }) {
    const context = parseContext(list(values, 'context'));
    const options: OpenOptions = {};
    const field = str(values, 'field');
    if (field !== undefined) options.field = field;
    if (context) options.context = context;
    if (str(values, 'max-age') !== undefined) options.maxAgeSeconds = positiveNumber(values, 'max-age', 0);
    const keys = await loadKeys(values, io, 'open');
    const token = (await readAll(io.stdin, DEFAULT_LIMITS.maxTokenLength + 1024)).toString('latin1').trim();
    await write(io.stdout, open(keys, token, options));
    return EXIT.OK;
  },
};

/** seal and open. */
export const sealCommands: CommandSpec[] = [sealCmd, openCmd];
