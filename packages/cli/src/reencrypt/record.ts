/**
 * Re-sealing one JSON document under the current primary key, per audience:
 * each audience's tokens under that audience's primary (a shared key set) or
 * first field-capable public key (a private key set).
 *
 * - A token already under the primary kid (and, when the context stays the
 *   same, already bound to it) is opened to verify it, then left
 *   byte-identical: "already current".
 * - A token under another kid is opened and sealed again: "re-sealed".
 * - A token of an audience the keyring cannot open (no keys, or public keys
 *   only) is left byte-identical: "left sealed". Never a failure, unless the
 *   context changes (it could not be re-bound).
 * - Plaintext at a policy path is sealed ("sealed from plaintext"), or fails
 *   the record with `ERR_PLAINTEXT_FIELD` in strict mode. A legacy reader,
 *   when given, converts values in its format first ("legacy").
 *
 * Only the changed values are spliced into the original text, so the rest of
 * the record keeps its bytes (whitespace, key order, number spelling). When a
 * splice cannot be proven right (a non-string value became a token, a value's
 * text also appears elsewhere) the document is re-serialised with
 * JSON.stringify instead.
 */
import { KeySet, decodeProtectedHeader, decryptFields, encryptFields, looksLikeToken, policyLocations } from '@wireseal/core';
import type { AudienceKeySet, Context, FieldPolicy, LegacyFieldReader, PolicyLocation, PolicyMisfit } from '@wireseal/core';
import { AudienceMissingError, PlaintextFieldError } from '@wireseal/core/errors';
import { inputError } from '../errors.ts';
import { canOpen, sealingKid } from '../keys/audience.ts';

/** Keys to re-seal with: one key set (a policy with one audience), or a keyring (audience → keys). */
export type ResealKeys = KeySet | Readonly<Record<string, AudienceKeySet>>;

/** Per audience of a policy: can its tokens be opened here, and which kid seals new ones. */
type AudienceRules = ReadonlyMap<string, { open: boolean; kid: string | undefined }>;

const rulesCache = new WeakMap<object, { policy: FieldPolicy; rules: AudienceRules }>();

function audienceRules(keys: ResealKeys, policy: FieldPolicy): AudienceRules {
  const hit = rulesCache.get(keys);
  if (hit?.policy === policy) return hit.rules;
  const rules = new Map<string, { open: boolean; kid: string | undefined }>();
  for (const audience of policy.audiences) {
    const set = keys instanceof KeySet ? (audience === policy.audiences[0] ? keys : undefined) : Object.prototype.hasOwnProperty.call(keys, audience) ? keys[audience] : undefined;
    rules.set(audience, { open: canOpen(set), kid: sealingKid(set) });
  }
  rulesCache.set(keys, { policy, rules });
  return rules;
}

/**
 * Stands in for the audiences that have nothing to seal in a record (all
 * their tokens current or left sealed): the whole document goes through
 * encryptFields, and what it seals for them is thrown away unseen.
 */
let placeholder: KeySet | undefined;

type Location = PolicyLocation;

/** The value at a location. */
function valueAt(loc: Location): unknown {
  return (loc.holder as Record<string | number, unknown>)[loc.key];
}

/** Replaces the value at a location (own data property, even for `__proto__`). */
function setAt(loc: Location, value: unknown): void {
  if (typeof loc.key === 'number') (loc.holder as unknown[])[loc.key] = value;
  else Object.defineProperty(loc.holder, loc.key, { value, enumerable: true, writable: true, configurable: true });
}

/** How to re-seal documents. */
export interface ResealOptions {
  policy: FieldPolicy;
  /** Context the existing tokens are bound to (`wsc`). */
  fromContext?: Context;
  /** Context to bind the new tokens to; default `fromContext`. A different one re-seals every token. */
  toContext?: Context;
  /** Fail records that hold plaintext (not a token, not legacy) at a policy path (`ERR_PLAINTEXT_FIELD`). */
  strict?: boolean;
  /** Readers for legacy (non-JWE) ciphertexts at policy paths. */
  legacy?: readonly LegacyFieldReader[];
}

