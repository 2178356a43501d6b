/**
 * `wireseal keyset add | promote | retire | remove | list`: edit a JWK Set
 * file along the no-downtime rotation of docs/design.md. Every edit validates the
 * whole set before and after, and replaces the file atomically (mode 0600).
 * The file is `--keyset FILE`, or one audience's shared key set in a keyring
 * file (`--keyring FILE --audience NAME`); or `--secret-id ID` edits a
 * Secrets Manager secret in place, plain or KMS-protected (keys/secret-edit.ts).
 * The kid is given as a positional or as `--kid`, the same way for every sub-command.
 */
import { KeySet, PrivateKeySet } from '@wireseal/core';
import type { AudienceKeySet, Jwks, OctJwk } from '@wireseal/core';
import { KeySetInvalidError } from '@wireseal/core/errors';
import type { CommandSpec, OptionSpec, Values } from '../args.ts';
import { flag, str } from '../args.ts';
import { EXIT, usageError } from '../errors.ts';
import { readText, writeFileAtomic } from '../files.ts';
import type { Io } from '../io.ts';
import { write } from '../io.ts';
import { sealingKid } from '../keys/audience.ts';
import type { AudienceEntry } from '../keys/keyring.ts';
import { loadAudienceKeys, readKeyringFile } from '../keys/keyring.ts';
import { AWS_OPTIONS } from '../keys/aws.ts';
import { KMS_OPTIONS } from '../keys/protected.ts';
import { markRetired, retiredAt } from '../keys/retired.ts';
import { secretEditTarget, secretKeyRows } from '../keys/secret-edit.ts';
import type { EditTarget } from '../keys/secret-edit.ts';
import { KEY_SOURCE_OPTIONS, loadKeys, readKeySetFile, refuseAwsOptions } from '../keys/source.ts';
import { keyFileText } from './keygen.ts';

/** `--keyring FILE --audience NAME`: one audience of a keyring file. */
const KEYRING_AUDIENCE: Record<string, OptionSpec> = {
  keyring: { type: 'string', metavar: 'FILE', help: 'A keyring file (see the README); with --audience, its audience\'s key set file is the one' },
  audience: { type: 'string', metavar: 'NAME', help: 'With --keyring: the audience whose key set to use' },
};

/** Where an edit goes: `--keyset FILE`, `--keyring FILE --audience NAME` (a shared key set), or `--secret-id ID` (in place). */
const KEYSET_FILE: Record<string, OptionSpec> = {
  keyset: { type: 'string', metavar: 'FILE', help: 'The JWK Set file to edit (or --keyring FILE --audience NAME, or --secret-id ID)' },
  ...KEYRING_AUDIENCE,
  'secret-id': { type: 'string', metavar: 'ID', help: 'Edit this Secrets Manager secret in place (plain or KMS-protected), as a new AWSCURRENT version' },
  ...AWS_OPTIONS,
  ...KMS_OPTIONS,
};

/** `--kid`, the same on every sub-command (a positional KID works too). */
const KID_OPTION: OptionSpec = { type: 'string', metavar: 'KID', help: 'The key id (or give it as the positional KID)' };

/** The kid, from the positional or `--kid` (both only if equal). */
function kidArg(values: Values, positionals: string[], command: string, needed: true): string;
function kidArg(values: Values, positionals: string[], command: string, needed: false): string | undefined;
function kidArg(values: Values, positionals: string[], command: string, needed: boolean): string | undefined {
  const option = str(values, 'kid');
  const positional = positionals[0];
  if (option !== undefined && positional !== undefined && option !== positional) {
    throw usageError(`${command}: the kid is given twice, as ${JSON.stringify(positional)} and --kid ${JSON.stringify(option)}; give it once`);
  }
  const kid = option ?? positional;
  if (needed && (kid === undefined || kid === '')) throw usageError(`${command} needs the kid: ${command} KID, or --kid KID (see: wireseal ${command} --help)`);
  return kid;
}

