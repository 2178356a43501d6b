/**
 * Re-sealing one JSON document under the current primary key.
 *
 * - A token already under the primary kid (and, when the context stays the
 *   same, already bound to it) is opened to verify it, then left
 *   byte-identical: "already current".
 * - A token under another kid is opened and sealed again: "re-sealed".
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
import { decodeProtectedHeader, decryptFields, encryptFields, looksLikeToken, policyLocations } from '@wireseal/core';
import type { Context, FieldPolicy, KeySet, LegacyFieldReader, PolicyLocation, PolicyMisfit } from '@wireseal/core';
import { PlaintextFieldError } from '@wireseal/core/errors';
import { inputError } from '../errors.ts';

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
}

/** The result for one record. */
export interface ResealResult extends ResealCounts {
  /** The output record text (without a line terminator). */
  text: string;
  /** False when `text` is the input, unchanged. */
  changed: boolean;
  /** Kids of the re-sealed tokens, one entry per token. */
  fromKids: string[];
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
 * Re-seals the policy fields of one JSON document under `keys`' primary key.
 * @throws WiresealError for a token that does not open (its code says why), `ERR_PLAINTEXT_FIELD` in strict mode
 * @throws CliError `ERR_INPUT_INVALID` when the text is not JSON
 */
export function resealDocument(keys: KeySet, text: string, options: ResealOptions): ResealResult {
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
  const primary = keys.primaryKid;

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

  const result: ResealResult = { text, changed: false, resealed: 0, current: 0, fromPlaintext: 0, legacy: 0, fromKids: [] };
  const isCurrent = locs.map((loc) => {
    const v = valueAt(loc);
    return keepCurrent && looksLikeToken(v) && decodeProtectedHeader(v).kid === primary;
  });
  if (isCurrent.every(Boolean)) {
    result.current = locs.length;
    return result;
  }

  const sealed = encryptFields(keys, opened.doc, options.policy, toContext ? { context: toContext } : {});
  const sealedLocs = policyLocations({ v: sealed }, options.policy);
  const replacements: Array<{ loc: Location; old: string; next: string }> = [];
  const expected: Array<{ loc: Location; value: string }> = [];
  let spliceable = true;
  locs.forEach((loc, i) => {
    const old = valueAt(loc);
    if (isCurrent[i]) {
      result.current++;
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
