/**
 * Choosing a whole-payload profile: by media type, then (when several of a
 * route's profiles share it, as shared-key and public-key JWE share
 * `application/jose`) by asking each whether the body is theirs.
 */
import type { PayloadProfile } from '../profiles/types.ts';

/** The route's profiles whose media type is `type` (an essence, lower-case), in route order. */
export function profilesFor(list: readonly PayloadProfile[], type: string | undefined): readonly PayloadProfile[] {
  if (type === undefined) return NONE;
  // Route lists are fixed at start-up: the answer per media type is computed once.
  let byType = BY_TYPE.get(list);
  if (byType === undefined) BY_TYPE.set(list, (byType = new Map()));
  let found = byType.get(type);
  if (found === undefined) {
    found = Object.freeze(list.filter((p) => p.mediaType.toLowerCase() === type));
    // Only the types some profile has are kept (any request can name any type).
    if (found.length > 0) byType.set(type, found);
  }
  return found;
}
const NONE: readonly PayloadProfile[] = Object.freeze([]);
const BY_TYPE = new WeakMap<readonly PayloadProfile[], Map<string, readonly PayloadProfile[]>>();

/**
 * The profile that opens `body`: the only candidate; else the first whose
 * `claims(body)` is true; else the first without `claims`; else the first.
 */
export function chooseProfile(candidates: readonly PayloadProfile[], body: Uint8Array | string): PayloadProfile {
  if (candidates.length === 1) return candidates[0]!;
  let fallback: PayloadProfile | undefined;
  for (const p of candidates) {
    if (typeof p.claims !== 'function') {
      fallback ??= p;
      continue;
    }
    let mine = false;
    try {
      mine = p.claims(body);
    } catch {
      mine = false;
    }
    if (mine) return p;
  }
  return fallback ?? candidates[0]!;
}

/** Distinct media types of a profile list, in order. */
export function mediaTypesOf(list: readonly PayloadProfile[]): string[] {
  return [...new Set(list.map((p) => p.mediaType.toLowerCase()))];
}
