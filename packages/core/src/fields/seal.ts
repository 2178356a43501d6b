/**
 * Sealing a document's policy paths: per audience, one content key per
 * document (one key wrap) under that audience's primary key; per value, a
 * fresh IV and a header with `wsf` = the path and `wsc` = the context (with
 * the record's bindings). Every field token is a standalone JWE.
 */
import type { AsymmetricEntry, PublicJweAlg } from '../asymmetric/jwk.ts';
import type { Engine } from '../engine.ts';
import { getEngine } from '../engine.ts';
import { AudienceMissingError, KeySetInvalidError } from '../errors.ts';
import type { KeyEntry } from '../keyset.ts';
import { KeySet } from '../keyset.ts';
import type { FieldPath, FieldPolicy } from '../policy.ts';
import { sealTextWith } from '../token/content.ts';
import type { EncodedHeader, SymmetricAlg } from '../token/header.ts';
import { encodeHeader, encodePublicHeader } from '../token/header.ts';
import { checkSealAlg, dirContent, newContentKeyBytes } from '../token/key-management.ts';
import type { HeldContentKey } from '../token/reuse.ts';
import type { FastSealItem } from '../token/fast.ts';
import { FAST_MAX_BYTES, fastKeyFor, fastSealTexts } from '../token/fast.ts';
import type { GcmKey } from '../gcm/index.ts';
import { utf8Bytes } from '../token/text.ts';
import { contentKeyFor, countToken, reuseBounds, spent } from '../token/reuse.ts';
import { publicAlgOf, publicContentKey } from '../token/public-key.ts';
import { Binder } from './bind.ts';
import { boxed, limitsOf, put, tooMany } from './document.ts';
import type { FieldKeys } from './keyring.ts';
import { KeyringView } from './keyring.ts';
import type { EncryptFieldsOptions, EncryptFieldsResult } from './options.ts';
import { checkRequired, requiredPaths } from './require.ts';
import { firstMisfit, shapeError, walk } from './walk.ts';

/** The encoded header of each policy path, kept per path object: no cache-key string per document. */
const pathHeaders = new WeakMap<FieldPath, { alg: SymmetricAlg; kid: string; wsc: string | undefined; header: EncodedHeader }>();
function headerFor(path: FieldPath, alg: SymmetricAlg, kid: string, wsc: string | undefined): EncodedHeader {
  const hit = pathHeaders.get(path);
  if (hit && hit.alg === alg && hit.kid === kid && hit.wsc === wsc) return hit.header;
  const header = encodeHeader(alg, kid, undefined, undefined, path.text, wsc);
  pathHeaders.set(path, { alg, kid, wsc, header });
  return header;
}

/**
 * What one audience seals with in one document: its primary key (shared
 * audiences) or its first public key (public-key audiences), and, once
 * needed, the document's content key with its encrypted key (and `epk`).
 */
type AudienceSealer =
  | { readonly kind: 'shared'; readonly key: KeyEntry; content: HeldContentKey | undefined }
  | { readonly kind: 'public'; readonly entry: AsymmetricEntry; readonly alg: PublicJweAlg; content: HeldContentKey | undefined };

/** Headers a public-key content key keeps (they carry its `epk`); past this many (bound records), headers are made per token. */
const MAX_PUBLIC_HEADERS = 256;

/** The key a public-key audience seals with: the first key in set order usable with RSA-OAEP-256 or ECDH-ES+A256KW. */
function publicSealer(audience: string, entries: readonly AsymmetricEntry[]): AudienceSealer {
  for (const entry of entries) {
    const alg = publicAlgOf(entry);
    if (alg) return { kind: 'public', entry, alg, content: undefined };
  }
  throw new KeySetInvalidError(`audience "${audience}": no key in its key set can seal field tokens (RSA-OAEP-256 or ECDH-ES+A256KW)`);
}

