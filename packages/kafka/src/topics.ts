/**
 * Per-topic configuration: which topics carry field-encrypted JSON, which
 * carry whole encrypted values, and which are plaintext on purpose. Resolved
 * once per topic name and cached.
 */
import type { Context, DecryptMode, DocumentLimits, FieldKeys, FieldPolicyJson, KeySource, Keyring, SymmetricAlg } from '@wireseal/core';
import { FieldPolicy, KeySet } from '@wireseal/core';
import { PolicyInvalidError } from '@wireseal/core/errors';

/** A topic whose record values are JSON documents with the policy's fields sealed as tokens. */
export interface FieldsTopicConfig {
  /** Field mode. */
  readonly mode: 'fields';
  /** The fields to seal: a parsed {@link FieldPolicy}, `{ fields: [...] }`, or an array of paths. */
  readonly policy: FieldPolicy | FieldPolicyJson | readonly string[];
  /** `strict` (default): plaintext at a policy path is a failure. `migrate`: it passes through (counted). */
  readonly decryptMode?: DecryptMode;
  /** `A256KW` (default; a content key held for many records, within the codec's `reuseContentKey` bounds) or `dir`. */
  readonly alg?: SymmetricAlg;
  /** Topic name bound into `wsc`, when it differs from the topic (e.g. a mirrored `us-east.payments`). */
  readonly contextTopic?: string;
  /** Document limits (depth, nodes, tokens), as for `encryptFields`/`decryptFields`. */
  readonly limits?: DocumentLimits;
  /**
   * Policy paths every record must have a value at: `true` for all of them, or
   * a list of policy paths (written exactly as in the policy). Applied both
   * ways: a record without one fails to encode (`ERR_FIELD_MISSING`, nothing is
   * sent) and a consumed record without one is a record failure (dead-lettered
   * with `ERR_FIELD_MISSING` by default). A name that is not a policy path is
   * `ERR_POLICY_INVALID` when the topic is configured. Default: none (a path
   * that matches nothing is skipped).
   */
  readonly requireMatch?: boolean | readonly string[];
  /**
   * This topic's keys, instead of the codec's: a key set or provider (a
   * policy with one audience), or a keyring (`{ pci: pciKeys, pii: piiKeys }`)
   * whose audiences are all audiences of this topic's policy. `{}` opens
   * nothing (every token is handed on sealed). Default: the codec's `keys`.
   */
  readonly keys?: FieldKeys;
}

/** A topic whose record values are raw ciphertext; the rest of the JWE travels in the `wireseal-jwe` header. */
export interface WholeTopicConfig {
  /** Whole-value mode. */
  readonly mode: 'whole';
  /** Media type of the plaintext, sealed as `cty` (e.g. `application/json`). */
  readonly cty?: string;
  /** `A256KW` (default) or `dir` (54 bytes smaller per record; mind the per-key message bound). */
  readonly alg?: SymmetricAlg;
  /** `strict` (default): a record without wireseal headers is a failure. `migrate`: it passes through (counted). */
  readonly decryptMode?: DecryptMode;
  /** Topic name bound into `wsc`, when it differs from the topic. */
  readonly contextTopic?: string;
  /**
   * This topic's keys, instead of the codec's: a `KeySet` or a provider of
   * one. Whole values have no audiences, so a keyring is refused here (and a
   * codec whose `keys` are a keyring needs this on every whole-value topic).
   */
  readonly keys?: KeySource;
}

/** A topic that is plaintext on purpose: records pass both ways untouched. */
export interface PlainTopicConfig {
  /** Plaintext, explicitly. */
  readonly mode: 'plain';
}

/** How one topic is encoded. */
export type TopicConfig = FieldsTopicConfig | WholeTopicConfig | PlainTopicConfig;

/**
 * Topic configurations by exact name, or a function from a topic name to its
 * configuration (for patterns). A function's answer is cached per topic name,
 * so it must be deterministic. A topic without a configuration is an error
 * (`ERR_POLICY_INVALID`), never silently plaintext.
 */
export type TopicConfigs = Readonly<Record<string, TopicConfig>> | ((topic: string) => TopicConfig | undefined);

