/**
 * Opening a document's policy tokens: each checked against the path it sits
 * at (`wsf`, also before authentication, so a token moved from another
 * audience's path is refused as such) and the context with the record's
 * bindings (`wsc`). Tokens of audiences the reader holds no keys for stay as
 * they were and are reported in `sealed`.
 */
import { PrivateKeySet } from '../asymmetric/keysets.ts';
import type { AsymmetricEntry } from '../asymmetric/jwk.ts';
import { getEngine } from '../engine.ts';
import { DecryptError, FieldMismatchError, KeyUnknownError, PlaintextFieldError, PolicyInvalidError, TokenMalformedError, WiresealError } from '../errors.ts';
import type { KeyEntry } from '../keyset.ts';
import { KeySet } from '../keyset.ts';
import type { FieldPath, FieldPolicy } from '../policy.ts';
import { checkClaims } from '../token/claims.ts';
import { decryptTextWith } from '../token/content.ts';
import { FAST_MAX_BYTES, fastKeyFor, fastOpenTexts } from '../token/fast.ts';
import type { GcmKey } from '../gcm/index.ts';
import type { Engine } from '../engine.ts';
import { strictUtf8 } from '../token/text.ts';
import type { SymmetricAlg } from '../token/header.ts';
import { contentKeyOf, keyFor } from '../token/key-management.ts';
import type { OpenOptions } from '../token/options.ts';
import type { KnownHeader, ParsedToken } from '../token/parse.ts';
import { checkAlgorithms, parseToken } from '../token/parse.ts';
import { checkPublicHeader, publicUnwrap } from '../token/public-key.ts';
import { cachedUnwrap } from '../token/reuse.ts';
import type { AudienceKeySet } from './keyring.ts';
import { Binder } from './bind.ts';
import type { JsonValue } from './document.ts';
import { boxed, limitsOf, put, tooMany } from './document.ts';
import type { FieldKeys } from './keyring.ts';
import { KeyringView } from './keyring.ts';
import type { DecryptFieldsOptions, DecryptFieldsResult } from './options.ts';
import { checkRequired, requiredPaths } from './require.ts';
import type { Misfit } from './walk.ts';
import { looksLikeToken, shapeError, walk } from './walk.ts';

/** What a private-key audience accepts: the public-key field algorithms. */
const PUBLIC_ALGS = ['RSA-OAEP-256', 'ECDH-ES+A256KW'] as unknown as readonly SymmetricAlg[];
/** What a field token is parsed with, before its path and its audience's allow-list are checked. */
const ANY_FIELD_ALGS = ['A256KW', 'dir', 'RSA-OAEP-256', 'ECDH-ES+A256KW'] as unknown as readonly SymmetricAlg[];

/** The header of the last token opened at each policy path: the next document's token there most likely has the same. */
const lastTokenAt = new WeakMap<FieldPath, KnownHeader>();

/**
 * The same error, of the same class and code, with the concrete path in front
 * of its message (the original is the `cause`). A new error, not a rewritten
 * one: an error's message never changes after it is thrown.
 */
function atField(err: WiresealError, concrete: string): WiresealError {
  const Same = err.constructor as new (message: string, options?: ErrorOptions) => WiresealError;
  return new Same(`field "${concrete}": ${err.message}`, { cause: err });
}

/** A token waiting for its batch: authenticated and checked when its key's batch is opened. */
interface Pending {
  readonly gk: GcmKey;
  readonly parsed: ParsedToken;
  readonly holder: Record<string, unknown> | unknown[];
  readonly k: string | number;
  readonly concrete: string;
  readonly claimOptions: OpenOptions;
  readonly wsc: string | undefined;
}

/**
 * Opens the pending tokens, one native call per key, then checks and places
 * each in document order: the first failure (authentication, UTF-8, claims,
 * JSON) is thrown for its field, exactly as if it had been opened alone.
 */
function openPending(pending: Pending[], engine: Engine): void {
  if (pending.length === 0) return;
  const plain = new Array<string | Uint8Array | null>(pending.length);
  const byKey = new Map<GcmKey, number[]>();
  for (let i = 0; i < pending.length; i++) {
    const at = byKey.get(pending[i]!.gk);
    if (at === undefined) byKey.set(pending[i]!.gk, [i]);
    else at.push(i);
  }
  for (const [gk, at] of byKey) {
    const opened = fastOpenTexts(gk, at.map((i) => pending[i]!.parsed));
    for (let j = 0; j < at.length; j++) plain[at[j]!] = opened[j]!;
  }
  const items = pending.splice(0);
  for (let i = 0; i < items.length; i++) {
    const { parsed, holder, k, concrete, claimOptions, wsc } = items[i]!;
    let out: unknown;
    try {
      const opened = plain[i];
      if (opened === null || opened === undefined) throw new DecryptError('token authentication failed: wrong key or tampered token');
      let text: string;
      if (typeof opened === 'string') text = opened;
      else {
        try {
          text = strictUtf8.decode(opened);
        } catch {
          throw new TokenMalformedError('token plaintext is not UTF-8');
        }
      }
      checkClaims(parsed.header, claimOptions, engine, wsc);
      out = JSON.parse(text);
    } catch (err) {
      if (err instanceof WiresealError) throw atField(err, concrete);
      throw new TokenMalformedError(`field "${concrete}": token plaintext is not UTF-8 JSON`);
    }
    put(holder, k, out);
  }
}

