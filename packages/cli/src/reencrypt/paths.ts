/**
 * Where the policy paths land in a parsed document, with the same rules as
 * the core's field codec: a key step needs an own property of a non-array
 * object, `[*]` needs an array, `$` is the document itself.
 */
import type { FieldPath, FieldPolicy } from '@wireseal/core';

/** A location: `holder[key]`. For `$` the holder is a box `{ v: doc }`. */
export interface Location {
  holder: Record<string, unknown> | unknown[];
  key: string | number;
  /** The policy path text (the `wsf` a token there carries). */
  path: string;
  /** The concrete path, e.g. `accounts[1].iban` (`$` for the document). */
  concrete: string;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function collect(box: { v: unknown }, path: FieldPath, out: Location[]): void {
  const steps = path.steps;
  if (steps.length === 0) {
    out.push({ holder: box as unknown as Record<string, unknown>, key: 'v', path: path.text, concrete: '$' });
    return;
  }
  const go = (holder: unknown, i: number, concrete: string): void => {
    const step = steps[i]!;
    const last = i === steps.length - 1;
    if (step.kind === 'each') {
      if (!Array.isArray(holder)) return;
      for (let j = 0; j < holder.length; j++) {
        const c = `${concrete}[${j}]`;
        if (last) out.push({ holder, key: j, path: path.text, concrete: c });
        else go(holder[j], i + 1, c);
      }
      return;
    }
    if (holder === null || typeof holder !== 'object' || Array.isArray(holder) || !hasOwn(holder, step.key)) return;
    const c = concrete === '' ? step.key : `${concrete}.${step.key}`;
    if (last) out.push({ holder: holder as Record<string, unknown>, key: step.key, path: path.text, concrete: c });
    else go((holder as Record<string, unknown>)[step.key], i + 1, c);
  };
  go(box.v, 0, '');
}

/** Every location of every policy path in `box.v`, in policy order then document order. */
export function policyLocations(box: { v: unknown }, policy: FieldPolicy): Location[] {
  const out: Location[] = [];
  for (const p of policy.paths) collect(box, p, out);
  return out;
}

/** The value at a location. */
export function valueAt(loc: Location): unknown {
  return (loc.holder as Record<string | number, unknown>)[loc.key];
}

/** Replaces the value at a location (own data property, even for `__proto__`). */
export function setAt(loc: Location, value: unknown): void {
  if (typeof loc.key === 'number') (loc.holder as unknown[])[loc.key] = value;
  else Object.defineProperty(loc.holder, loc.key, { value, enumerable: true, writable: true, configurable: true });
}

/** A JWE compact token as the core recognises one: `eyJ` (a JSON-object header) and exactly four dots. */
export function looksLikeToken(v: unknown): v is string {
  if (typeof v !== 'string' || !v.startsWith('eyJ')) return false;
  let dots = 0;
  for (let i = v.indexOf('.'); i >= 0; i = v.indexOf('.', i + 1)) if (++dots > 4) return false;
  return dots === 4;
}
