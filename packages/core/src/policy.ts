/**
 * Field policies: the agreed-upon attributes of a JSON document that are
 * encrypted. Grammar (docs/format.md §6):
 *
 * ```
 * path    = "$" | first rest*
 * first   = name | quoted | "[*]"
 * rest    = "." name | quoted | "[*]"
 * name    = one or more characters other than . [ ] " and whitespace
 * quoted  = '[' JSON-string ']'        e.g. ["a.b"]
 * ```
 *
 * `__proto__`, `constructor` and `prototype` are never valid segments.
 */
import { PolicyInvalidError } from './errors.ts';
import { nodeBuiltin } from './runtime.ts';

/** One step of a compiled path: an object key or every element of an array. */
export type PathStep = { readonly kind: 'key'; readonly key: string } | { readonly kind: 'each' };

/** A validated policy path. */
export interface FieldPath {
  /** The path exactly as the policy writes it; sealed into each token as `wsf`. */
  readonly text: string;
  /** The compiled steps; empty for `$` (the whole document). */
  readonly steps: readonly PathStep[];
  /** The audience whose keys seal it (`default` for a `fields` policy; empty for a bind path). */
  readonly audience: string;
}

/**
 * A field policy as written in JSON: `fields` (the single audience
 * `default`) or `audiences` (name → paths), not both; `bind` optionally lists
 * paths whose plaintext values are bound into every token (docs/format.md §6.6).
 */
export type FieldPolicyJson =
  | { fields: string[]; audiences?: undefined; bind?: string[] }
  | { audiences: Record<string, string[]>; fields?: undefined; bind?: string[] };

