/**
 * Counting a document's values for metrics, by audience and kid, without a
 * concrete path, a record key or a token in the result: what the codecs of
 * `@wireseal/http` and `@wireseal/kafka` turn into counter attributes. No
 * metrics library here; the codecs bring their own.
 */
import type { FieldPolicy } from '../policy.ts';
import type { FieldKeys } from './keyring.ts';
import { KeyringView } from './keyring.ts';

/** Values of one audience under one kid (either may be unknown). */
export interface ValueTally {
  /** The audience of the policy paths the values sat at; undefined when a path is ambiguous. */
  readonly audience: string | undefined;
  /** The kid that sealed or opened them; undefined for values that no key touched (passed through, left sealed). */
  readonly kid: string | undefined;
  readonly count: number;
}

/** Array indices in a concrete path (`accounts[1].iban`), as the policy writes them: `[*]`. */
const INDEX = /\[\d+\]/g;

/** Per policy: concrete path with its indices replaced → audience (null: two audiences share the shape). */
const shapes = new WeakMap<FieldPolicy, Map<string, string | null>>();

function shapesOf(policy: FieldPolicy): Map<string, string | null> {
  let map = shapes.get(policy);
  if (map === undefined) {
    map = new Map();
    for (const path of policy.paths) {
      // Rendered as the walk renders concrete paths: keys joined with dots, each [*] as an index.
      let at = '';
      for (const step of path.steps) at = step.kind === 'each' ? `${at}[0]` : at === '' ? step.key : `${at}.${step.key}`;
      const shape = (at === '' ? '$' : at).replace(INDEX, '[*]');
      const prev = map.get(shape);
      map.set(shape, prev === undefined || prev === path.audience ? path.audience : null);
    }
    shapes.set(policy, map);
  }
  return map;
}

/**
 * The audience of the policy path a concrete path (`accounts[1].iban`, as
 * `decryptFields` and `encryptFieldsWithReport` report them) belongs to;
 * undefined when it matches none or, in a contrived policy, two.
 * @internal
 */
export function audienceOf(policy: FieldPolicy, concrete: string): string | undefined {
  if (policy.audiences.length === 1) return policy.audiences[0];
  return shapesOf(policy).get(concrete.replace(INDEX, '[*]')) ?? undefined;
}

/**
 * A document's values by audience and kid: `paths` are the concrete paths of
 * one outcome (sealed, decrypted, passed through, left sealed), `kids` the
 * result's tokens per kid when the outcome touched keys. With one audience in
 * play every kid is that audience's; with several, a kid goes to the one
 * audience among them whose keys hold it (a kid that two of them hold, or
 * none, is counted without an audience). Counts always add up to
 * `paths.length`.
 * @internal
 */
export function tallyValues(policy: FieldPolicy, keys: FieldKeys | undefined, paths: readonly string[], kids?: Readonly<Record<string, number>>): ValueTally[] {
  if (paths.length === 0) return [];
  const left = new Map<string | undefined, number>();
  for (const p of paths) {
    const a = audienceOf(policy, p);
    left.set(a, (left.get(a) ?? 0) + 1);
  }
  const out: ValueTally[] = [];
  const kidList = kids ? Object.keys(kids) : [];
  if (kidList.length > 0) {
    const audiences = [...left.keys()].filter((a): a is string => a !== undefined);
    let view: KeyringView | undefined;
    const holds = (audience: string, kid: string): boolean => {
      try {
        view ??= new KeyringView(keys!, policy);
        return view.keys(audience)?.has(kid) === true;
      } catch {
        return false; // keys gone stale since: the kid stays without an audience
      }
    };
    for (const kid of kidList) {
      let n = kids![kid]!;
      const owners = left.size === 1 ? [...left.keys()] : keys === undefined ? [] : audiences.filter((a) => holds(a, kid));
      const audience = owners.length === 1 ? owners[0] : undefined;
      const available = left.get(audience) ?? 0;
      const take = Math.min(n, available);
      if (take > 0) {
        out.push({ audience, kid, count: take });
        left.set(audience, available - take);
        n -= take;
      }
      // A kid whose audience could not be told: its values are counted without an audience.
      let untold = 0;
      for (const [a, m] of left) {
        if (n === 0) break;
        const t = Math.min(n, m);
        left.set(a, m - t);
        n -= t;
        untold += t;
      }
      if (untold > 0) out.push({ audience: undefined, kid, count: untold });
    }
  }
  for (const [audience, count] of left) if (count > 0) out.push({ audience, kid: undefined, count });
  return out;
}
