/**
 * `wireseal keyset add | promote | retire | remove | list`: edit a JWK Set
 * file along the no-downtime rotation of docs/design.md. Every edit validates the
 * whole set before and after, and replaces the file atomically (mode 0600).
 */
import { KeySet } from '@wireseal/core';
import type { Jwks, OctJwk } from '@wireseal/core';
import { KeySetInvalidError } from '@wireseal/core/errors';
import type { CommandSpec } from '../args.ts';
import { flag, required, str } from '../args.ts';
import { EXIT, usageError } from '../errors.ts';
import { readText, writeFileAtomic } from '../files.ts';
import type { Io } from '../io.ts';
import { write } from '../io.ts';
import { markRetired, retiredAt } from '../keys/retired.ts';
import { KEY_SOURCE_OPTIONS, loadKeys, readKeySetFile } from '../keys/source.ts';
import { keyFileText } from './keygen.ts';

const KEYSET_FILE = { keyset: { type: 'string', metavar: 'FILE', help: 'The JWK Set file to edit (required)' } } as const;

async function save(file: string, jwks: Jwks): Promise<KeySet> {
  const keys = KeySet.fromJwks(jwks); // never write a set that does not validate
  await writeFileAtomic(file, keyFileText(jwks), { overwrite: true });
  return keys;
}

async function status(io: Io, line: string): Promise<void> {
  await write(io.stderr, `${line}\n`);
}

function jwkOf(keys: KeySet, kid: string): OctJwk {
  const jwk = keys.toJwks().keys.find((k) => k.kid === kid);
  if (!jwk) throw new KeySetInvalidError(`no key with kid "${kid}" in the set (have: ${keys.list().map((k) => k.kid).join(', ')})`);
  return jwk;
}

async function readJwkFile(file: string): Promise<OctJwk> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(file, 'JWK file', 64 * 1024));
  } catch (err) {
    if (err instanceof SyntaxError) throw new KeySetInvalidError(`JWK file ${file} is not valid JSON`);
    throw err;
  }
  if (parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys)) {
    const keys = (parsed as { keys: unknown[] }).keys;
    if (keys.length !== 1) throw new KeySetInvalidError(`JWK file ${file} holds a set of ${keys.length} keys; give one key`);
    parsed = keys[0];
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new KeySetInvalidError(`JWK file ${file} does not hold a JWK object`);
  return parsed as OctJwk;
}

const add: CommandSpec = {
  name: 'keyset add',
  summary: 'Rotation step 1: add a new decrypt-only key (generated, or from --jwk FILE).',
  usage: ['keyset add --keyset FILE [--kid KID | --jwk FILE]'],
  description: 'Roll the edited set out to every reader before promoting the new key, so that every reader can open what it will seal.',
  options: {
    ...KEYSET_FILE,
    kid: { type: 'string', metavar: 'KID', help: 'Id of the generated key (default: the current UTC year-month)' },
    jwk: { type: 'string', metavar: 'FILE', help: 'Add this key (a JWK, e.g. from `wireseal keygen --key`) instead of generating one' },
  },
  examples: ['wireseal keyset add --keyset keys.json --kid 2026-11'],
  async run({ values, io }) {
    const file = required(values, 'keyset', 'keyset add');
    const kid = str(values, 'kid');
    const jwkFile = str(values, 'jwk');
    if (kid !== undefined && jwkFile !== undefined) throw usageError('give --kid or --jwk, not both (the JWK names its own kid)');
    const keys = await readKeySetFile(file);
    const next = jwkFile !== undefined ? keys.addKey({ jwk: await readJwkFile(jwkFile) }) : keys.addKey(kid === undefined ? {} : { kid });
    const added = next.list()[next.size - 1]!.kid;
    await save(file, next.toJwks());
    await status(io, `added key "${added}" (decrypt-only) to ${file}; roll it out to every reader, then: wireseal keyset promote ${added} --keyset ${file}`);
    return EXIT.OK;
  },
};

const promote: CommandSpec = {
  name: 'keyset promote',
  summary: 'Rotation step 2: make KID the primary; the old primary becomes decrypt-only.',
  usage: ['keyset promote KID --keyset FILE'],
  options: { ...KEYSET_FILE },
  positionals: { min: 1, max: 1 },
  examples: ['wireseal keyset promote 2026-11 --keyset keys.json'],
  async run({ values, positionals, io }) {
    const file = required(values, 'keyset', 'keyset promote');
    const kid = positionals[0]!;
    const keys = await readKeySetFile(file);
    jwkOf(keys, kid);
    const old = keys.primaryKid;
    if (old === kid) {
      await status(io, `"${kid}" is already the primary; ${file} unchanged`);
      return EXIT.OK;
    }
    await save(file, markRetired(keys.promote(kid).toJwks(), kid, undefined));
    await status(io, `promoted "${kid}" to primary in ${file}; "${old}" is now decrypt-only. Next: wireseal keyset retire ${old} --keyset ${file}`);
    return EXIT.OK;
  },
};

