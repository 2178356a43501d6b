/**
 * Legacy AES-CBC conversion for `reencrypt --legacy-key-env VAR`: values in
 * the old "AES-CBC with a shared key" format at policy paths are decrypted
 * with `@wireseal/core/legacy` and sealed as wireseal tokens.
 */
import type { LegacyFieldReader } from '@wireseal/core';
import { KeySourceError } from '@wireseal/core/errors';
import { legacyCbcReader } from '@wireseal/core/legacy';
import { usageError } from '../errors.ts';

/** How the legacy key is written in its environment variable. */
export type LegacyKeyEncoding = 'utf8' | 'base64' | 'hex';

/** Everything needed to build the reader (also sent to worker threads). */
export interface LegacySetup {
  /** The key as found in the environment variable. */
  key: string;
  encoding: LegacyKeyEncoding;
  /** `string`: the decrypted text is the value; `json`: it is JSON.parse'd. */
  parse: 'string' | 'json';
  /** Policy paths legacy senders encrypt; all when absent. */
  paths?: string[];
}

/** Reads the legacy key from the environment. */
export function legacySetupFromEnv(env: Record<string, string | undefined>, name: string, encoding: LegacyKeyEncoding, parse: 'string' | 'json', paths: string[]): LegacySetup {
  const key = env[name];
  if (key === undefined || key === '') throw new KeySourceError(`environment variable ${name} (the legacy AES-CBC key) is not set`);
  if (encoding === 'hex' && !/^(?:[0-9a-fA-F]{2})+$/.test(key)) throw usageError(`${name} is not hex (--legacy-key-encoding hex)`);
  if (encoding === 'base64' && !/^[A-Za-z0-9+/_-]+={0,2}$/.test(key)) throw usageError(`${name} is not base64 (--legacy-key-encoding base64)`);
  return { key, encoding, parse, ...(paths.length ? { paths } : {}) };
}

/** The legacy reader for a setup. @throws KeySetInvalidError when the key is not 16, 24 or 32 bytes */
export function legacyReader(setup: LegacySetup): LegacyFieldReader {
  const key = setup.encoding === 'utf8' ? setup.key : new Uint8Array(Buffer.from(setup.key, setup.encoding === 'hex' ? 'hex' : 'base64'));
  return legacyCbcReader({ key, parse: setup.parse, ...(setup.paths ? { paths: setup.paths } : {}) });
}