/** Per-record counts. */
export interface ResealCounts {
  /** Tokens under an older kid (or another context) sealed again. */
  resealed: number;
  /** Tokens already under the primary kid, left byte-identical. */
  current: number;
  /** Plaintext values sealed for the first time. */
  fromPlaintext: number;
  /** Legacy ciphertexts converted. */
  legacy: number;
  /** Tokens of audiences the keyring cannot open, left byte-identical. */
  leftSealed: number;
}

/** The result for one record. */
export interface ResealResult extends ResealCounts {
  /** The output record text (without a line terminator). */
  text: string;
  /** False when `text` is the input, unchanged. */
  changed: boolean;
  /** Kids of the re-sealed tokens, one entry per token. */
  fromKids: string[];
  /** Audiences of the tokens left sealed, one entry per token. */
  leftAudiences: string[];
}

function sameContext(a: Context | undefined, b: Context | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/** Positions of every occurrence of `needle` in `text`. */
function occurrences(text: string, needle: string): number[] {
  const at: number[] = [];
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) at.push(i);
  return at;
}

/**
 * Splices `replacements` (old string value -> new token, per location) into
 * `text`, or returns undefined when that cannot be done provably right.
 */
function splice(text: string, policy: FieldPolicy, replacements: Array<{ loc: Location; old: string; next: string }>, expected: Array<{ loc: Location; value: string }>): string | undefined {
  const byNeedle = new Map<string, string[]>();
  for (const r of replacements) {
    const needle = JSON.stringify(r.old);
    const list = byNeedle.get(needle);
    if (list) list.push(r.next);
    else byNeedle.set(needle, [r.next]);
  }
  const edits: Array<{ at: number; len: number; next: string }> = [];
  for (const [needle, nexts] of byNeedle) {
    const at = occurrences(text, needle);
    if (at.length !== nexts.length) return undefined; // the text also appears elsewhere (or escaped differently)
    at.forEach((pos, i) => edits.push({ at: pos, len: needle.length, next: JSON.stringify(nexts[i]!) }));
  }
  edits.sort((a, b) => a.at - b.at);
  let out = '';
  let pos = 0;
  for (const e of edits) {
    if (e.at < pos) return undefined; // overlapping matches
    out += text.slice(pos, e.at) + e.next;
    pos = e.at + e.len;
  }
  out += text.slice(pos);
  // Prove it: every location holds exactly what it should, in the spliced text.
  let check: unknown;
  try {
    check = JSON.parse(out);
  } catch {
    return undefined;
  }
  const locs = policyLocations({ v: check }, policy);
  if (locs.length !== expected.length) return undefined;
  for (let i = 0; i < locs.length; i++) if (valueAt(locs[i]!) !== expected[i]!.value) return undefined;
  return out;
}

/**
 * Re-seals the policy fields of one JSON document under `keys`' primary key
 * (per audience, with a keyring).
 * @throws WiresealError for a token that does not open (its code says why), `ERR_PLAINTEXT_FIELD` in strict mode,
 * `ERR_AUDIENCE_MISSING` for plaintext of an audience the keyring lacks, or for a token it cannot open when the context changes
 * @throws CliError `ERR_INPUT_INVALID` when the text is not JSON
 */