/** The audience `--keyring FILE --audience NAME` names, or undefined without --keyring. */
async function keyringAudience(values: Values, command: string): Promise<{ ring: string; entry: AudienceEntry } | undefined> {
  const ring = str(values, 'keyring');
  const audience = str(values, 'audience');
  if (ring === undefined) {
    if (audience !== undefined) throw usageError(`--audience applies with --keyring FILE (see: wireseal ${command} --help)`);
    return undefined;
  }
  for (const o of ['keyset', 'keyset-env', 'secret-id']) if (str(values, o) !== undefined) throw usageError(`give --${o} or --keyring, not both`);
  const entries = await readKeyringFile(ring);
  if (audience === undefined) {
    if (command === 'keyset list') return undefined;
    throw usageError(`${command} --keyring ${ring} needs --audience NAME (one of: ${entries.map((e) => e.audience).join(', ')})`);
  }
  const entry = entries.find((e) => e.audience === audience);
  if (!entry) throw usageError(`keyring ${ring} has no audience "${audience}" (it has: ${entries.map((e) => e.audience).join(', ') || 'none'})`);
  return { ring, entry };
}

/** The key set an edit applies to: a file, a keyring audience's file, or a secret (edited in place). */
async function editTarget(values: Values, command: string): Promise<EditTarget> {
  const picked = await keyringAudience(values, command);
  if (picked) {
    if (picked.entry.kind !== 'keyset') {
      throw usageError(`audience "${picked.entry.audience}" holds a ${picked.entry.kind} JWK Set (${picked.entry.file}); ${command} edits shared key sets (kind "keyset")`);
    }
    return fileTarget(picked.entry.file, `--keyring ${picked.ring} --audience ${picked.entry.audience}`);
  }
  const file = str(values, 'keyset');
  const secretId = str(values, 'secret-id');
  if (file !== undefined && secretId !== undefined) throw usageError(`give --keyset or --secret-id, not both`);
  if (secretId !== undefined && secretId !== '') return secretEditTarget(secretId, values, command);
  refuseAwsOptions(values);
  for (const o of ['kms-key-id', 'kms-endpoint']) if (str(values, o) !== undefined) throw usageError(`--${o} applies only with --secret-id`);
  if (file === undefined || file === '') throw usageError(`${command} needs --keyset FILE, --keyring FILE --audience NAME, or --secret-id ID (see: wireseal ${command} --help)`);
  return fileTarget(file, `--keyset ${file}`);
}

function fileTarget(file: string, hint: string): EditTarget {
  return {
    where: file,
    hint,
    load: () => readKeySetFile(file),
    async save(jwks) {
      const keys = KeySet.fromJwks(jwks); // never write a set that does not validate
      await writeFileAtomic(file, keyFileText(jwks), { overwrite: true });
      return { keys, note: '' };
    },
    close: () => undefined,
  };
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
  usage: ['keyset add [KID | --kid KID | --jwk FILE] (--keyset FILE | --keyring FILE --audience NAME | --secret-id ID [--kms-key-id KEY])'],
  description:
    'Roll the edited set out to every reader before promoting the new key, so that every reader can open what it will seal.\n' +
    'With --secret-id the secret is edited in place (a new AWSCURRENT version); on a KMS-protected secret only the new key is\n' +
    'wrapped (one KMS Encrypt, under the secret\'s kmsKeyId; --kms-key-id, if given, must name the same key).',
  options: {
    ...KEYSET_FILE,
    kid: { type: 'string', metavar: 'KID', help: 'Id of the generated key (default: the current UTC year-month); or the positional KID' },
    jwk: { type: 'string', metavar: 'FILE', help: 'Add this key (a JWK, e.g. from `wireseal keygen --key`) instead of generating one' },
  },
  positionals: { min: 0, max: 1 },
  examples: ['wireseal keyset add --keyset keys.json --kid 2026-11', 'wireseal keyset add 2026-11 --keyring keyring.json --audience pci', 'wireseal keyset add 2026-11 --secret-id prod/wireseal --kms-key-id alias/wireseal'],
  async run({ values, positionals, io }) {
    const kid = kidArg(values, positionals, 'keyset add', false);
    const jwkFile = str(values, 'jwk');
    if (kid !== undefined && jwkFile !== undefined) throw usageError('give --kid or --jwk, not both (the JWK names its own kid)');
    const target = await editTarget(values, 'keyset add');
    try {
      const keys = await target.load();
      const next = jwkFile !== undefined ? keys.addKey({ jwk: await readJwkFile(jwkFile) }) : keys.addKey(kid === undefined ? {} : { kid });
      const added = next.list()[next.size - 1]!.kid;
      const { note } = await target.save(next.toJwks());
      await status(io, `added key "${added}" (decrypt-only) to ${target.where}${note}; roll it out to every reader, then: wireseal keyset promote ${added} ${target.hint}`);
      return EXIT.OK;
    } finally {
      target.close();
    }
  },
};