/** @internal A topic configuration, validated and ready to use. */
export interface ResolvedTopic {
  readonly topic: string;
  readonly mode: 'fields' | 'whole' | 'plain';
  readonly policy: FieldPolicy | undefined;
  readonly decryptMode: DecryptMode;
  readonly alg: SymmetricAlg;
  readonly cty: string | undefined;
  readonly limits: DocumentLimits | undefined;
  /** Fields mode: `true`, or a frozen list of policy paths; `undefined` when none is required. */
  readonly requireMatch: true | readonly string[] | undefined;
  /** Frozen `{ topic }`, so core caches its digest. */
  readonly context: Context;
  /**
   * Fields mode: a key source (one-audience policy) or a frozen keyring of
   * this policy's audiences only. Whole mode: a key source. Plain: undefined.
   */
  readonly keys: FieldKeys | undefined;
  /** True when the topic has its own `keys` (not the codec's). */
  readonly ownKeys: boolean;
}

/**
 * @internal True for a keyring (`{ audience: keys }`): a plain object without
 * a `current()` method. Key sets (`KeySet`, `PublicKeySet`, `PrivateKeySet`)
 * are class instances and providers have `current()`, so neither is one.
 */
export function isKeyring(x: unknown): x is Keyring {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (x as { current?: unknown }).current !== 'function';
}

/** @internal True for what may serve one audience: a key set instance of any kind, or a provider. */
export function isKeySource(x: unknown): boolean {
  return x !== null && typeof x === 'object' && !isKeyring(x) && !Array.isArray(x);
}

/**
 * @internal Checks the shape of `keys` (a key source, or a keyring of key
 * sources), so that a bad entry is a configuration error, not a failure of
 * every record.
 */
export function checkKeys(keys: unknown, where: string): void {
  if (isKeyring(keys)) {
    for (const [name, source] of Object.entries(keys)) {
      if (!isKeySource(source)) throw new PolicyInvalidError(`${where}: the keyring's entry for audience "${name.slice(0, 64)}" is not a key set or a key provider`);
    }
  } else if (!isKeySource(keys)) {
    throw new PolicyInvalidError(`${where}: keys must be a KeySet, a key provider or a keyring ({ audience: keys })`);
  }
}

