/**
 * Field-level encryption: seal the policy paths of a JSON document as JWE
 * tokens, leave everything else readable. One content key per document (one
 * key wrap), one IV and one header per field: every field token is still a
 * valid standalone JWE that any JOSE library opens.
 */
import { checkClaims } from './token/claims.ts';
import { decryptParsedText, sealTextWith } from './token/content.ts';
import { checkSealAlg, keyFor, newContentKey } from './token/key-management.ts';
import type { OpenOptions } from './token/options.ts';
import type { KnownHeader, ParsedToken } from './token/parse.ts';
import { parseToken } from './token/parse.ts';
import type { Context } from './context.ts';
import { contextDigest } from './context.ts';
import type { Engine, EngineName } from './engine.ts';
import { getEngine } from './engine.ts';
import { FieldMissingError, LimitExceededError, PlaintextFieldError, PolicyInvalidError, TokenMalformedError, WiresealError } from './errors.ts';
import type { EncodedHeader, SymmetricAlg } from './token/header.ts';
import { encodeHeader } from './token/header.ts';
import type { KeyEntry, KeySet } from './keyset.ts';
import type { FieldPath, FieldPolicy } from './policy.ts';

/** A JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Limits on the documents a field codec accepts. */
export interface DocumentLimits {
  /** Deepest nesting of objects and arrays. Default 64. */
  maxDepth?: number;
  /** Most values (objects, arrays, scalars) in one document. Default 100,000. */
  maxNodes?: number;
  /** Most tokens sealed or opened in one document (after `[*]` expansion). Default 10,000. */
  maxTokens?: number;
}

/** Options for {@link encryptFields}. */
export interface EncryptFieldsOptions {
  /** Context bound into every token as `wsc` (topic, tenant, route). */
  context?: Context;
  /** `A256KW` (default) or `dir`. */
  alg?: SymmetricAlg;
  /** `node` (default on Node) or `noble`. */
  engine?: EngineName | Engine;
  /** Document limits. */
  limits?: DocumentLimits;
  /**
   * `true`: every policy path must match at least one value; an array of
   * policy paths: those must. Otherwise sealing fails with
   * `ERR_FIELD_MISSING` and nothing is returned. Default `false` (a path that
   * matches nothing is skipped and listed in `unmatched`).
   */
  requireMatch?: boolean | readonly string[];
}

/** How {@link decryptFields} treats plaintext at a policy path. */
export type DecryptMode = 'strict' | 'migrate';

/**
 * A reader for values that are not wireseal tokens (e.g. legacy AES-CBC), tried
 * in `migrate` mode before a value passes through as plaintext. Returns the
 * decoded value, or `undefined` when the value is not in its format.
 */
export interface LegacyFieldReader {
  /** Name reported in {@link DecryptFieldsResult.legacy}. */
  readonly name: string;
  /** Paths (policy text) it applies to; all when absent. */
  readonly paths?: readonly string[];
  /** Decodes a value, or returns undefined when it is not in this format. */
  read(value: JsonValue, path: string): JsonValue | undefined;
}

/** Options for {@link decryptFields}. */
export interface DecryptFieldsOptions {
  /** `strict` (default): plaintext at a policy path is `ERR_PLAINTEXT_FIELD`. `migrate`: it passes through. */
  mode?: DecryptMode;
  /** Expected context; must match each token's `wsc`. */
  context?: Context;
  /** `node` (default on Node) or `noble`. */
  engine?: EngineName | Engine;
  /** Document limits. */
  limits?: DocumentLimits;
  /** Token limits and allowed algorithms, as for `open`. */
  token?: Pick<OpenOptions, 'algorithms' | 'maxTokenLength' | 'maxHeaderLength'>;
  /** Legacy readers tried in `migrate` mode before passing plaintext through. */
  legacy?: readonly LegacyFieldReader[];
  /** As for {@link EncryptFieldsOptions.requireMatch}: these policy paths must be present (`ERR_FIELD_MISSING`). */
  requireMatch?: boolean | readonly string[];
}