/** The audience of a `{ fields: [...] }` policy. */
export const DEFAULT_AUDIENCE = 'default';
const AUDIENCE_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Limits applied when a policy is parsed. */
export interface PolicyLimits {
  /** Most paths in one policy. Default 256. */
  maxFields?: number;
  /** Most steps in one path. Default 32. */
  maxPathDepth?: number;
  /**
   * Longest path in UTF-8 bytes of its JSON string. Default 2,048, so that a
   * field token's header stays within the 4,096-character header limit that
   * readers apply by default.
   */
  maxPathBytes?: number;
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const NAME_STOP = /[.[\]"\s]/;

function fail(path: string, why: string): never {
  throw new PolicyInvalidError(`policy path ${JSON.stringify(path)}: ${why}`);
}

/**
 * Longest path, in UTF-8 bytes of its JSON string (as it sits in a header's
 * `wsf`). A field token's header is at most 4,096 base64url characters (3,072
 * bytes of JSON) by default at the reader; the other members take at most
 * about 250 (`alg`, `enc`, a 64-character `kid` even fully escaped, `wsc`),
 * so a path within this limit never makes a token that a reader refuses.
 */
const MAX_PATH_BYTES = 2048;

function jsonBytes(text: string): number {
  let n = 0;
  for (const ch of JSON.stringify(text)) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

function parsePath(text: string, maxDepth: number, maxBytes: number, audience: string): FieldPath {
  if (text === '$') return Object.freeze({ text, steps: Object.freeze([]), audience });
  if (text.length === 0) fail(text, 'is empty');
  const bytes = jsonBytes(text);
  if (bytes > maxBytes) {
    throw new PolicyInvalidError(`policy path starting ${JSON.stringify(text.slice(0, 32))}… is ${bytes} bytes as JSON; the limit is ${maxBytes} (limits.maxPathBytes), so that its tokens' headers stay within readers' limits`);
  }
  const steps: PathStep[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '[') {
      if (text.startsWith('[*]', i)) {
        steps.push({ kind: 'each' });
        i += 3;
      } else if (text[i + 1] === '"') {
        // A JSON string literal up to the closing quote, then ']'.
        let j = i + 2;
        while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
        if (j >= text.length || text[j + 1] !== ']') fail(text, `unterminated quoted key at offset ${i}`);
        let key: unknown;
        try {
          key = JSON.parse(text.slice(i + 1, j + 1));
        } catch {
          fail(text, `bad quoted key at offset ${i}`);
        }
        steps.push({ kind: 'key', key: key as string });
        i = j + 2;
      } else {
        fail(text, `expected [*] or ["key"] at offset ${i}`);
      }
    } else {
      if (steps.length > 0) {
        if (ch !== '.') fail(text, `expected "." or "[" at offset ${i}`);
        i++;
      }
      let j = i;
      while (j < text.length && !NAME_STOP.test(text[j]!)) j++;
      if (j === i) fail(text, `empty key at offset ${i}`);
      const name = text.slice(i, j);
      if (name === '$' || name === '*') {
        fail(text, `unquoted "${name}" at offset ${i}: "$" is only valid as the whole path and arrays use [*]; quote a literal key as ["${name}"]`);
      }
      steps.push({ kind: 'key', key: name });
      i = j;
    }
    if (steps.length > maxDepth) fail(text, `has more than ${maxDepth} steps`);
  }
  for (const s of steps) {
    if (s.kind === 'key' && FORBIDDEN.has(s.key)) fail(text, `"${s.key}" is never a valid path segment`);
  }
  return Object.freeze({ text, steps: Object.freeze(steps), audience });
}

function canonical(p: FieldPath): string {
  return JSON.stringify(p.steps.map((s) => (s.kind === 'each' ? 0 : s.key)));
}

function isPrefix(a: readonly PathStep[], b: readonly PathStep[]): boolean {
  if (a.length > b.length) return false;
  return a.every((s, i) => {
    const t = b[i]!;
    return s.kind === t.kind && (s.kind === 'each' || s.key === (t as { key: string }).key);
  });
}

/** Parses one list of paths (a `fields` array, an audience's array or `bind`), refusing holes and non-strings. */
function parseList(list: unknown, where: string, limits: PolicyLimits, audience: string): FieldPath[] {
  if (!Array.isArray(list)) throw new PolicyInvalidError(`${where} must be an array of paths`);
  // An index loop, not map(): a sparse array's holes are bad paths too, not skipped.
  const paths: FieldPath[] = [];
  for (let i = 0; i < list.length; i++) {
    const f: unknown = list[i];
    if (typeof f !== 'string') throw new PolicyInvalidError(`${where}: path at index ${i} must be a string (got ${f === null ? 'null' : typeof f})`);
    paths.push(parsePath(f, limits.maxPathDepth ?? 32, limits.maxPathBytes ?? MAX_PATH_BYTES, audience));
  }
  return paths;
}

function ownKeys(o: object): string[] {
  return Object.keys(o);
}

/**
 * A validated, immutable field policy. Parse once at start-up and reuse.
 * @example
 * const policy = FieldPolicy.parse({ fields: ['card.number', 'accounts[*].iban'] });
 * const split = FieldPolicy.parse({ audiences: { pci: ['card.number'], pii: ['customer.ssn'] }, bind: ['id'] });
 */
export class FieldPolicy {
  /** Every sealed path, in policy order (audience by audience). */
  readonly paths: readonly FieldPath[];
  /** The audience names, in policy order (`['default']` for a `fields` policy). */
  readonly audiences: readonly string[];
  /** The bind paths: their plaintext values are bound into the tokens' `wsc`. Empty when none. */
  readonly bind: readonly FieldPath[];
  /** True when the policy was written with `audiences` (its JSON form keeps that shape). */
  readonly #named: boolean;

  private constructor(paths: FieldPath[], audiences: string[], bind: FieldPath[], named: boolean) {
    this.paths = Object.freeze(paths);
    this.audiences = Object.freeze(audiences);
    this.bind = Object.freeze(bind);
    this.#named = named;
  }

  /** The paths of one audience, in policy order (empty for a name the policy does not have). */
  pathsOf(audience: string): readonly FieldPath[] {
    return this.paths.filter((p) => p.audience === audience);
  }

  /**
   * Validates a policy given as an object, an array of paths or JSON text.
   * @throws PolicyInvalidError pointing at the bad path or audience
   */
  static parse(policy: FieldPolicyJson | readonly string[] | string, limits: PolicyLimits = {}): FieldPolicy {
    let obj: unknown = policy;
    if (typeof policy === 'string') {
      try {
        obj = JSON.parse(policy);
      } catch {
        throw new PolicyInvalidError('policy is not valid JSON');
      }
    }
    let paths: FieldPath[];
    let audiences: string[];
    let named = false;
    let bind: FieldPath[] = [];
    if (Array.isArray(obj)) {
      paths = parseList(obj, 'policy', limits, DEFAULT_AUDIENCE);
      audiences = [DEFAULT_AUDIENCE];
    } else {
      if (obj === null || typeof obj !== 'object') throw new PolicyInvalidError('policy must be an object with a "fields" array (or an "audiences" object) of paths');
      const o = obj as { fields?: unknown; audiences?: unknown; bind?: unknown };
      for (const k of ownKeys(o)) {
        if (k !== 'fields' && k !== 'audiences' && k !== 'bind') throw new PolicyInvalidError(`policy has an unknown member ${JSON.stringify(k)} (fields, audiences, bind)`);
      }
      if (o.fields !== undefined && o.audiences !== undefined) throw new PolicyInvalidError('a policy has "fields" or "audiences", not both');
      if (o.audiences !== undefined) {
        if (o.audiences === null || typeof o.audiences !== 'object' || Array.isArray(o.audiences)) {
          throw new PolicyInvalidError('policy "audiences" must be an object of audience name to paths');
        }
        named = true;
        audiences = ownKeys(o.audiences);
        if (audiences.length === 0) throw new PolicyInvalidError('policy "audiences" names no audience');
        paths = [];
        for (const name of audiences) {
          if (!AUDIENCE_RE.test(name)) throw new PolicyInvalidError(`audience name ${JSON.stringify(name.slice(0, 80))} is not 1-64 of A-Z a-z 0-9 . _ -`);
          if (FORBIDDEN.has(name)) throw new PolicyInvalidError(`audience name "${name}" is never valid (it names an object's prototype machinery)`);
          paths.push(...parseList((o.audiences as Record<string, unknown>)[name], `audience "${name}"`, limits, name));
        }
      } else {
        if (!Array.isArray(o.fields)) throw new PolicyInvalidError('policy must be an object with a "fields" array (or an "audiences" object) of paths');
        paths = parseList(o.fields, 'policy "fields"', limits, DEFAULT_AUDIENCE);
        audiences = [DEFAULT_AUDIENCE];
      }
      if (o.bind !== undefined) bind = parseList(o.bind, 'policy "bind"', limits, '');
    }
    const maxFields = limits.maxFields ?? 256;
    if (paths.length > maxFields) throw new PolicyInvalidError(`policy has ${paths.length} fields; the limit is ${maxFields}`);
    const seen = new Map<string, FieldPath>();
    for (const p of paths) {
      const c = canonical(p);
      const prev = seen.get(c);
      if (prev !== undefined) fail(p.text, prev.audience === p.audience ? `duplicates ${JSON.stringify(prev.text)}` : `is in audience "${p.audience}" and, as ${JSON.stringify(prev.text)}, in audience "${prev.audience}"`);
      seen.set(c, p);
    }
    for (const a of paths) {
      for (const b of paths) {
        if (a !== b && isPrefix(a.steps, b.steps)) fail(b.text, `lies inside ${JSON.stringify(a.text)}${a.audience !== b.audience ? ` (audience "${a.audience}")` : ''}, which is already sealed as one token`);
      }
    }
    const bound = new Set<string>();
    for (const b of bind) {
      if (b.steps.length === 0) fail(b.text, 'cannot be a bind path: "$" is the whole document');
      const c = canonical(b);
      if (bound.has(c)) fail(b.text, 'is bound twice');
      bound.add(c);
      for (const p of paths) {
        if (isPrefix(p.steps, b.steps)) fail(b.text, `cannot be bound: it lies at or inside policy path ${JSON.stringify(p.text)}, whose value is sealed`);
        if (isPrefix(b.steps, p.steps)) fail(b.text, `cannot be bound: policy path ${JSON.stringify(p.text)} lies inside it`);
      }
    }
    return new FieldPolicy(paths, audiences, bind, named);
  }

  /**
   * Reads and validates a policy JSON file (Node, Deno, Bun).
   * @throws PolicyInvalidError when the file cannot be read or is invalid
   */
  static fromFile(file: string, limits: PolicyLimits = {}): FieldPolicy {
    const fs = nodeBuiltin<typeof import('node:fs')>('node:fs');
    if (!fs) throw new PolicyInvalidError('FieldPolicy.fromFile needs a runtime with node:fs; use FieldPolicy.parse');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new PolicyInvalidError(`cannot read policy file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    return FieldPolicy.parse(text, limits);
  }

  /** The policy as JSON, in the shape it was written (`fields` or `audiences`, and `bind` when present). */
  toJSON(): FieldPolicyJson {
    const bind = this.bind.length > 0 ? { bind: this.bind.map((p) => p.text) } : {};
    if (!this.#named) return { fields: this.paths.map((p) => p.text), ...bind };
    const audiences: Record<string, string[]> = {};
    for (const name of this.audiences) audiences[name] = this.pathsOf(name).map((p) => p.text);
    return { audiences, ...bind };
  }
}
