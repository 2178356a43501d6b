/**
 * Keyrings: which keys serve which audience of a policy. A bare key set (or
 * provider) serves a policy with one audience; a keyring names them
 * (`{ pci: pciKeys, pii: piiProvider }`). Providers are asked for their
 * current key set only when an audience is first needed in a call, so one
 * audience's outage fails only the documents that hold its fields.
 */
import { ArgumentInvalidError } from '../errors.ts';
import { KeySet } from '../keyset.ts';
import type { FieldPolicy } from '../policy.ts';
import type { KeySource } from '../provider.ts';
import { currentKeys } from '../provider.ts';

/** Keys for one audience: a key set or a provider of key sets. */
export type AudienceKeys = KeySource;

/** Audience name → its keys. A reader holds only the audiences it may open. */
export type Keyring = Readonly<Record<string, AudienceKeys>>;

/** What field encryption takes as keys: a keyring, or one key source for a single-audience policy. */
export type FieldKeys = AudienceKeys | Keyring;

function isKeySource(x: unknown): x is AudienceKeys {
  return x instanceof KeySet || (typeof x === 'object' && x !== null && typeof (x as { current?: unknown }).current === 'function');
}

/** @internal One call's view of a keyring: audience → key set, resolved on first use. */
export class KeyringView {
  readonly #sources = new Map<string, AudienceKeys>();
  readonly #resolved = new Map<string, KeySet>();

  constructor(keys: FieldKeys, policy: FieldPolicy) {
    if (isKeySource(keys)) {
      if (policy.audiences.length !== 1) {
        throw new ArgumentInvalidError(`the policy has audiences ${policy.audiences.map((a) => `"${a}"`).join(', ')}: pass a keyring ({ name: keys, ... }), not one key set`);
      }
      this.#sources.set(policy.audiences[0]!, keys);
      return;
    }
    if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) throw new ArgumentInvalidError('keys must be a KeySet, a key provider or a keyring object');
    for (const name of Object.keys(keys)) {
      if (!policy.audiences.includes(name)) {
        throw new ArgumentInvalidError(`the keyring names audience "${name.slice(0, 64)}", which the policy does not have (${policy.audiences.join(', ')})`);
      }
      const source = (keys as Keyring)[name];
      if (!isKeySource(source)) throw new ArgumentInvalidError(`the keyring's entry for audience "${name}" is not a KeySet or a key provider`);
      this.#sources.set(name, source);
    }
  }

  /** True when the keyring has keys for `audience`. */
  has(audience: string): boolean {
    return this.#sources.has(audience);
  }

  /** The key set in force for `audience` (asked of its provider once per call); undefined when the keyring lacks it. */
  keys(audience: string): KeySet | undefined {
    let set = this.#resolved.get(audience);
    if (set === undefined) {
      const source = this.#sources.get(audience);
      if (source === undefined) return undefined;
      set = currentKeys(source);
      this.#resolved.set(audience, set);
    }
    return set;
  }
}
