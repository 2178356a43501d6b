/** `wireseal keygen`: a new key set (or one key) to stdout or a 0600 file. */
import { KeySet } from '@wireseal/core';
import type { CommandSpec } from '../args.ts';
import { flag, str } from '../args.ts';
import { EXIT, usageError } from '../errors.ts';
import { writeFileAtomic } from '../files.ts';
import { write } from '../io.ts';

/** Serialises a JWK Set (or JWK) the way every command writes key files. */
export function keyFileText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `wireseal keygen`. */
export const keygen: CommandSpec = {
  name: 'keygen',
  summary: 'Generate a new key set (one primary key), or with --key a single key to add to a set.',
  usage: ['keygen [--kid KID] [--out FILE [--force]]', 'keygen --key [--primary] [--kid KID] [--out FILE [--force]]'],
  description:
    'Writes the JWK Set (or JWK) to FILE with mode 0600, refusing to overwrite an existing file without --force;\n' +
    'without --out it goes to stdout. This and `keygen --key` are the only commands that output key bytes.',
  options: {
    kid: { type: 'string', metavar: 'KID', help: 'Key id (default: the current UTC year-month, e.g. 2026-11)' },
    key: { type: 'boolean', help: 'Output one JWK instead of a JWK Set (decrypt-only unless --primary)' },
    primary: { type: 'boolean', help: 'With --key: give the key key_ops ["encrypt","decrypt"]' },
    out: { type: 'string', short: 'o', metavar: 'FILE', help: 'Write to FILE (mode 0600) instead of stdout' },
    force: { type: 'boolean', short: 'f', help: 'Overwrite FILE if it exists' },
  },
  examples: ['wireseal keygen --kid 2026-05 --out keys.json', 'wireseal keygen --key --kid 2026-11 > new-key.json'],
  async run({ values, io }) {
    const kid = str(values, 'kid');
    const opts = kid === undefined ? {} : { kid };
    let body: unknown;
    let what: string;
    if (flag(values, 'key')) {
      const primary = flag(values, 'primary');
      // Validate the kid through a key set, so a bad kid fails here with ERR_KEYSET_INVALID.
      const jwk = KeySet.generateKey({ ...opts, primary });
      KeySet.fromJwks({ keys: [{ ...jwk, key_ops: ['encrypt', 'decrypt'] }] });
      body = jwk;
      what = `key "${jwk.kid}" (${primary ? 'primary' : 'decrypt-only'})`;
    } else {
      if (flag(values, 'primary')) throw usageError('--primary applies only with --key');
      const keys = KeySet.generate(opts);
      body = keys.toJwks();
      what = `key set with primary "${keys.primaryKid}"`;
    }
    const out = str(values, 'out');
    if (out === undefined) {
      await write(io.stdout, keyFileText(body));
    } else {
      await writeFileAtomic(out, keyFileText(body), { overwrite: flag(values, 'force') });
      await write(io.stderr, `wrote ${what} to ${out} (mode 0600)\n`);
    }
    return EXIT.OK;
  },
};
