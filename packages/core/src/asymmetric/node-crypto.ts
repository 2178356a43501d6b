/**
 * `node:crypto`, loaded without a static import (through the one built-in
 * loader), so `@wireseal/core` still loads where it is absent; public-key key
 * sets and public-key field audiences need it and say so with a typed error.
 */
import type * as NodeCrypto from 'node:crypto';
import { RuntimeUnsupportedError } from '../errors.ts';
import { nodeBuiltin } from '../runtime.ts';

let cached: typeof NodeCrypto | undefined;

/**
 * @internal The `node:crypto` module.
 * @throws RuntimeUnsupportedError (`ERR_RUNTIME_UNSUPPORTED`) when the runtime has no `node:crypto`
 */
export function nodeCrypto(): typeof NodeCrypto {
  cached ??= nodeBuiltin<typeof NodeCrypto>('node:crypto');
  if (!cached) throw new RuntimeUnsupportedError('public-key keys (RSA-OAEP-256, ECDH-ES+A256KW, HPKE) need node:crypto (Node 20.19+)');
  return cached;
}