/** The outcome of {@link decryptFields}. */
export interface DecryptFieldsResult<T = JsonValue> {
  /** The plaintext document (a new object; the input is not changed). */
  doc: T;
  /** Concrete paths (e.g. `accounts[1].iban`) whose tokens were opened. */
  decrypted: string[];
  /** Concrete paths that held plaintext and passed through (`migrate` mode). */
  passedThrough: string[];
  /** Concrete paths read by a legacy reader (`migrate` mode), with its name. */
  legacy: Array<{ path: string; reader: string }>;
  /** Policy paths (as the policy writes them) that matched nothing in this document. */
  unmatched: string[];
}

const DEFAULTS = { maxDepth: 64, maxNodes: 100_000, maxTokens: 10_000 };

interface CloneState {
  nodes: number;
  readonly maxNodes: number;
  readonly maxDepth: number;
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** @internal Writes `value` at `holder[k]` (an object key, set as an own property, or an array index). */
export function put(holder: Record<string, unknown> | unknown[], k: string | number, value: unknown): void {
  if (typeof k === 'string') setOwn(holder as Record<string, unknown>, k, value);
  else (holder as unknown[])[k] = value;
}

/** Deep copy of JSON data that can never touch a prototype. */
function clone(value: unknown, depth: number, st: CloneState): unknown {
  if (++st.nodes > st.maxNodes) throw new LimitExceededError(`document has more than ${st.maxNodes} values (limits.maxNodes)`);
  if (value === null || typeof value !== 'object') {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      throw new PolicyInvalidError(`document holds a ${typeof value}, which is not JSON`);
    }
    return value;
  }
  if (depth >= st.maxDepth) throw new LimitExceededError(`document nests deeper than ${st.maxDepth} levels (limits.maxDepth)`);
  // JSON.stringify semantics, so a document means what it would mean on the wire:
  // toJSON() is honoured (a Date becomes its ISO string), members that JSON drops are dropped.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return clone((value as { toJSON(): unknown }).toJSON(), depth, st);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = dropped(value[i]) ? null : clone(value[i], depth + 1, st);
    return out;
  }
  const out: Record<string, unknown> = {};
  // for-in + own check visits exactly Object.keys' keys, in the same order, without allocating the key array.
  for (const k in value) {
    if (!hasOwn(value, k)) continue;
    const v = (value as Record<string, unknown>)[k];
    if (!dropped(v)) setOwn(out, k, clone(v, depth + 1, st));
  }
  return out;
}

