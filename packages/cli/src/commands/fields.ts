/** `wireseal fields encrypt | decrypt --policy FILE`: one JSON document, stdin to stdout. */
import { FieldPolicy, decryptFields, encryptFields } from '@wireseal/core';
import type { DecryptFieldsOptions, EncryptFieldsOptions } from '@wireseal/core';
import type { CommandSpec, OptionSpec } from '../args.ts';
import { CONTEXT_OPTION, choice, flag, list, parseContext, required } from '../args.ts';
import { EXIT, inputError } from '../errors.ts';
import { readText } from '../files.ts';
import { readAll, write } from '../io.ts';
import { KEYRING_OPTIONS, loadFieldKeys } from '../keys/keyring.ts';
import { KEY_SOURCE_OPTIONS } from '../keys/source.ts';

/** Largest document the fields commands read. */
export const MAX_DOCUMENT = 64 * 1024 * 1024;

const POLICY_OPTION: Record<string, OptionSpec> = {
  policy: { type: 'string', metavar: 'FILE', help: 'Field policy JSON file: {"fields": [...]} or {"audiences": {"pci": [...], ...}} (required)' },
};

/** Reads and validates a policy file. */
export async function readPolicy(file: string): Promise<FieldPolicy> {
  return FieldPolicy.parse(await readText(file, 'policy file', 1024 * 1024));
}

/** Parses a JSON document. @throws CliError `ERR_INPUT_INVALID` when it is not JSON */
export function parseDocument(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw inputError(`${what} is not valid JSON`);
  }
}

function output(doc: unknown, pretty: boolean): string {
  return `${pretty ? JSON.stringify(doc, null, 2) : JSON.stringify(doc)}\n`;
}

const encrypt: CommandSpec = {
  name: 'fields encrypt',
  summary: 'Seal the policy fields of the JSON document on standard input; prints the document.',
  usage: [
    'fields encrypt --policy FILE [--keyset FILE | --keyset-env VAR | --secret-id ID] [--context K=V]... [--alg A256KW|dir] [--pretty]',
    'fields encrypt --policy FILE (--keyring FILE | --audience NAME=[public:|private:]FILE...) [options]',
  ],
  description: 'A policy with audiences needs a keyring: every audience the document has values for (ERR_AUDIENCE_MISSING otherwise).',
  options: {
    ...POLICY_OPTION,
    ...KEY_SOURCE_OPTIONS,
    ...KEYRING_OPTIONS,
    ...CONTEXT_OPTION,
    alg: { type: 'string', metavar: 'ALG', help: 'A256KW (default) or dir' },
    pretty: { type: 'boolean', help: 'Indent the output' },
  },
  examples: [
    'wireseal fields encrypt --policy policy.json --keyset keys.json < payment.json > sealed.json',
    'wireseal fields encrypt --policy policy.json --keyring keyring.json < payment.json > sealed.json',
  ],
  async run({ values, io }) {
    const policy = await readPolicy(required(values, 'policy', 'fields encrypt'));
    const options: EncryptFieldsOptions = { alg: choice(values, 'alg', ['A256KW', 'dir'] as const, 'A256KW') };
    const context = parseContext(list(values, 'context'));
    if (context) options.context = context;
    const keys = await loadFieldKeys(values, io, 'fields encrypt', policy);
    const doc = parseDocument((await readAll(io.stdin, MAX_DOCUMENT)).toString('utf8'), 'standard input');
    await write(io.stdout, output(encryptFields(keys.single ?? keys.ring, doc, policy, options), flag(values, 'pretty')));
    return EXIT.OK;
  },
};

const decrypt: CommandSpec = {
  name: 'fields decrypt',
  summary: 'Open the policy fields of the JSON document on standard input; prints the plaintext document.',
  usage: [
    'fields decrypt --policy FILE [--keyset FILE | --keyset-env VAR | --secret-id ID] [--context K=V]... [--mode strict|migrate] [--report] [--pretty]',
    'fields decrypt --policy FILE (--keyring FILE | --audience NAME=[private:]FILE...) [options]',
  ],
  description: [
    'strict (default): plaintext at a policy path is ERR_PLAINTEXT_FIELD. migrate: it passes through.',
    'Tokens of audiences the keyring holds no keys (or only public keys) for are left exactly as they were',
    '(listed as "sealed" by --report); that is never an error.',
  ].join('\n'),
  options: {
    ...POLICY_OPTION,
    ...KEY_SOURCE_OPTIONS,
    ...KEYRING_OPTIONS,
    ...CONTEXT_OPTION,
    mode: { type: 'string', metavar: 'MODE', help: 'strict (default) or migrate' },
    report: { type: 'boolean', help: 'Print {"decrypted":[paths],"passedThrough":[paths],"sealed":[paths]} on stderr' },
    pretty: { type: 'boolean', help: 'Indent the output' },
  },
  examples: ['wireseal fields decrypt --policy policy.json --keyset keys.json < sealed.json', 'wireseal fields decrypt --policy policy.json --audience pii=pii-keys.json --report < sealed.json'],
  async run({ values, io }) {
    const policy = await readPolicy(required(values, 'policy', 'fields decrypt'));
    const options: DecryptFieldsOptions = { mode: choice(values, 'mode', ['strict', 'migrate'] as const, 'strict') };
    const context = parseContext(list(values, 'context'));
    if (context) options.context = context;
    const keys = await loadFieldKeys(values, io, 'fields decrypt', policy);
    const doc = parseDocument((await readAll(io.stdin, MAX_DOCUMENT)).toString('utf8'), 'standard input');
    const result = decryptFields(keys.single ?? keys.ring, doc, policy, options);
    await write(io.stdout, output(result.doc, flag(values, 'pretty')));
    if (flag(values, 'report')) {
      await write(io.stderr, `${JSON.stringify({ decrypted: result.decrypted, passedThrough: result.passedThrough, sealed: result.sealed })}\n`);
    }
    return EXIT.OK;
  },
};

/** fields encrypt and fields decrypt. */
export const fieldsCommands: CommandSpec[] = [encrypt, decrypt];