export function resealDocument(keys: ResealKeys, text: string, options: ResealOptions): ResealResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw inputError('record is not valid JSON');
  }
  const box = { v: doc };
  const misfits: PolicyMisfit[] = [];
  const locs = policyLocations(box, options.policy, misfits);
  // A member of the wrong shape on a policy path holds values that cannot be sealed per the policy:
  // the record fails (and goes to the reject file) rather than being written back with them in plaintext.
  if (misfits.length > 0) {
    const m = misfits[0]!;
    throw new PlaintextFieldError(m.concrete, `field "${m.concrete}" is ${m.found} where policy path "${m.path.text}" expects ${m.expected === 'array' ? 'an array' : 'an object'}: it cannot be sealed per the policy`);
  }
  const toContext = options.toContext ?? options.fromContext;
  const keepCurrent = sameContext(options.fromContext, toContext);
  const rules = audienceRules(keys, options.policy);

  // Open everything first: a record fails as a whole, before anything is sealed.
  // Always migrate mode, so legacy readers run; --strict is enforced on what passed through.
  const opened = decryptFields(keys, doc, options.policy, {
    mode: 'migrate',
    ...(options.fromContext ? { context: options.fromContext } : {}),
    ...(options.legacy ? { legacy: options.legacy } : {}),
  });
  if (options.strict && opened.passedThrough.length > 0) {
    const path = opened.passedThrough[0]!;
    throw new PlaintextFieldError(path, `field "${path}" holds plaintext where the policy requires a token (--strict)`);
  }
  const legacyPaths = new Set(opened.legacy.map((l) => l.path));

  const result: ResealResult = { text, changed: false, resealed: 0, current: 0, fromPlaintext: 0, legacy: 0, leftSealed: 0, fromKids: [], leftAudiences: [] };
  // Per location: 'current' and 'left' keep their bytes; 'seal' gets a new token.
  const states = locs.map((loc): 'current' | 'left' | 'seal' => {
    const v = valueAt(loc);
    if (!looksLikeToken(v)) return 'seal';
    const rule = rules.get(loc.path.audience)!;
    if (!rule.open) {
      if (!keepCurrent) {
        throw new AudienceMissingError(loc.path.audience, `field "${loc.concrete}": no keys here open audience "${loc.path.audience}", so its token cannot be re-bound to the new context`);
      }
      return 'left';
    }
    return keepCurrent && decodeProtectedHeader(v).kid === rule.kid ? 'current' : 'seal';
  });
  for (let i = 0; i < locs.length; i++) {
    if (states[i] === 'current') result.current++;
    else if (states[i] === 'left') {
      result.leftSealed++;
      result.leftAudiences.push(locs[i]!.path.audience);
    }
  }
  if (!states.includes('seal')) return result;

  // With a keyring, audiences with nothing to seal here get a throwaway key (their values are kept as they were);
  // one that has something to seal but no keys fails in encryptFields with ERR_AUDIENCE_MISSING.
  let sealKeys: ResealKeys = keys;
  if (!(keys instanceof KeySet)) {
    const ring = Object.create(null) as Record<string, AudienceKeySet>;
    const needed = new Set(locs.filter((_, i) => states[i] === 'seal').map((l) => l.path.audience));
    for (const loc of locs) {
      const a = loc.path.audience;
      if (needed.has(a)) {
        if (Object.prototype.hasOwnProperty.call(keys, a)) ring[a] = keys[a]!;
      } else {
        ring[a] = placeholder ??= KeySet.generate({ kid: 'placeholder' });
      }
    }
    sealKeys = ring;
  }
  const sealed = encryptFields(sealKeys, opened.doc, options.policy, toContext ? { context: toContext } : {});
  const sealedLocs = policyLocations({ v: sealed }, options.policy);
  const replacements: Array<{ loc: Location; old: string; next: string }> = [];
  const expected: Array<{ loc: Location; value: string }> = [];
  let spliceable = true;
  locs.forEach((loc, i) => {
    const old = valueAt(loc);
    if (states[i] !== 'seal') {
      expected.push({ loc, value: old as string });
      return;
    }
    const next = valueAt(sealedLocs[i]!) as string;
    if (looksLikeToken(old)) {
      result.resealed++;
      result.fromKids.push(String(decodeProtectedHeader(old).kid));
    } else if (legacyPaths.has(loc.concrete)) {
      result.legacy++;
    } else {
      result.fromPlaintext++;
    }
    if (typeof old === 'string') replacements.push({ loc, old, next });
    else spliceable = false;
    expected.push({ loc, value: next });
  });
  result.changed = true;
  const spliced = spliceable ? splice(text, options.policy, replacements, expected) : undefined;
  if (spliced !== undefined) {
    result.text = spliced;
  } else {
    for (const r of expected) setAt(r.loc, r.value);
    result.text = JSON.stringify(box.v);
  }
  return result;
}