/** @internal Seals a document; `concrete` builds the report's concrete paths. */
export function sealDocument<T>(keys: FieldKeys, doc: T, policy: FieldPolicy, options: EncryptFieldsOptions, concrete: boolean): EncryptFieldsResult<T> {
  const engine: Engine = getEngine(options.engine);
  const limits = limitsOf(options.limits);
  const required = requiredPaths(policy, options.requireMatch);
  const keyring = new KeyringView(keys, policy);
  const box = boxed(doc, limits);
  const alg = options.alg ?? 'A256KW';
  checkSealAlg(alg);
  const binder = new Binder(policy, options.context, engine, true);
  const bounds = reuseBounds(options.reuseContentKey);
  const sealers = new Map<string, AudienceSealer>();
  const sealerFor = (audience: string): AudienceSealer => {
    let s = sealers.get(audience);
    if (s === undefined) {
      const set = keyring.keys(audience);
      if (set === undefined) {
        throw new AudienceMissingError(audience);
      }
      s = set instanceof KeySet ? { kind: 'shared', key: set.primaryEntry(), content: undefined } : publicSealer(audience, set.kids.map((kid) => set.entry(kid)!));
      sealers.set(audience, s);
    }
    return s;
  };
  const sealed: string[] = [];
  const unmatched: string[] = [];
  const kids = Object.create(null) as Record<string, number>;
  // Fields under keys prepared for the batched GCM engine (held by data-key reuse): sealed together at the end.
  const batches = new Map<GcmKey, { places: unknown[]; items: FastSealItem[] }>();
  let count = 0;
  let misfit = false;
  const onMisfit = (): void => {
    misfit = true;
  };
  for (const path of policy.paths) {
    const before = count;
    let sealer: AudienceSealer | undefined;
    walk(box, path, (holder, k, c, indices) => {
      const value = (holder as Record<string | number, unknown>)[k];
      if (value === undefined) return;
      if (++count > limits.maxTokens) tooMany(limits.maxTokens);
      sealer ??= sealerFor(path.audience);
      const wsc = binder.wsc(path, box.v, indices);
      // One content key per document and audience (one wrap, one key agreement), made when its first field
      // is sealed; with reuseContentKey, one per key across documents, within its bounds.
      let held: HeldContentKey;
      let header: EncodedHeader;
      if (sealer.kind === 'shared') {
        const key = sealer.key;
        held = sealer.content ??= alg === 'dir' ? dirContent(key) : contentKeyFor(engine, key, bounds, () => newContentKeyBytes(engine, key, alg));
        // The token and byte bounds hold per token: a long document moves on to a fresh key (its tokens are standalone).
        if (bounds !== undefined && alg !== 'dir' && spent(held, bounds)) held = sealer.content = contentKeyFor(engine, key, bounds, () => newContentKeyBytes(engine, key, alg));
        header = headerFor(path, alg, key.kid, wsc);
      } else {
        const { entry, alg: publicAlg } = sealer;
        held = sealer.content ??= contentKeyFor(engine, entry, bounds, () => publicContentKey(engine, entry, publicAlg));
        if (bounds !== undefined && spent(held, bounds)) held = sealer.content = contentKeyFor(engine, entry, bounds, () => publicContentKey(engine, entry, publicAlg));
        const id = wsc === undefined ? path.text : `${path.text}\u0000${wsc}`;
        let h = held.headers.get(id);
        if (h === undefined) {
          h = encodePublicHeader(publicAlg, entry.kid, held.epk, path.text, wsc);
          if (held.headers.size < MAX_PUBLIC_HEADERS) held.headers.set(id, h);
        }
        header = h;
      }
      const text = JSON.stringify(value);
      countToken(held, text.length * 3);
      const gk = fastKeyFor(engine, held.cek);
      if (gk !== undefined) {
        // Sealed with the document's other fields under this key, in one batch, once the walk is done.
        const plaintext = utf8Bytes(text);
        if (plaintext.length <= FAST_MAX_BYTES) {
          let b = batches.get(gk);
          if (b === undefined) batches.set(gk, (b = { places: [], items: [] }));
          b.places.push(holder, k);
          b.items.push({ headerB64: header.b64, aad: header.aad, ek: held.ek, plaintext });
        } else {
          plaintext.fill(0); // from Node's shared pool: leave no copy of the value there
          put(holder, k, sealTextWith(engine, held.cek, held.ek, text, header));
        }
      } else put(holder, k, sealTextWith(engine, held.cek, held.ek, text, header));
      if (concrete) {
        sealed.push(c);
        const kid = sealer.kind === 'shared' ? sealer.key.kid : sealer.entry.kid;
        kids[kid] = (kids[kid] ?? 0) + 1;
      }
    }, concrete, onMisfit);
    // A member of the wrong shape would carry its values out unsealed: refuse the whole document.
    if (misfit) {
      const m = firstMisfit(box, path)!;
      throw shapeError(path, m.at, m.expected, m.found, true);
    }
    if (count === before) unmatched.push(path.text);
  }
  checkRequired(unmatched, required, true);
  for (const [gk, b] of batches) {
    let tokens: string[];
    try {
      tokens = fastSealTexts(engine, gk, b.items);
    } finally {
      // The values' UTF-8 bytes came from Node's shared Buffer pool: leave no copy there.
      for (const it of b.items) it.plaintext.fill(0);
    }
    for (let i = 0; i < tokens.length; i++) put(b.places[2 * i] as Record<string, unknown>, b.places[2 * i + 1] as string, tokens[i]!);
  }
  return { doc: box.v as T, sealed, unmatched, kids };
}