/** Values JSON.stringify leaves out of objects (and writes as null in arrays). */
function dropped(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

type Visit = (holder: Record<string, unknown> | unknown[], key: string | number, concrete: string) => void;

/**
 * @internal Called when a walk meets a present member of the wrong shape where
 * the policy expects an object (a key step) or an array (a `[*]` step): an
 * array where an object belongs, an object where an array belongs, or a
 * string, number or boolean where either belongs. `concrete` is that member's
 * concrete path (`$` for the document itself; empty when the walk does not
 * build concrete paths). `null` counts as absent, never as a misfit.
 */
export type Misfit = (concrete: string, expected: 'object' | 'array', found: string) => void;

/** The JSON kind of a value, for messages (never the value itself). */
export function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * @internal Calls `visit` for every location the path reaches in `root` (a box holding
 * the document). The concrete path (`accounts[1].iban`) is built only when
 * `concrete` is true; otherwise `visit` gets an empty string. A member of the
 * wrong shape on the way is reported to `misfit` (and not entered).
 */
export function walk(box: { v: unknown }, path: FieldPath, visit: Visit, concrete = true, misfit?: Misfit): void {
  const steps = path.steps;
  if (steps.length === 0) {
    visit(box as unknown as Record<string, unknown>, 'v', '$');
    return;
  }
  const go = (holder: unknown, i: number, at: string): void => {
    if (holder === null || holder === undefined) return;
    const step = steps[i]!;
    const last = i === steps.length - 1;
    if (step.kind === 'each') {
      if (!Array.isArray(holder)) {
        misfit?.(concrete && at === '' ? '$' : at, 'array', kindOf(holder));
        return;
      }
      for (let j = 0; j < holder.length; j++) {
        const c = concrete ? `${at}[${j}]` : '';
        if (last) visit(holder, j, c);
        else go(holder[j], i + 1, c);
      }
      return;
    }
    if (typeof holder !== 'object' || Array.isArray(holder)) {
      misfit?.(concrete && at === '' ? '$' : at, 'object', kindOf(holder));
      return;
    }
    if (!hasOwn(holder, step.key)) return;
    const c = !concrete ? '' : at === '' ? step.key : `${at}.${step.key}`;
    if (last) visit(holder as Record<string, unknown>, step.key, c);
    else go((holder as Record<string, unknown>)[step.key], i + 1, c);
  };
  go(box.v, 0, '');
}

/**
 * @internal The concrete path of the first misfit of `path` in `box`, for an
 * error message when the walk that met it did not build concrete paths.
 */
export function firstMisfit(box: { v: unknown }, path: FieldPath): { at: string; expected: 'object' | 'array'; found: string } | undefined {
  let first: { at: string; expected: 'object' | 'array'; found: string } | undefined;
  walk(box, path, () => undefined, true, (at, expected, found) => {
    first ??= { at, expected, found };
  });
  return first;
}

/** The error for a policy path that meets a member of the wrong shape. */
export function shapeError(path: FieldPath, at: string, expected: 'object' | 'array', found: string, sealing: boolean): PlaintextFieldError {
  return new PlaintextFieldError(
    at,
    `field "${at}" is ${found} where policy path "${path.text}" expects ${expected === 'array' ? 'an array' : 'an object'}: ` +
      (sealing
        ? 'its values would leave unsealed, so nothing was sealed'
        : 'in strict mode a policy path is either absent or holds a token where the policy says'),
  );
}

/** The encoded header of each policy path, kept per path object: no cache-key string per document. */
const pathHeaders = new WeakMap<FieldPath, { alg: SymmetricAlg; kid: string; wsc: string | undefined; header: EncodedHeader }>();
function headerFor(path: FieldPath, alg: SymmetricAlg, kid: string, wsc: string | undefined): EncodedHeader {
  const hit = pathHeaders.get(path);
  if (hit && hit.alg === alg && hit.kid === kid && hit.wsc === wsc) return hit.header;
  const header = encodeHeader(alg, kid, undefined, undefined, path.text, wsc);
  pathHeaders.set(path, { alg, kid, wsc, header });
  return header;
}

function tooMany(max: number): never {
  throw new LimitExceededError(`document has more than ${max} policy values (limits.maxTokens)`);
}

/** The outcome of {@link encryptFieldsWithReport}. */
export interface EncryptFieldsResult<T = JsonValue> {
  /** The sealed document (a new object; the input is not changed). */
  doc: T;
  /** Concrete paths (e.g. `accounts[1].iban`) that were sealed. */
  sealed: string[];
  /** Policy paths (as the policy writes them) that matched nothing in this document. */
  unmatched: string[];
}

/** The policy paths `requireMatch` names, checked against the policy. */
function requiredPaths(policy: FieldPolicy, require: boolean | readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (require === undefined || require === false) return undefined;
  const texts = policy.paths.map((p) => p.text);
  if (require === true) return new Set(texts);
  if (!Array.isArray(require)) throw new PolicyInvalidError('requireMatch must be true, false or an array of policy paths');
  for (const r of require) {
    if (!texts.includes(r)) throw new PolicyInvalidError(`requireMatch names ${JSON.stringify(r)}, which is not a path of the policy`);
  }
  return new Set(require);
}

function missing(unmatched: readonly string[], required: ReadonlySet<string> | undefined, sealing: boolean): void {
  if (!required) return;
  const absent = unmatched.filter((p) => required.has(p));
  if (absent.length > 0) {
    throw new FieldMissingError(
      absent,
      `required policy path${absent.length > 1 ? 's' : ''} ${absent.map((p) => JSON.stringify(p)).join(', ')} matched nothing in the document` +
        (sealing ? ' (requireMatch): nothing was sealed' : ' (requireMatch)'),
    );
  }
}

function sealDocument<T>(keys: KeySet, doc: T, policy: FieldPolicy, options: EncryptFieldsOptions, concrete: boolean): EncryptFieldsResult<T> {
  const engine = getEngine(options.engine);
  const limits = { ...DEFAULTS, ...options.limits };
  const required = requiredPaths(policy, options.requireMatch);
  const box = { v: clone(doc, 0, { nodes: 0, maxNodes: limits.maxNodes, maxDepth: limits.maxDepth }) };
  const alg = options.alg ?? 'A256KW';
  checkSealAlg(alg);
  const key = keys.primaryEntry();
  const wsc = options.context !== undefined ? contextDigest(options.context, engine) : undefined;
  const sealed: string[] = [];
  const unmatched: string[] = [];
  // One content key per document, made when the first field is sealed.
  let content: { cek: Uint8Array; ek: string } | undefined;
  let count = 0;
  let misfit = false;
  const onMisfit = (): void => {
    misfit = true;
  };
  for (const path of policy.paths) {
    const header = headerFor(path, alg, key.kid, wsc);
    const before = count;
    walk(box, path, (holder, k, c) => {
      const value = (holder as Record<string | number, unknown>)[k];
      if (value === undefined) return;
      if (++count > limits.maxTokens) tooMany(limits.maxTokens);
      content ??= newContentKey(engine, key, alg);
      const token = sealTextWith(engine, key, alg, content.cek, content.ek, JSON.stringify(value), header);
      put(holder, k, token);
      if (concrete) sealed.push(c);
    }, concrete, onMisfit);
    // A member of the wrong shape would carry its values out unsealed: refuse the whole document.
    if (misfit) {
      const m = firstMisfit(box, path)!;
      throw shapeError(path, m.at, m.expected, m.found, true);
    }
    if (count === before) unmatched.push(path.text);
  }
  missing(unmatched, required, true);
  return { doc: box.v as T, sealed, unmatched };
}

/**
 * Seals every policy path of `doc` as a JWE token (`wsf` = the path; `wsc`
 * when a context is given) and returns a new document. Paths that match
 * nothing are skipped (unless `requireMatch` names them); the input is never
 * changed. A member of the wrong shape on a policy path (an object where the
 * policy has `[*]`, a string where it expects an object) is refused: its
 * values would otherwise leave unsealed.
 * @example
 * const sealed = encryptFields(keys, payment, policy, { context: { topic: 'payments' } });
 * @throws PlaintextFieldError `ERR_PLAINTEXT_FIELD` for a member of the wrong shape on a policy path
 * @throws FieldMissingError `ERR_FIELD_MISSING` when a `requireMatch` path matches nothing
 */
export function encryptFields<T = JsonValue>(keys: KeySet, doc: T, policy: FieldPolicy, options: EncryptFieldsOptions = {}): T {
  return sealDocument(keys, doc, policy, options, false).doc;
}

/**
 * {@link encryptFields} with a report: the concrete paths sealed and the
 * policy paths that matched nothing (a typo in a path shows up here instead
 * of as a field sent in plaintext).
 * @example
 * const { doc, sealed, unmatched } = encryptFieldsWithReport(keys, payment, policy);
 */
export function encryptFieldsWithReport<T = JsonValue>(keys: KeySet, doc: T, policy: FieldPolicy, options: EncryptFieldsOptions = {}): EncryptFieldsResult<T> {
  return sealDocument(keys, doc, policy, options, true);
}

/**
 * The same error, of the same class and code, with the concrete path in front
 * of its message (the original is the `cause`). A new error, not a rewritten
 * one: an error's message never changes after it is thrown.
 */
function atField(err: WiresealError, concrete: string): WiresealError {
  const Same = err.constructor as new (message: string, options?: ErrorOptions) => WiresealError;
  return new Same(`field "${concrete}": ${err.message}`, { cause: err });
}

/** The header of the last token opened at each policy path: the next document's token there most likely has the same. */
const lastTokenAt = new WeakMap<FieldPath, KnownHeader>();

/** @internal A JWE compact token: a JSON-object header (`eyJ` = base64url of `{"`) and five segments. */
export function looksLikeToken(v: unknown): v is string {
  if (typeof v !== 'string' || !v.startsWith('eyJ')) return false;
  let dots = 0;
  for (let i = v.indexOf('.'); i >= 0; i = v.indexOf('.', i + 1)) if (++dots > 4) return false;
  return dots === 4;
}


/**
 * Opens every policy token of `doc` (checking `wsf` against the path it sits
 * at and `wsc` against `options.context`) and returns a new document with a
 * report of what was decrypted and what passed through.
 * @throws WiresealError `ERR_PLAINTEXT_FIELD` in strict mode, or the token's error, naming the concrete path
 */
export function decryptFields<T = JsonValue>(keys: KeySet, doc: unknown, policy: FieldPolicy, options: DecryptFieldsOptions = {}): DecryptFieldsResult<T> {
  const engine = getEngine(options.engine);
  const limits = { ...DEFAULTS, ...options.limits };
  const mode = options.mode ?? 'strict';
  if (mode !== 'strict' && mode !== 'migrate') throw new PolicyInvalidError(`mode must be "strict" or "migrate"`);
  const box = { v: clone(doc, 0, { nodes: 0, maxNodes: limits.maxNodes, maxDepth: limits.maxDepth }) };
  const wsc = options.context !== undefined ? contextDigest(options.context, engine) : undefined;
  const tokenOptions: OpenOptions = { ...options.token };
  if (options.context !== undefined) tokenOptions.context = options.context;
  const required = requiredPaths(policy, options.requireMatch);
  const result: DecryptFieldsResult<T> = { doc: undefined as T, decrypted: [], passedThrough: [], legacy: [], unmatched: [] };
  // A member of the wrong shape on a policy path (an object where the policy
  // has [*], a string where it expects an object) holds plaintext the policy
  // would have sealed: strict mode refuses it, migrate mode reports it.
  let misfitPath: FieldPath | undefined;
  const onMisfit: Misfit = (at, expected, found) => {
    if (mode === 'strict') throw shapeError(misfitPath!, at, expected, found, false);
    if (!result.passedThrough.includes(at)) result.passedThrough.push(at);
    matchedHere = true;
  };
  let matchedHere = false;
  // Tokens of one document usually share one wrapped content key: unwrap it
  // once (the last one is checked first, without building a map key).
  const ceks = new Map<string, Uint8Array>();
  let lastEntry: KeyEntry | undefined;
  let lastEk = '';
  let lastCek: Uint8Array | undefined;
  let prev: ParsedToken | undefined;
  let count = 0;
  for (const path of policy.paths) {
    const claimOptions: OpenOptions = { ...tokenOptions, field: path.text };
    const lastOfPath = lastTokenAt.get(path);
    const before = prev;
    misfitPath = path;
    matchedHere = false;
    walk(box, path, (holder, k, concrete) => {
      const value = (holder as Record<string | number, unknown>)[k];
      if (value === undefined) return;
      matchedHere = true;
      if (++count > limits.maxTokens) tooMany(limits.maxTokens);
      let out: unknown;
      if (looksLikeToken(value)) {
        try {
          const parsed = parseToken(value, tokenOptions, prev, lastOfPath);
          prev = parsed;
          const entry = keyFor(keys, parsed.header);
          let known: Uint8Array | undefined;
          if (parsed.header.alg !== 'dir') {
            known = entry === lastEntry && parsed.ekB64 === lastEk ? lastCek : ceks.get(`${entry.kid}.${parsed.ekB64}`);
          }
          const { text, cek } = decryptParsedText(engine, entry, parsed, known);
          if (parsed.header.alg !== 'dir') {
            if (known === undefined) ceks.set(`${entry.kid}.${parsed.ekB64}`, cek);
            lastEntry = entry;
            lastEk = parsed.ekB64;
            lastCek = cek;
          }
          checkClaims(parsed.header, claimOptions, engine, wsc);
          out = JSON.parse(text);
        } catch (err) {
          if (err instanceof WiresealError) throw atField(err, concrete);
          throw new TokenMalformedError(`field "${concrete}": token plaintext is not UTF-8 JSON`);
        }
        result.decrypted.push(concrete);
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
  missing(result.unmatched, required, false);
  result.doc = box.v as T;
  return result;
}