/** @internal Opens a document. */
export function openDocument<T>(keys: FieldKeys, doc: unknown, policy: FieldPolicy, options: DecryptFieldsOptions): DecryptFieldsResult<T> {
  const engine = getEngine(options.engine);
  const limits = limitsOf(options.limits);
  const mode = options.mode ?? 'strict';
  if (mode !== 'strict' && mode !== 'migrate') throw new PolicyInvalidError(`mode must be "strict" or "migrate"`);
  const keyring = new KeyringView(keys, policy);
  const box = boxed(doc, limits);
  const binder = new Binder(policy, options.context, engine, false);
  const tokenOptions: OpenOptions = { ...options.token };
  if (options.context !== undefined) tokenOptions.context = options.context;
  const publicOptions: OpenOptions = { ...tokenOptions, algorithms: PUBLIC_ALGS };
  const parseOptions: OpenOptions = { ...tokenOptions, algorithms: ANY_FIELD_ALGS };
  // Public-key content keys of this document, by private key and encrypted key (+ epk): one key agreement each.
  const publicCeks = new Map<AsymmetricEntry, Map<string, Uint8Array>>();
  const required = requiredPaths(policy, options.requireMatch);
  const result: DecryptFieldsResult<T> = { doc: undefined as T, decrypted: [], passedThrough: [], legacy: [], sealed: [], unmatched: [], kids: Object.create(null) as Record<string, number> };
  const countKid = (kid: unknown): void => {
    if (typeof kid === 'string') result.kids[kid] = (result.kids[kid] ?? 0) + 1;
  };
  // A member of the wrong shape on a policy path (an object where the policy
  // has [*], a string where it expects an object) holds plaintext the policy
  // would have sealed: strict mode refuses it, migrate mode reports it.
  let misfitPath: FieldPath | undefined;
  let matchedHere = false;
  const onMisfit: Misfit = (at, expected, found) => {
    if (mode === 'strict') throw shapeError(misfitPath!, at, expected, found, false);
    if (!result.passedThrough.includes(at)) result.passedThrough.push(at);
    matchedHere = true;
  };
  // Tokens of one document usually share one wrapped content key per
  // audience: unwrap it once (the last one is checked first, without building a map key).
  const ceks = new Map<KeyEntry, Map<string, Uint8Array>>();
  let lastEntry: KeyEntry | undefined;
  let lastEk = '';
  let lastCek: Uint8Array | undefined;
  let prev: ParsedToken | undefined;
  let count = 0;
  const pending: Pending[] = [];
  try {
    walkAll();
  } catch (err) {
    // A defect in an earlier token comes first, as if each token had been opened where it was found.
    openPending(pending, engine);
    throw err;
  }
  openPending(pending, engine);
  checkRequired(result.unmatched, required, false);
  result.doc = box.v as T;
  return result;

  function walkAll(): void {
    for (const path of policy.paths) {
      const claimOptions: OpenOptions = { ...tokenOptions, field: path.text };
      const lastOfPath = lastTokenAt.get(path);
      const before = prev;
      let keySet: AudienceKeySet | undefined;
      let resolved = false;
      misfitPath = path;
      matchedHere = false;
      walk(box, path, (holder, k, concrete, indices) => {
        const value = (holder as Record<string | number, unknown>)[k];
        if (value === undefined) return;
        matchedHere = true;
        if (++count > limits.maxTokens) tooMany(limits.maxTokens);
        let out: unknown;
        if (looksLikeToken(value)) {
          if (!resolved) {
            keySet = keyring.keys(path.audience);
            resolved = true;
          }
          if (keySet === undefined || !(keySet instanceof KeySet || keySet instanceof PrivateKeySet)) {
            // Not this reader's audience (no keys, or public keys only): left exactly as it was, and reported.
            result.sealed.push(concrete);
            return;
          }
          const set = keySet;
          try {
            const parsed = parseToken(value, parseOptions, prev, lastOfPath);
            prev = parsed;
            // Refused before anything is decrypted: a token from another path (another audience's, say) never opens here.
            if (parsed.header.wsf !== path.text) {
              throw new FieldMismatchError(parsed.header.wsf === undefined ? `token found at field "${path.text}" is not bound to a field` : `token is bound to field "${String(parsed.header.wsf).slice(0, 200)}" but was found at "${path.text}"`);
            }
            // Then the audience's allow-list: shared keys A256KW/dir (or the caller's narrower list), private keys the public-key algorithms.
            checkAlgorithms(parsed.header, set instanceof KeySet ? tokenOptions : publicOptions);
            if (set instanceof PrivateKeySet) {
              out = JSON.parse(decryptTextWith(engine, publicCek(set, parsed), parsed));
              checkClaims(parsed.header, claimOptions, engine, binder.wsc(path, box.v, indices));
              result.decrypted.push(concrete);
              countKid(parsed.header.kid);
              put(holder, k, out);
              return;
            }
            const entry = keyFor(set, parsed.header);
            let known: Uint8Array | undefined;
            let byEk: Map<string, Uint8Array> | undefined;
            if (parsed.header.alg !== 'dir') {
              if (entry === lastEntry && parsed.ekB64 === lastEk) known = lastCek;
              else {
                byEk = ceks.get(entry);
                known = byEk?.get(parsed.ekB64);
              }
            }
            const cek = contentKeyOf(engine, entry, parsed, known);
            const gk = parsed.ciphertext.length <= FAST_MAX_BYTES ? fastKeyFor(engine, cek) : undefined;
            let text: string | undefined;
            if (gk === undefined) text = decryptTextWith(engine, cek, parsed);
            if (parsed.header.alg !== 'dir') {
              if (known === undefined) {
                if (byEk === undefined) ceks.set(entry, (byEk = new Map()));
                byEk.set(parsed.ekB64, cek);
              }
              lastEntry = entry;
              lastEk = parsed.ekB64;
              lastCek = cek;
            }
            if (gk !== undefined) {
              // Opened with the document's other tokens under this key, in one batch, before the result is returned.
              pending.push({ gk, parsed, holder, k, concrete, claimOptions, wsc: binder.wsc(path, box.v, indices) });
              result.decrypted.push(concrete);
              countKid(parsed.header.kid);
              return;
            }
            checkClaims(parsed.header, claimOptions, engine, binder.wsc(path, box.v, indices));
            out = JSON.parse(text!);
          } catch (err) {
            if (err instanceof WiresealError) throw atField(err, concrete);
            throw new TokenMalformedError(`field "${concrete}": token plaintext is not UTF-8 JSON`);
          }
          result.decrypted.push(concrete);
          countKid(prev!.header.kid);
        } else {
          if (mode === 'strict') {
            throw new PlaintextFieldError(concrete, `field "${concrete}" holds plaintext where the policy requires a token (strict mode)`);
          }
          const reader = options.legacy?.find((r) => !r.paths || r.paths.includes(path.text));
          const read = reader?.read(value as JsonValue, concrete);
          if (reader && read !== undefined) {
            out = read;
            result.legacy.push({ path: concrete, reader: reader.name });
          } else {
            result.passedThrough.push(concrete);
            return;
          }
        }
        put(holder, k, out);
      }, true, onMisfit);
      if (!matchedHere) result.unmatched.push(path.text);
      // Only the header is kept (never a token's bytes), and only when it changed.
      if (prev !== before && prev !== undefined && lastOfPath?.headerB64 !== prev.headerB64) {
        lastTokenAt.set(path, { headerB64: prev.headerB64, header: prev.header, aad: prev.aad });
      }
    }
  }

  /** The content key of a public-key token: from this document's earlier tokens, or one key agreement / transport. */
  function publicCek(set: PrivateKeySet, parsed: ParsedToken): Uint8Array {
    const kid = parsed.header.kid;
    const entry = typeof kid === 'string' ? set.entry(kid) : undefined;
    if (!entry) throw new KeyUnknownError(typeof kid === 'string' ? `token kid ${JSON.stringify(kid.slice(0, 64))} is not in the audience's key set` : 'token header has no kid');
    // Every token's header is checked, also when its content key is already known from a neighbour.
    const alg = checkPublicHeader(entry, parsed.header);
    const epk = parsed.header.epk as Record<string, string> | undefined;
    const id = JSON.stringify([alg, parsed.ekB64, epk?.kty, epk?.crv, epk?.x, epk?.y]);
    let byEk = publicCeks.get(entry);
    let cek = byEk?.get(id);
    if (cek === undefined) {
      cek = cachedUnwrap(engine, entry, id, () => publicUnwrap(engine, entry, parsed.header, parsed.ek));
      if (byEk === undefined) publicCeks.set(entry, (byEk = new Map()));
      byEk.set(id, cek);
    }
    return cek;
  }
}
