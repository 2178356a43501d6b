/**
 * Key management (RFC 7516 §4.1.1 `alg`): how a token's content key comes
 * from the key set. Symmetric today: `A256KW` wraps a fresh content key under
 * the key named by `kid`; `dir` uses that key itself. Public-key audiences
 * (`ECDH-ES+A256KW`, `RSA-OAEP-256`) plug in here, as further branches of
 * {@link newContentKeyBytes} (sealing) and {@link contentKeyOf} (opening); nothing
 * above this module needs to know which one a token used.
 */
import { encode } from '../base64url.ts';
import type { Engine } from '../engine.ts';
import { AlgUnsupportedError, KeyUnknownError } from '../errors.ts';
import type { KeyEntry, KeySet } from '../keyset.ts';
import type { ProtectedHeader, SymmetricAlg } from './header.ts';
import type { ParsedToken } from './parse.ts';
import type { HeldContentKey } from './reuse.ts';
import { cachedUnwrap } from './reuse.ts';

/** @internal Refuses an `alg` that sealing cannot honour. */
export function checkSealAlg(alg: SymmetricAlg): void {
  if (alg !== 'A256KW' && alg !== 'dir') throw new AlgUnsupportedError(`alg "${String(alg)}" is not supported for sealing (A256KW or dir)`);
}

const NO_BYTES = new Uint8Array(0);

/** @internal A fresh content key for `alg` with its encrypted key (bytes): the key itself and no encrypted key for `dir`, else fresh and wrapped. */
export function newContentKeyBytes(engine: Engine, key: KeyEntry, alg: SymmetricAlg): { cek: Uint8Array; ek: Uint8Array } {
  if (alg === 'dir') return { cek: key.bytes, ek: NO_BYTES };
  const cek = engine.randomBytes(32);
  return { cek, ek: engine.keyWrap(key.bytes, cek) };
}

/** @internal The content of a `dir` token: the key itself, no encrypted key (never held for reuse: there is nothing to amortize). */
export function dirContent(key: KeyEntry): HeldContentKey {
  return { cek: key.bytes, ek: '', ekBytes: NO_BYTES, epk: undefined, headers: new Map(), born: 0, tokens: 0, bytes: 0 };
}

/** @internal Finds the key that opens a parsed token. */
export function keyFor(keys: KeySet, header: ProtectedHeader): KeyEntry {
  if (typeof header.kid !== 'string') throw new KeyUnknownError('token header has no kid');
  const key = keys.entry(header.kid);
  if (!key) throw new KeyUnknownError(`token kid ${JSON.stringify(header.kid.slice(0, 64))} is not in the key set`);
  if (!key.canDecrypt) throw new KeyUnknownError(`key ${JSON.stringify(key.kid)} is not allowed to decrypt (key_ops)`);
  return key;
}

/** @internal The key that decrypts a parsed token's content: the key itself (`dir`), the caller's already unwrapped one, or an unwrap (through the reader's bounded cache). */
export function contentKeyOf(engine: Engine, key: KeyEntry, p: ParsedToken, cek: Uint8Array | undefined): Uint8Array {
  if (p.header.alg === 'dir') return key.bytes;
  return cek ?? cachedUnwrap(engine, key, p.ekB64 === '' ? encode(p.ek) : p.ekB64, () => engine.keyUnwrap(key.bytes, p.ek));
}