/** What a rotation step on one existing key is given: the key set it edits, the kid, and where it lives. */
interface KeyStep {
  keys: KeySet;
  kid: string;
  target: EditTarget;
  values: Values;
  io: Io;
}

/**
 * A `keyset` sub-command that acts on one existing key (promote, retire,
 * remove): the kid as the positional KID or `--kid`, the key set file or a
 * keyring's audience, checked to hold the kid before `step` runs.
 */
function keyStep(spec: { verb: string; summary: string; description?: string; extra?: Record<string, OptionSpec>; step(s: KeyStep & { jwk: ReturnType<typeof jwkOf> }): Promise<number> }): CommandSpec {
  const name = `keyset ${spec.verb}`;
  return {
    name,
    summary: spec.summary,
    usage: [`${name} (KID | --kid KID) (--keyset FILE | --keyring FILE --audience NAME | --secret-id ID)${spec.extra?.force ? ' [--force]' : ''}`],
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    options: { ...KEYSET_FILE, kid: KID_OPTION, ...spec.extra },
    positionals: { min: 0, max: 1 },
    examples: [`wireseal ${name} 2026-11 --keyset keys.json`, `wireseal ${name} --kid 2026-11 --keyring keyring.json --audience pci`],
    async run({ values, positionals, io }) {
      const kid = kidArg(values, positionals, name, true);
      const target = await editTarget(values, name);
      try {
        const keys = await target.load();
        return await spec.step({ keys, kid, target, values, io, jwk: jwkOf(keys, kid) });
      } finally {
        target.close();
      }
    },
  };
}

const promote = keyStep({
  verb: 'promote',
  summary: 'Rotation step 2: make KID the primary; the old primary becomes decrypt-only.',
  async step({ keys, kid, target, io }) {
    const old = keys.primaryKid;
    if (old === kid) {
      await status(io, `"${kid}" is already the primary; ${target.where} unchanged`);
      return EXIT.OK;
    }
    const { note } = await target.save(markRetired(keys.promote(kid).toJwks(), kid, undefined));
    await status(io, `promoted "${kid}" to primary in ${target.where}${note}; "${old}" is now decrypt-only. Next: wireseal keyset retire ${old} ${target.hint}`);
    return EXIT.OK;
  },
});

const retire = keyStep({
  verb: 'retire',
  summary: 'Rotation step 3: mark a decrypt-only key as retired (it still opens; re-encrypt, then remove it).',
  description:
    'A retired key keeps key_ops ["decrypt"], so readers still open everything it sealed, and gains the JWK member\n' +
    '"wireseal_retired" (the time). It tells operators and `keyset remove` that the key is being phased out:\n' +
    'run `wireseal reencrypt` over stored data, then `wireseal keyset remove KID`. The primary cannot be retired.',
  async step({ keys, kid, target, io, jwk }) {
    if (keys.primaryKid === kid) throw new KeySetInvalidError(`cannot retire key "${kid}": it is the primary; promote another key first`);
    const at = retiredAt(jwk);
    if (at !== undefined) {
      await status(io, `"${kid}" is already retired (since ${at}); ${target.where} unchanged`);
      return EXIT.OK;
    }
    const jwks = markRetired(keys.toJwks(), kid, new Date().toISOString());
    for (const k of jwks.keys) if (k.kid === kid) k.key_ops = ['decrypt'];
    const { note } = await target.save(jwks);
    await status(io, `retired "${kid}" in ${target.where}${note}: it still opens what it sealed. Re-encrypt stored data (wireseal reencrypt), then: wireseal keyset remove ${kid} ${target.hint}`);
    return EXIT.OK;
  },
});

const remove = keyStep({
  verb: 'remove',
  summary: 'Rotation step 4: remove a retired key once nothing sealed with it is left.',
  description: 'Refuses the primary (ERR_KEYSET_INVALID), and a key that is not retired unless --force.',
  extra: { force: { type: 'boolean', short: 'f', help: 'Remove a key that is not retired' } },
  async step({ keys, kid, target, values, io, jwk }) {
    if (keys.primaryKid !== kid && retiredAt(jwk) === undefined && !flag(values, 'force')) {
      throw usageError(`key "${kid}" is not retired; retire it and re-encrypt stored data first (wireseal keyset retire ${kid} ${target.hint}), or pass --force`);
    }
    const { note } = await target.save(keys.remove(kid).toJwks());
    await status(io, `removed "${kid}" from ${target.where}${note}; tokens sealed with it no longer open`);
    return EXIT.OK;
  },
});

