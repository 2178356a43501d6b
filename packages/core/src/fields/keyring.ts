/**
 * Keyrings: which keys serve which audience of a policy. A bare key set (or
 * provider) serves a policy with one audience; a keyring names them
 * (`{ pci: pciKeys, pii: piiProvider }`). Providers are asked for their
 * current key set only when an audience is first needed in a call, so one
 * audience's outage fails only the documents that hold its fields.
 */
import { PrivateKeySet, PublicKeySet } from '../asymmetric/keysets.ts';
import { ArgumentInvalidError } from '../errors.ts';
import { KeySet } from '../keyset.ts';
import type { FieldPolicy } from '../policy.ts';
import type { KeySource } from '../provider.ts';

/** The keys of one audience at one moment: shared (seal and open), public (seal only) or private (open, and seal). */
export type AudienceKeySet = KeySet | PublicKeySet | PrivateKeySet;

/** Something that hands out an audience's current keys (a refreshing provider). */
export interface AudienceKeyProvider {
  /** The keys in force now; throws `ERR_KEY_SOURCE` when none are usable. */
  current(): AudienceKeySet;
}

/**
 * Keys for one audience: a shared {@link KeySet} (or its provider), a
 * `PublicKeySet` (a writer that cannot read), a `PrivateKeySet` (a reader),
 * or a provider of either.
 */
export type AudienceKeys = KeySource | AudienceKeySet | AudienceKeyProvider;

/** Audience name → its keys. A reader holds only the audiences it may open. */
export type Keyring = Readonly<Record<string, AudienceKeys>>;

/** What field encryption takes as keys: a keyring, or one key source for a single-audience policy. */
export type FieldKeys = AudienceKeys | Keyring;

function isKeySet(x: unknown): x is AudienceKeySet {
  return x instanceof KeySet || x instanceof PublicKeySet || x instanceof PrivateKeySet;
}

function isKeySource(x: unknown): x is AudienceKeys {
  return isKeySet(x) || (typeof x === 'object' && x !== null && typeof (x as { current?: unknown }).current === 'function');
}

/** @internal One call's view of a keyring: audience → key set, resolved on first use. */
export class KeyringView {
  readonly #sources = new Map<string, AudienceKeys>();
  readonly #resolved = new Map<string, AudienceKeySet>();

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
      if (!isKeySource(source)) throw new ArgumentInvalidError(`the keyring's entry for audience "${name}" is not a KeySet, PublicKeySet, PrivateKeySet or key provider`);
      this.#sources.set(name, source);
    }
  }

  /** True when the keyring has keys for `audience`. */
  has(audience: string): boolean {
    return this.#sources.has(audience);
  }

  /** The keys in force for `audience` (asked of its provider once per call); undefined when the keyring lacks it. */
  keys(audience: string): AudienceKeySet | undefined {
    let set = this.#resolved.get(audience);
    if (set === undefined) {
      const source = this.#sources.get(audience);
      if (source === undefined) return undefined;
      set = isKeySet(source) ? source : (source as AudienceKeyProvider).current();
      if (!isKeySet(set)) throw new ArgumentInvalidError(`the provider for audience "${audience}" did not hand out a key set`);
      this.#resolved.set(audience, set);
    }
    return set;
  }
}
