/**
 * What every seal starts with: the primary key, the `alg`, and the protected
 * header built from the options (never one that a reader would refuse).
 */
import { contextDigest } from '../context.ts';
import type { Engine } from '../engine.ts';
import { ArgumentInvalidError, TokenMalformedError } from '../errors.ts';
import type { KeyEntry, KeySet } from '../keyset.ts';
import type { EncodedHeader, SymmetricAlg } from './header.ts';
import { encodeHeader } from './header.ts';
import { checkSealAlg } from './key-management.ts';
import type { SealOptions } from './options.ts';
import { DEFAULT_LIMITS } from './options.ts';

/** @internal The key, `alg` and encoded header for sealing one token with `options`. */
export function sealingHeader(keys: KeySet, options: SealOptions, engine: Engine): { key: KeyEntry; alg: SymmetricAlg; header: EncodedHeader } {
  const alg = options.alg ?? 'A256KW';
  checkSealAlg(alg);
  const key = keys.primaryEntry();
  const iat = options.iat === true ? Math.floor(Date.now() / 1000) : options.iat === false ? undefined : options.iat;
  if (iat !== undefined && !Number.isSafeInteger(iat)) throw new ArgumentInvalidError('seal: iat must be true, false or an integer number of seconds');
  const wsc = options.context !== undefined ? contextDigest(options.context, engine) : undefined;
  // A writer seals many values with the same header (iat, in seconds, too): the last one built for this key is kept.
  const last = lastHeader.get(key);
  if (last !== undefined && last.alg === alg && last.iat === iat && last.cty === options.cty && last.field === options.field && last.wsc === wsc) return { key, alg, header: last.header };
  const header = encodeHeader(alg, key.kid, options.cty, iat, options.field, wsc);
  // Never make a token that a reader with default limits refuses: fail here, at the writer.
  if (header.b64.length > DEFAULT_LIMITS.maxHeaderLength) {
    throw new TokenMalformedError(
      `the protected header would be ${header.b64.length} characters, over the ${DEFAULT_LIMITS.maxHeaderLength} that readers accept by default; shorten field, cty or kid`,
    );
  }
  lastHeader.set(key, { alg, iat, cty: options.cty, field: options.field, wsc, header });
  return { key, alg, header };
}

const lastHeader = new WeakMap<KeyEntry, { alg: SymmetricAlg; iat: number | undefined; cty: string | undefined; field: string | undefined; wsc: string | undefined; header: EncodedHeader }>();
