/**
 * `node:crypto`, loaded without a static import (through the core's one
 * built-in loader), so the package's main entry still loads where it is
 * absent; the public-key profiles and key sets need it and say so with a
 * typed error.
 */
import type * as NodeCrypto from 'node:crypto';
import { AlgUnsupportedError } from '@wireseal/core/errors';
import { nodeBuiltin } from '@wireseal/core/internal';

let cached: typeof NodeCrypto | undefined;

/**
 * The `node:crypto` module.
 * @throws AlgUnsupportedError (`ERR_ALG_UNSUPPORTED`) when the runtime has no `node:crypto`
 */
export function nodeCrypto(): typeof NodeCrypto {
  cached ??= nodeBuiltin<typeof NodeCrypto>('node:crypto');
  if (!cached) throw new AlgUnsupportedError('the public-key profiles (RSA-OAEP-256, ECDH-ES+A256KW, HPKE) need node:crypto (Node 20.19+)');
  return cached;
}