const retire: CommandSpec = {
  name: 'keyset retire',
  summary: 'Rotation step 3: mark a decrypt-only key as retired (it still opens; re-encrypt, then remove it).',
  usage: ['keyset retire KID --keyset FILE'],
  description:
    'A retired key keeps key_ops ["decrypt"], so readers still open everything it sealed, and gains the JWK member\n' +
    '"wireseal_retired" (the time). It tells operators and `keyset remove` that the key is being phased out:\n' +
    'run `wireseal reencrypt` over stored data, then `wireseal keyset remove KID`. The primary cannot be retired.',
  options: { ...KEYSET_FILE },
  positionals: { min: 1, max: 1 },
  examples: ['wireseal keyset retire 2026-05 --keyset keys.json'],
  async run({ values, positionals, io }) {
    const file = required(values, 'keyset', 'keyset retire');
    const kid = positionals[0]!;
    const keys = await readKeySetFile(file);
    const jwk = jwkOf(keys, kid);
    if (keys.primaryKid === kid) throw new KeySetInvalidError(`cannot retire key "${kid}": it is the primary; promote another key first`);
    const at = retiredAt(jwk);
    if (at !== undefined) {
      await status(io, `"${kid}" is already retired (since ${at}); ${file} unchanged`);
      return EXIT.OK;
    }
    const jwks = markRetired(keys.toJwks(), kid, new Date().toISOString());
    for (const k of jwks.keys) if (k.kid === kid) k.key_ops = ['decrypt'];
    await save(file, jwks);
    await status(io, `retired "${kid}" in ${file}: it still opens what it sealed. Re-encrypt stored data (wireseal reencrypt), then: wireseal keyset remove ${kid} --keyset ${file}`);
    return EXIT.OK;
  },
};

const remove: CommandSpec = {
  name: 'keyset remove',
  summary: 'Rotation step 4: remove a retired key once nothing sealed with it is left.',
  usage: ['keyset remove KID --keyset FILE [--force]'],
  description: 'Refuses the primary (ERR_KEYSET_INVALID), and a key that is not retired unless --force.',
  options: { ...KEYSET_FILE, force: { type: 'boolean', short: 'f', help: 'Remove a key that is not retired' } },
  positionals: { min: 1, max: 1 },
  examples: ['wireseal keyset remove 2026-05 --keyset keys.json'],
  async run({ values, positionals, io }) {
    const file = required(values, 'keyset', 'keyset remove');
    const kid = positionals[0]!;
    const keys = await readKeySetFile(file);
    const jwk = jwkOf(keys, kid);
    if (keys.primaryKid !== kid && retiredAt(jwk) === undefined && !flag(values, 'force')) {
      throw usageError(`key "${kid}" is not retired; retire it and re-encrypt stored data first (wireseal keyset retire ${kid}), or pass --force`);
    }
    await save(file, keys.remove(kid).toJwks());
    await status(io, `removed "${kid}" from ${file}; tokens sealed with it no longer open`);
    return EXIT.OK;
  },
};

/** Rows for `keyset list`: kid, role, retired time. Never key bytes. */
export function describeKeys(keys: KeySet): Array<{ kid: string; role: string; retired?: string }> {
  const jwks = keys.toJwks().keys;
  return keys.list().map((info, i) => {
    const at = retiredAt(jwks[i]!);
    return { kid: info.kid, role: info.role, ...(at !== undefined ? { retired: at } : {}) };
  });
}

const listCmd: CommandSpec = {
  name: 'keyset list',
  summary: 'Show the kids and roles of a key set (file, env or Secrets Manager). Never key bytes.',
  usage: ['keyset list (--keyset FILE | --keyset-env VAR | --secret-id ID) [--json]'],
  options: { ...KEY_SOURCE_OPTIONS, json: { type: 'boolean', help: 'Print JSON: [{"kid","role","retired"?}]' } },
  examples: ['wireseal keyset list --keyset keys.json', 'wireseal keyset list --secret-id prod/wireseal --region eu-west-1'],
  async run({ values, io }) {
    const rows = describeKeys(await loadKeys(values, io, 'keyset list'));
    if (flag(values, 'json')) {
      await write(io.stdout, `${JSON.stringify(rows)}\n`);
      return EXIT.OK;
    }
    const width = Math.max(3, ...rows.map((r) => r.kid.length)) + 2;
    const lines = [`${'KID'.padEnd(width)}${'ROLE'.padEnd(14)}RETIRED`];
    for (const r of rows) lines.push(`${r.kid.padEnd(width)}${r.role.padEnd(14)}${r.retired ?? ''}`.trimEnd());
    await write(io.stdout, `${lines.join('\n')}\n`);
    return EXIT.OK;
  },
};

/** The keyset sub-commands. */
export const keysetCommands: CommandSpec[] = [add, promote, retire, remove, listCmd];

