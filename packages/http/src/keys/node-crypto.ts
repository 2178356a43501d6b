/**
 * `node:crypto`, loaded without a static import (as the core does), so the
 * package's main entry still loads where it is absent; the public-key
 * profiles and key sets need it and say so with a typed error.
 */
import type * as NodeCrypto from 'node:crypto';
import { AlgUnsupportedError } from '@wireseal/core/errors';

type BuiltinLoader = { getBuiltinModule?: (id: string) => unknown };

let cached: typeof NodeCrypto | undefined;

/**
 * The `node:crypto` module.
 * @throws AlgUnsupportedError (`ERR_ALG_UNSUPPORTED`) when the runtime has no `node:crypto`
 */
export function nodeCrypto(): typeof NodeCrypto {
  if (cached) return cached;
  const proc = (globalThis as { process?: BuiltinLoader }).process;
  let mod: unknown;
  try {
    mod = typeof proc?.getBuiltinModule === 'function' ? proc.getBuiltinModule('node:crypto') : undefined;
  } catch {
    mod = undefined;
  }
  if (!mod) throw new AlgUnsupportedError('the public-key profiles (RSA-OAEP-256, ECDH-ES+A256KW, HPKE) need node:crypto (Node 20.19+)');
  cached = mod as typeof NodeCrypto;
  return cached;
}
