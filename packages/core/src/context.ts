/**
 * The `wsc` context binding: base64url of the first 16 bytes of SHA-256 over
 * the UTF-8 of the compact JSON array of the context's `[key, value]` pairs,
 * sorted by key in code-unit order (docs/design.md).
 */
import { encode } from './base64url.ts';
import type { Engine } from './engine.ts';
import { defaultEngine } from './engine.ts';
import { ArgumentInvalidError } from './errors.ts';

/** A context both sides know and that is not sent: Kafka topic, tenant, route. */
export type Context = Readonly<Record<string, string>>;

const cache = new WeakMap<object, string>();
const utf8 = new TextEncoder();

/**
 * Computes the `wsc` digest of a context.
 * @throws ArgumentInvalidError `ERR_ARGUMENT_INVALID` when the context is not an object of string values
 */
export function contextDigest(context: Context, engine: Engine = defaultEngine): string {
  if (context === null || typeof context !== 'object' || Array.isArray(context)) {
    throw new ArgumentInvalidError('context must be an object of string values, e.g. { topic: "payments" }');
  }
  const hit = cache.get(context);
  if (hit !== undefined) return hit;
  const entries = Object.entries(context);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') {
      throw new ArgumentInvalidError(`context value for "${k}" must be a string (got ${typeof v})`);
    }
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const digest = engine.sha256(utf8.encode(JSON.stringify(entries)));
  const wsc = encode(digest.subarray(0, 16));
  if (Object.isFrozen(context)) cache.set(context, wsc);
  return wsc;
}
