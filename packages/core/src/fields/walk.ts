/**
 * Walking a policy path through a document: every location it reaches, and
 * every member of the wrong shape on the way (docs/format.md §6.3).
 */
import { PlaintextFieldError } from '../errors.ts';
import type { FieldPath } from '../policy.ts';
import { hasOwn } from './document.ts';

/**
 * @internal Called for each location: `holder[key]`, its concrete path (when
 * built), and the indices taken at the path's `[*]` steps so far (a shared
 * array: copy it to keep it).
 */
export type Visit = (holder: Record<string, unknown> | unknown[], key: string | number, concrete: string, indices: readonly number[]) => void;

/**
 * @internal Called when a walk meets a present member of the wrong shape where
 * the policy expects an object (a key step) or an array (a `[*]` step): an
 * array where an object belongs, an object where an array belongs, or a
 * string, number or boolean where either belongs. `concrete` is that member's
 * concrete path (`$` for the document itself; empty when the walk does not
 * build concrete paths). `null` counts as absent, never as a misfit.
 */
export type Misfit = (concrete: string, expected: 'object' | 'array', found: string) => void;

/** @internal The JSON kind of a value, for messages (never the value itself). */
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
    visit(box as unknown as Record<string, unknown>, 'v', '$', []);
    return;
  }
  const indices: number[] = [];
  const go = (holder: unknown, i: number, at: string): void => {
    if (holder === null || holder === undefined) return;
    const step = steps[i]!;
    const last = i === steps.length - 1;
    if (step.kind === 'each') {
      if (!Array.isArray(holder)) {
        misfit?.(concrete && at === '' ? '$' : at, 'array', kindOf(holder));
        return;
      }
      const depth = indices.length;
      for (let j = 0; j < holder.length; j++) {
        indices[depth] = j;
        const c = concrete ? `${at}[${j}]` : '';
        if (last) visit(holder, j, c, indices);
        else go(holder[j], i + 1, c);
      }
      indices.length = depth;
      return;
    }
    if (typeof holder !== 'object' || Array.isArray(holder)) {
      misfit?.(concrete && at === '' ? '$' : at, 'object', kindOf(holder));
      return;
    }
    if (!hasOwn(holder, step.key)) return;
    const c = !concrete ? '' : at === '' ? step.key : `${at}.${step.key}`;
    if (last) visit(holder as Record<string, unknown>, step.key, c, indices);
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

/** @internal The error for a policy path that meets a member of the wrong shape. */
export function shapeError(path: FieldPath, at: string, expected: 'object' | 'array', found: string, sealing: boolean): PlaintextFieldError {
  return new PlaintextFieldError(
    at,
    `field "${at}" is ${found} where policy path "${path.text}" expects ${expected === 'array' ? 'an array' : 'an object'}: ` +
      (sealing
        ? 'its values would leave unsealed, so nothing was sealed'
        : 'in strict mode a policy path is either absent or holds a token where the policy says'),
  );
}


/** @internal A JWE compact token: a JSON-object header (`eyJ` = base64url of `{"`) and five segments. */
export function looksLikeToken(v: unknown): v is string {
  if (typeof v !== 'string' || !v.startsWith('eyJ')) return false;
  let dots = 0;
  for (let i = v.indexOf('.'); i >= 0; i = v.indexOf('.', i + 1)) if (++dots > 4) return false;
  return dots === 4;
}
