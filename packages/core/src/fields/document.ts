/**
 * Documents as field encryption sees them: JSON copied without ever touching
 * a prototype, with limits on depth, size and tokens.
 */
import { LimitExceededError, PolicyInvalidError } from '../errors.ts';

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

/** @internal */
export const DEFAULTS = { maxDepth: 64, maxNodes: 100_000, maxTokens: 10_000 };

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
function cloneValue(value: unknown, depth: number, st: CloneState): unknown {
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
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return cloneValue((value as { toJSON(): unknown }).toJSON(), depth, st);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = dropped(value[i]) ? null : cloneValue(value[i], depth + 1, st);
    return out;
  }
  const out: Record<string, unknown> = {};
  // for-in + own check visits exactly Object.keys' keys, in the same order, without allocating the key array.
  for (const k in value) {
    if (!hasOwn(value, k)) continue;
    const v = (value as Record<string, unknown>)[k];
    if (!dropped(v)) setOwn(out, k, cloneValue(v, depth + 1, st));
  }
  return out;
}

/** Values JSON.stringify leaves out of objects (and writes as null in arrays). */
function dropped(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** @internal */
export function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}


/** @internal A prototype-safe copy of `doc` in a box (so `$` has a holder), within `limits`. */
export function boxed(doc: unknown, limits: Required<DocumentLimits>): { v: unknown } {
  return { v: cloneValue(doc, 0, { nodes: 0, maxNodes: limits.maxNodes, maxDepth: limits.maxDepth }) };
}

/** @internal The limits in force: the caller's over the defaults. */
export function limitsOf(limits: DocumentLimits | undefined): Required<DocumentLimits> {
  return { ...DEFAULTS, ...limits };
}

/** @internal */
export function tooMany(max: number): never {
  throw new LimitExceededError(`document has more than ${max} policy values (limits.maxTokens)`);
}
