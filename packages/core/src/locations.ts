/**
 * Where a field policy's paths land in a parsed document, found with the same
 * walk that encryptFields and decryptFields use, for tools that read or
 * rewrite sealed documents without opening them (the CLI's re-encryption,
 * key-usage scans).
 */
import type { FieldPath, FieldPolicy } from './policy.ts';
import { looksLikeToken as isToken, walk } from './fields/walk.ts';

/** One place a policy path reaches: `holder[key]` (for `$`, the box itself under `v`). */
export interface PolicyLocation {
  /** The object or array holding the value. */
  readonly holder: Record<string, unknown> | unknown[];
  /** The key or index of the value in `holder`. */
  readonly key: string | number;
  /** The policy path (its `text` is the `wsf` a token there carries). */
  readonly path: FieldPath;
  /** The concrete path, e.g. `accounts[1].iban` (`$` for the document). */
  readonly concrete: string;
}

/**
 * A member of the wrong shape on a policy path: an object where the policy
 * has `[*]`, an array or a scalar where it expects an object. Its values
 * cannot be sealed per the policy; strict readers refuse it.
 */
export interface PolicyMisfit {
  /** The policy path that met it. */
  readonly path: FieldPath;
  /** The member's concrete path (`$` for the document). */
  readonly concrete: string;
  /** What the policy expects there. */
  readonly expected: 'object' | 'array';
  /** What the document has there (`an object`, `a string`, ...); never the value. */
  readonly found: string;
}

/**
 * Every location of every policy path in `box.v`, in policy order then
 * document order. Members of the wrong shape are not entered; they are
 * pushed to `misfits` when given. `null` on the way counts as absent.
 * @example
 * const misfits: PolicyMisfit[] = [];
 * for (const loc of policyLocations({ v: doc }, policy, misfits)) console.log(loc.concrete);
 */
export function policyLocations(box: { v: unknown }, policy: FieldPolicy, misfits?: PolicyMisfit[]): PolicyLocation[] {
  const out: PolicyLocation[] = [];
  for (const path of policy.paths) {
    walk(
      box,
      path,
      (holder, key, concrete) => {
        if ((holder as Record<string | number, unknown>)[key] !== undefined) out.push({ holder, key, path, concrete });
      },
      true,
      misfits ? (concrete, expected, found) => misfits.push({ path, concrete, expected, found }) : undefined,
    );
  }
  return out;
}

/**
 * True when `v` has the shape of a JWE compact token (a JSON-object header,
 * `eyJ`, and exactly five segments): what field decryption treats as a token
 * rather than plaintext. Nothing is decoded or checked.
 */
export function looksLikeToken(v: unknown): v is string {
  return isToken(v);
}
