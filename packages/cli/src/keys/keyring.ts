/**
 * Keyrings for policies with audiences: which key file serves which audience.
 * Named by a keyring file (`--keyring FILE`), by `--audience NAME=[KIND:]FILE`
 * options, or both. A policy with one audience is still served by the key
 * source options (`--keyset`, `--keyset-env`, `--secret-id`, `WIRESEAL_KEYSET`).
 *
 * The keyring file (paths relative to the file's directory):
 *
 * ```json
 * { "audiences": { "pci": { "keyset": "pci-keys.json" },
 *                  "pii": { "public": "pii-public.json" },
 *                  "ops": { "private": "ops-private.json" } } }
 * ```
 *
 * `keyset`: a shared JWK Set (seals under its primary, opens by kid);
 * `public`: a public JWK Set (seals under its first field-capable key, opens
 * nothing); `private`: a private JWK Set (opens, and seals like `public`).
 */
import * as path from 'node:path';
import { KeySet, PrivateKeySet, PublicKeySet, WiresealError } from '@wireseal/core';
import type { AudienceKeySet, FieldPolicy } from '@wireseal/core';
import { KeySetInvalidError } from '@wireseal/core/errors';
import type { OptionSpec, Values } from '../args.ts';
import { list, str } from '../args.ts';
import { usageError } from '../errors.ts';
import { readText } from '../files.ts';
import type { Io } from '../io.ts';
import type { AudienceKind } from './audience.ts';
import { loadKeys, refuseAwsOptions } from './source.ts';

/** The kinds, in the order the README gives them. */
export const AUDIENCE_KINDS: readonly AudienceKind[] = ['keyset', 'public', 'private'];

/** One audience of a keyring: its kind and (resolved) key file. */
export interface AudienceEntry {
  audience: string;
  kind: AudienceKind;
  file: string;
}

/** Audience names, as policies allow them. */
const AUDIENCE_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** `--keyring FILE` and `--audience NAME=[KIND:]FILE`, for fields and reencrypt. */
export const KEYRING_OPTIONS: Record<string, OptionSpec> = {
  keyring: { type: 'string', metavar: 'FILE', help: 'Keyring file: {"audiences": {"pci": {"keyset": "pci.json"}, "pii": {"public": "pii.pub.json"}}} (paths relative to it)' },
  audience: { type: 'string', multiple: true, metavar: 'NAME=FILE', help: "An audience's keys: NAME=FILE (shared JWK Set), NAME=public:FILE or NAME=private:FILE" },
};

/** An own-property map with no prototype: audience names such as `__proto__` are plain keys. */
function emptyMap<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function invalid(file: string, message: string): KeySetInvalidError {
  return new KeySetInvalidError(`keyring file ${file}: ${message}`);
}

/** Reads a keyring file: its audiences, with key file paths resolved against the file's directory. */
export async function readKeyringFile(file: string): Promise<AudienceEntry[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(file, 'keyring file', 1024 * 1024));
  } catch (err) {
    if (err instanceof SyntaxError) throw invalid(file, 'not valid JSON');
    throw err;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid(file, 'must be a JSON object {"audiences": {...}}');
  for (const k of Object.keys(parsed)) if (k !== 'audiences') throw invalid(file, `unknown member ${JSON.stringify(k.slice(0, 64))} (only "audiences")`);
  const audiences = (parsed as { audiences?: unknown }).audiences;
  if (audiences === null || typeof audiences !== 'object' || Array.isArray(audiences)) throw invalid(file, '"audiences" must be an object of audience name to {"keyset" | "public" | "private": FILE}');
  const dir = path.dirname(file);
  return Object.keys(audiences).map((audience) => {
    if (!AUDIENCE_RE.test(audience)) throw invalid(file, `audience name ${JSON.stringify(audience.slice(0, 80))} is not 1-64 of A-Z a-z 0-9 . _ -`);
    const spec = (audiences as Record<string, unknown>)[audience];
    const keys = spec !== null && typeof spec === 'object' && !Array.isArray(spec) ? Object.keys(spec) : [];
    if (keys.length !== 1 || !(AUDIENCE_KINDS as readonly string[]).includes(keys[0]!)) {
      throw invalid(file, `audience "${audience}" must be one of {"keyset": FILE}, {"public": FILE}, {"private": FILE}`);
    }
    const kind = keys[0] as AudienceKind;
    const target = (spec as Record<string, unknown>)[kind];
    if (typeof target !== 'string' || target === '') throw invalid(file, `audience "${audience}": "${kind}" must be a file name`);
    return { audience, kind, file: path.resolve(dir, target) };
  });
}