/** A row of `keyset list`: kid, role, and the retired time (shared keys) or key type (public and private keys). Never key bytes. */
export interface KeyRow {
  kid: string;
  role: string;
  retired?: string;
  type?: string;
}

/** Rows for `keyset list`: kid, role, retired time. Never key bytes. */
export function describeKeys(keys: KeySet): KeyRow[] {
  const jwks = keys.toJwks().keys;
  return keys.list().map((info, i) => {
    const at = retiredAt(jwks[i]!);
    return { kid: info.kid, role: info.role, ...(at !== undefined ? { retired: at } : {}) };
  });
}

/**
 * Rows for any audience's keys. Public and private sets: the key new field
 * tokens are sealed under is the `primary`; the other private keys only
 * open (`decrypt-only`); other public keys are `public`.
 */
function describeAudienceKeys(keys: AudienceKeySet): KeyRow[] {
  if (keys instanceof KeySet) return describeKeys(keys);
  const sealing = sealingKid(keys);
  return keys.list().map((k) => ({
    kid: k.kid,
    role: k.kid === sealing ? 'primary' : keys instanceof PrivateKeySet ? 'decrypt-only' : 'public',
    type: `${k.kty} ${k.crv ?? `${k.bits}`}`,
  }));
}

function keyTable(rows: KeyRow[]): string[] {
  const asymmetric = rows.some((r) => r.type !== undefined);
  const width = Math.max(3, ...rows.map((r) => r.kid.length)) + 2;
  const lines = [`${'KID'.padEnd(width)}${'ROLE'.padEnd(14)}${asymmetric ? 'TYPE' : 'RETIRED'}`];
  for (const r of rows) lines.push(`${r.kid.padEnd(width)}${r.role.padEnd(14)}${(asymmetric ? r.type : r.retired) ?? ''}`.trimEnd());
  return lines;
}

const listCmd: CommandSpec = {
  name: 'keyset list',
  summary: 'Show the kids and roles of a key set (file, env, Secrets Manager, or a keyring\'s audiences). Never key bytes.',
  usage: ['keyset list (--keyset FILE | --keyset-env VAR | --secret-id ID) [--json]', 'keyset list --keyring FILE [--audience NAME] [--json]'],
  description: 'With --keyring and no --audience: every audience of the keyring, with its kind (keyset, public, private) and file.',
  options: { ...KEY_SOURCE_OPTIONS, ...KEYRING_AUDIENCE, json: { type: 'boolean', help: 'Print JSON: [{"kid","role","retired"?}]; a whole keyring: {"NAME": {"kind","file","keys": [...]}}' } },
  examples: ['wireseal keyset list --keyset keys.json', 'wireseal keyset list --secret-id prod/wireseal --region eu-west-1', 'wireseal keyset list --keyring keyring.json'],
  async run({ values, io }) {
    const json = flag(values, 'json');
    const ring = str(values, 'keyring');
    const picked = await keyringAudience(values, 'keyset list');
    if (ring !== undefined && picked === undefined) {
      const all: Record<string, { kind: string; file: string; keys: KeyRow[] }> = {};
      const text: string[] = [];
      for (const e of await readKeyringFile(ring)) {
        const rows = describeAudienceKeys(await loadAudienceKeys(e));
        Object.defineProperty(all, e.audience, { value: { kind: e.kind, file: e.file, keys: rows }, enumerable: true, writable: true, configurable: true });
        text.push(...(text.length ? [''] : []), `${e.audience} (${e.kind} ${e.file})`, ...keyTable(rows));
      }
      await write(io.stdout, json ? `${JSON.stringify(all)}\n` : `${text.join('\n')}\n`);
      return EXIT.OK;
    }
    const secretRows = picked ? undefined : await secretKeyRows(values, describeKeys);
    const rows = secretRows ?? (picked ? describeAudienceKeys(await loadAudienceKeys(picked.entry)) : describeKeys(await loadKeys(values, io, 'keyset list')));
    await write(io.stdout, json ? `${JSON.stringify(rows)}\n` : `${keyTable(rows).join('\n')}\n`);
    return EXIT.OK;
  },
};

/** The keyset sub-commands. */
export const keysetCommands: CommandSpec[] = [add, promote, retire, remove, listCmd];

