/**
 * Record binding (docs/format.md §6.6): plaintext values of the document at
 * the policy's `bind` paths join each token's context before `wsc` is
 * computed, as `"$" + bind path` → JSON text of the value. A bind path under
 * `[*]` binds only the tokens under the same `[*]`, each to the value in its
 * own array element; a bind path outside any array binds every token.
 */
import { contextDigest } from '../context.ts';
import type { Context } from '../context.ts';
import type { Engine } from '../engine.ts';
import { ArgumentInvalidError, ContextMismatchError, FieldMissingError, PolicyInvalidError } from '../errors.ts';
import type { FieldPath, FieldPolicy, PathStep } from '../policy.ts';
import { hasOwn } from './document.ts';
import { kindOf } from './walk.ts';

/** A bind path that applies to a policy path, with how many of its `[*]` indices it shares. */
interface BindRef {
  readonly path: FieldPath;
  /** The `[*]` steps of the bind path (all of them lie in the shared prefix). */
  readonly eachCount: number;
}

const plans = new WeakMap<FieldPolicy, Map<FieldPath, readonly BindRef[]>>();

function sameStep(a: PathStep, b: PathStep): boolean {
  return a.kind === b.kind && (a.kind === 'each' || a.key === (b as { key: string }).key);
}

/** The binds that apply to each policy path: those with no `[*]`, and those whose steps up to their last `[*]` are a prefix of the path. */
function planOf(policy: FieldPolicy): Map<FieldPath, readonly BindRef[]> {
  let plan = plans.get(policy);
  if (plan) return plan;
  plan = new Map();
  for (const p of policy.paths) {
    const refs: BindRef[] = [];
    for (const b of policy.bind) {
      let lastEach = -1;
      b.steps.forEach((s, i) => {
        if (s.kind === 'each') lastEach = i;
      });
      const shared = b.steps.slice(0, lastEach + 1);
      if (shared.length <= p.steps.length && shared.every((s, i) => sameStep(s, p.steps[i]!))) {
        refs.push({ path: b, eachCount: b.steps.filter((s) => s.kind === 'each').length });
      }
    }
    plan.set(p, Object.freeze(refs));
  }
  plans.set(policy, plan);
  return plan;
}

/** @internal Refuses caller context keys that start with `$` (they are reserved for bindings). */
export function checkCallerContext(context: Context | undefined): void {
  if (context === undefined || context === null || typeof context !== 'object') return;
  for (const k of Object.keys(context)) {
    if (k.startsWith('$')) throw new ArgumentInvalidError(`context key ${JSON.stringify(k.slice(0, 64))} starts with "$", which is reserved for record bindings`);
  }
}

/** The value at a bind path, following `indices` at its `[*]` steps. */
function boundValue(root: unknown, path: FieldPath, indices: readonly number[]): unknown {
  let v: unknown = root;
  let e = 0;
  for (const s of path.steps) {
    if (v === null || typeof v !== 'object') return undefined;
    if (s.kind === 'each') {
      if (!Array.isArray(v)) return undefined;
      v = v[indices[e++]!];
    } else {
      if (Array.isArray(v) || !hasOwn(v, s.key)) return undefined;
      v = (v as Record<string, unknown>)[s.key];
    }
  }
  return v;
}

/**
 * @internal Computes `wsc` per token for one call: the caller's context plus
 * the bindings that apply to the token's path, digests cached per distinct
 * set of bound values.
 */
export class Binder {
  readonly #plan: Map<FieldPath, readonly BindRef[]>;
  readonly #base: Context | undefined;
  readonly #baseWsc: string | undefined;
  readonly #engine: Engine;
  readonly #sealing: boolean;
  readonly #cache = new Map<string, string>();

  constructor(policy: FieldPolicy, context: Context | undefined, engine: Engine, sealing: boolean) {
    checkCallerContext(context);
    this.#plan = planOf(policy);
    this.#base = context;
    this.#engine = engine;
    this.#sealing = sealing;
    this.#baseWsc = context !== undefined ? contextDigest(context, engine) : undefined;
  }

  /** The `wsc` for a token of `path` reached through `indices` in `root`. */
  wsc(path: FieldPath, root: unknown, indices: readonly number[]): string | undefined {
    const refs = this.#plan.get(path);
    if (refs === undefined || refs.length === 0) return this.#baseWsc;
    const pairs: Record<string, string> = this.#base ? { ...this.#base } : {};
    for (const ref of refs) {
      const value = boundValue(root, ref.path, indices);
      if (value === undefined || value === null || (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')) {
        this.#fail(ref.path, value);
      }
      pairs[`$${ref.path.text}`] = JSON.stringify(value);
    }
    const key = JSON.stringify(pairs);
    let wsc = this.#cache.get(key);
    if (wsc === undefined) {
      wsc = contextDigest(pairs, this.#engine);
      this.#cache.set(key, wsc);
    }
    return wsc;
  }

  #fail(path: FieldPath, value: unknown): never {
    const what = value === undefined ? 'is absent' : `is ${kindOf(value)}, not a string, number or boolean`;
    if (!this.#sealing) throw new ContextMismatchError(`bind path "${path.text}" ${what}, so the tokens bound to it cannot be checked`);
    if (value === undefined) throw new FieldMissingError([path.text], `bind path "${path.text}" ${what}: every token it binds needs its value; nothing was sealed`);
    throw new PolicyInvalidError(`bind path "${path.text}" ${what}; nothing was sealed`);
  }
}
