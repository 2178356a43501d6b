/**
 * Sealing a document's policy paths: per audience, one content key per
 * document (one key wrap) under that audience's primary key; per value, a
 * fresh IV and a header with `wsf` = the path and `wsc` = the context (with
 * the record's bindings). Every field token is a standalone JWE.
 */
import type { Engine } from '../engine.ts';
import { getEngine } from '../engine.ts';
import { AudienceMissingError } from '../errors.ts';
import type { KeyEntry } from '../keyset.ts';
import type { FieldPath, FieldPolicy } from '../policy.ts';
import { sealTextWith } from '../token/content.ts';
import type { EncodedHeader, SymmetricAlg } from '../token/header.ts';
import { encodeHeader } from '../token/header.ts';
import { checkSealAlg, newContentKey } from '../token/key-management.ts';
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

/** What one audience seals with in one document: its primary key and, once needed, the document's content key. */
interface AudienceSealer {
  readonly key: KeyEntry;
  content: { cek: Uint8Array; ek: string } | undefined;
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
  const sealers = new Map<string, AudienceSealer>();
  const sealerFor = (audience: string): AudienceSealer => {
    let s = sealers.get(audience);
    if (s === undefined) {
      const set = keyring.keys(audience);
      if (set === undefined) {
        throw new AudienceMissingError(audience, `the document has values for audience "${audience}" but the keyring holds no keys for it; nothing was sealed`);
      }
      s = { key: set.primaryEntry(), content: undefined };
      sealers.set(audience, s);
    }
    return s;
  };
  const sealed: string[] = [];
  const unmatched: string[] = [];
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
      // One content key per document and audience, made when its first field is sealed.
      const content = (sealer.content ??= newContentKey(engine, sealer.key, alg));
      const header = headerFor(path, alg, sealer.key.kid, binder.wsc(path, box.v, indices));
      put(holder, k, sealTextWith(engine, sealer.key, alg, content.cek, content.ek, JSON.stringify(value), header));
      if (concrete) sealed.push(c);
    }, concrete, onMisfit);
    // A member of the wrong shape would carry its values out unsealed: refuse the whole document.
    if (misfit) {
      const m = firstMisfit(box, path)!;
      throw shapeError(path, m.at, m.expected, m.found, true);
    }
    if (count === before) unmatched.push(path.text);
  }
  checkRequired(unmatched, required, true);
  return { doc: box.v as T, sealed, unmatched };
}