function list(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

/**
 * The keys a topic uses. A codec-wide keyring serves each field topic with
 * the audiences its policy has; a topic's own keyring must name only those.
 */
function keysFor(topic: string, mode: 'fields' | 'whole', policy: FieldPolicy | undefined, own: unknown, shared: FieldKeys | undefined): FieldKeys {
  const where = `topic "${topic}"`;
  if (own !== undefined) checkKeys(own, where);
  const keys = (own ?? shared) as FieldKeys | undefined;
  if (keys === undefined) throw new PolicyInvalidError(`${where} has no keys: set "keys" on the codec or on the topic`);
  if (mode === 'whole') {
    if (isKeyring(keys)) {
      throw new PolicyInvalidError(`${where} is in whole mode, which seals with one key set, not a keyring of audiences: set "keys" (a KeySet or a provider) on the topic`);
    }
    if (!(keys instanceof KeySet) && typeof (keys as { current?: unknown }).current !== 'function') {
      throw new PolicyInvalidError(`${where} is in whole mode: its keys must be a KeySet or a provider of one (public-key sets seal field tokens only)`);
    }
    return keys;
  }
  const audiences = policy!.audiences;
  if (!isKeyring(keys)) {
    if (audiences.length !== 1) throw new PolicyInvalidError(`${where}: the policy has audiences ${list(audiences)}, so its keys must be a keyring ({ name: keys, ... }), not one key set`);
    return keys;
  }
  const names = Object.keys(keys);
  if (own !== undefined) {
    const stray = names.find((n) => !audiences.includes(n));
    if (stray !== undefined) throw new PolicyInvalidError(`${where}: its keyring names audience "${stray.slice(0, 64)}", which the topic's policy does not have (${list(audiences)})`);
    return Object.freeze({ ...keys });
  }
  // The codec's keyring: the entries for this policy's audiences.
  const mine = names.filter((n) => audiences.includes(n));
  if (names.length > 0 && mine.length === 0) {
    throw new PolicyInvalidError(`${where}: the codec's keyring (${list(names)}) has none of the policy's audiences (${list(audiences)}): set "keys" on the topic ({} to open none)`);
  }
  return Object.freeze(Object.fromEntries(mine.map((n) => [n, keys[n]!])));
}

function toPolicy(topic: string, policy: FieldsTopicConfig['policy'] | undefined): FieldPolicy {
  if (policy instanceof FieldPolicy) return policy;
  if (policy === undefined || policy === null) throw new PolicyInvalidError(`topic "${topic}": fields mode needs a policy`);
  return FieldPolicy.parse(policy as FieldPolicyJson | readonly string[]);
}

/**
 * Checks `requireMatch` against the policy now, so that a typo is a
 * configuration error at start-up instead of a failure on every record.
 */
function toRequired(topic: string, policy: FieldPolicy, require: unknown): true | readonly string[] | undefined {
  if (require === undefined || require === false) return undefined;
  if (require === true) return true;
  if (!Array.isArray(require)) throw new PolicyInvalidError(`topic "${topic}": requireMatch must be true, false or an array of policy paths`);
  const texts = new Set(policy.paths.map((p) => p.text));
  for (const r of require as unknown[]) {
    if (typeof r !== 'string' || !texts.has(r)) {
      throw new PolicyInvalidError(`topic "${topic}": requireMatch names ${typeof r === 'string' ? JSON.stringify(r) : r === null ? 'null' : `a ${typeof r}`}, which is not a path of the topic's policy`);
    }
  }
  return require.length === 0 ? undefined : Object.freeze([...(require as string[])]);
}

/**
 * @internal Validates one topic's configuration.
 * @param shared - the codec's `keys`, used when the topic has none of its own
 */
export function resolveTopic(topic: string, config: TopicConfig | undefined, shared?: FieldKeys): ResolvedTopic {
  if (config === undefined) {
    throw new PolicyInvalidError(`topic "${topic}" has no wireseal configuration (add it to "topics", or declare it { mode: 'plain' })`);
  }
  const mode = (config as { mode?: unknown }).mode;
  if (mode !== 'fields' && mode !== 'whole' && mode !== 'plain') {
    throw new PolicyInvalidError(`topic "${topic}": mode must be 'fields', 'whole' or 'plain'`);
  }
  const c = config as Partial<Omit<FieldsTopicConfig, 'mode' | 'keys'> & Omit<WholeTopicConfig, 'mode' | 'keys'>> & { keys?: unknown };
  const decryptMode = c.decryptMode ?? 'strict';
  if (decryptMode !== 'strict' && decryptMode !== 'migrate') throw new PolicyInvalidError(`topic "${topic}": decryptMode must be 'strict' or 'migrate'`);
  const alg = c.alg ?? 'A256KW';
  if (alg !== 'A256KW' && alg !== 'dir') throw new PolicyInvalidError(`topic "${topic}": alg must be 'A256KW' or 'dir'`);
  const contextTopic = c.contextTopic ?? topic;
  if (typeof contextTopic !== 'string' || contextTopic.length === 0) throw new PolicyInvalidError(`topic "${topic}": contextTopic must be a non-empty string`);
  if (c.cty !== undefined && typeof c.cty !== 'string') throw new PolicyInvalidError(`topic "${topic}": cty must be a string`);
  // A safety option that would be silently ignored is refused instead.
  if (mode !== 'fields' && c.requireMatch !== undefined) throw new PolicyInvalidError(`topic "${topic}": requireMatch applies to fields mode only`);
  if (mode === 'plain' && c.keys !== undefined) throw new PolicyInvalidError(`topic "${topic}" is plain: "keys" does not apply`);
  const policy = mode === 'fields' ? toPolicy(topic, c.policy) : undefined;
  return Object.freeze({
    topic,
    mode,
    policy,
    decryptMode,
    alg,
    cty: mode === 'whole' ? c.cty : undefined,
    limits: c.limits,
    requireMatch: policy ? toRequired(topic, policy, c.requireMatch) : undefined,
    context: Object.freeze({ topic: contextTopic }),
    keys: mode === 'plain' ? undefined : keysFor(topic, mode, policy, c.keys, shared),
    ownKeys: c.keys !== undefined,
  });
}

/** @internal Looks a topic up in a {@link TopicConfigs}. */
export function lookupTopic(configs: TopicConfigs, topic: string): TopicConfig | undefined {
  if (typeof configs === 'function') return configs(topic);
  return Object.prototype.hasOwnProperty.call(configs, topic) ? configs[topic] : undefined;
}