/** Parses `--audience NAME=[KIND:]FILE` (KIND: keyset, the default, public or private). */
export function parseAudienceOption(text: string): AudienceEntry {
  const eq = text.indexOf('=');
  const audience = eq > 0 ? text.slice(0, eq) : '';
  if (!AUDIENCE_RE.test(audience)) throw usageError(`--audience must be NAME=FILE, NAME=public:FILE or NAME=private:FILE, NAME 1-64 of A-Z a-z 0-9 . _ - (got ${JSON.stringify(text.slice(0, 100))})`);
  let rest = text.slice(eq + 1);
  let kind: AudienceKind = 'keyset';
  const colon = rest.indexOf(':');
  if (colon > 0 && (AUDIENCE_KINDS as readonly string[]).includes(rest.slice(0, colon))) {
    kind = rest.slice(0, colon) as AudienceKind;
    rest = rest.slice(colon + 1);
  }
  if (rest === '') throw usageError(`--audience ${audience}= names no file`);
  return { audience, kind, file: rest };
}

/** Loads one audience's key file as its kind says. @throws KeySetInvalidError naming the audience and file */
export async function loadAudienceKeys(entry: AudienceEntry): Promise<AudienceKeySet> {
  const text = await readText(entry.file, `key file of audience "${entry.audience}"`, 1024 * 1024);
  try {
    if (entry.kind === 'keyset') return KeySet.fromJwks(text);
    if (entry.kind === 'public') return PublicKeySet.fromJwks(text);
    return PrivateKeySet.fromJwks(text);
  } catch (err) {
    if (err instanceof WiresealError) throw new KeySetInvalidError(`audience "${entry.audience}" (${entry.kind} ${entry.file}): ${err.message}`, { cause: err });
    throw err;
  }
}

/** The audiences that `--keyring` and `--audience` name (none when neither is given). */
export async function keyringEntries(values: Values): Promise<AudienceEntry[] | undefined> {
  const file = str(values, 'keyring');
  const options = list(values, 'audience');
  if (file === undefined && options.length === 0) return undefined;
  const entries = [...(file !== undefined ? await readKeyringFile(file) : []), ...options.map(parseAudienceOption)];
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.audience)) throw usageError(`audience "${e.audience}" is named twice (in --keyring and --audience, or twice); name each audience once`);
    seen.add(e.audience);
  }
  return entries;
}

/** Keys for field commands: a keyring, and the single key set when that is how they were given. */
export interface FieldKeysLoaded {
  /** Audience → keys. With a single key set: the policy's one audience → it. */
  ring: Record<string, AudienceKeySet>;
  /** The key set of `--keyset` / `--keyset-env` / `--secret-id` / `WIRESEAL_KEYSET`, when no keyring was given. */
  single?: KeySet;
}

/**
 * The keys for `policy`: a keyring (`--keyring`, `--audience`), or one key
 * source for a single-audience policy.
 * @throws CliError `ERR_USAGE` for a key set with a multi-audience policy, both forms at once, or an audience the policy lacks
 */
export async function loadFieldKeys(values: Values, io: Io, command: string, policy: FieldPolicy): Promise<FieldKeysLoaded> {
  const ringGiven = str(values, 'keyring') !== undefined || list(values, 'audience').length > 0;
  if (!ringGiven) {
    if (policy.audiences.length > 1) {
      throw usageError(`the policy has audiences ${policy.audiences.map((a) => `"${a}"`).join(', ')}: give a keyring, --keyring FILE or --audience NAME=FILE (a key set alone serves a policy with one audience)`);
    }
    const single = await loadKeys(values, io, command);
    const ring = emptyMap<AudienceKeySet>();
    ring[policy.audiences[0]!] = single;
    return { ring, single };
  }
  for (const o of ['keyset', 'keyset-env', 'secret-id']) {
    if (str(values, o) !== undefined) throw usageError(`give a key set (--${o}) or a keyring (--keyring, --audience), not both`);
  }
  refuseAwsOptions(values);
  const entries = (await keyringEntries(values))!;
  const ring = emptyMap<AudienceKeySet>();
  for (const e of entries) {
    if (!policy.audiences.includes(e.audience)) {
      throw usageError(`the keyring names audience "${e.audience}", which the policy does not have (${policy.audiences.join(', ')})`);
    }
    ring[e.audience] = await loadAudienceKeys(e);
  }
  return { ring };
}
