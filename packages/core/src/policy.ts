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
}

/** A field policy as written in JSON. */
export interface FieldPolicyJson {
  fields: string[];
}

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

function parsePath(text: string, maxDepth: number, maxBytes: number): FieldPath {
  if (text === '$') return Object.freeze({ text, steps: Object.freeze([]) });
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
  return Object.freeze({ text, steps: Object.freeze(steps) });
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

/**
 * A validated, immutable field policy. Parse once at start-up and reuse.
 * @example
 * const policy = FieldPolicy.parse({ fields: ['card.number', 'accounts[*].iban'] });
 */
export class FieldPolicy {
  /** The validated paths, in policy order. */
  readonly paths: readonly FieldPath[];

  private constructor(paths: FieldPath[]) {
    this.paths = Object.freeze(paths);
  }

  /**
   * Validates a policy given as an object, an array of paths or JSON text.
   * @throws PolicyInvalidError pointing at the bad path
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
    const fields = Array.isArray(obj) ? obj : (obj as { fields?: unknown } | null)?.fields;
    if (!Array.isArray(fields)) throw new PolicyInvalidError('policy must be an object with a "fields" array of paths');
    const maxFields = limits.maxFields ?? 256;
    if (fields.length > maxFields) throw new PolicyInvalidError(`policy has ${fields.length} fields; the limit is ${maxFields}`);
    // An index loop, not map(): a sparse array's holes are bad paths too, not skipped.
    const paths: FieldPath[] = [];
    for (let i = 0; i < fields.length; i++) {
      const f: unknown = fields[i];
      if (typeof f !== 'string') throw new PolicyInvalidError(`policy path at index ${i} must be a string (got ${f === null ? 'null' : typeof f})`);
      paths.push(parsePath(f, limits.maxPathDepth ?? 32, limits.maxPathBytes ?? MAX_PATH_BYTES));
    }
    const seen = new Map<string, string>();
    for (const p of paths) {
      const c = canonical(p);
      const prev = seen.get(c);
      if (prev !== undefined) fail(p.text, `duplicates ${JSON.stringify(prev)}`);
      seen.set(c, p.text);
    }
    for (const a of paths) {
      for (const b of paths) {
        if (a !== b && isPrefix(a.steps, b.steps)) fail(b.text, `lies inside ${JSON.stringify(a.text)}, which is already sealed as one token`);
      }
    }
    return new FieldPolicy(paths);
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

  /** The policy as JSON (`{ fields: [...] }`). */
  toJSON(): FieldPolicyJson {
    return { fields: this.paths.map((p) => p.text) };
  }
}
