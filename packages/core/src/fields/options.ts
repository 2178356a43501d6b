/**
 * The options and results of field encryption.
 */
import type { Context } from '../context.ts';
import type { Engine, EngineName } from '../engine.ts';
import type { SymmetricAlg } from '../token/header.ts';
import type { OpenOptions } from '../token/options.ts';
import type { ContentKeyReuseOption } from '../token/reuse.ts';
import type { DocumentLimits, JsonValue } from './document.ts';

/** Options for {@link encryptFields}. */
export interface EncryptFieldsOptions {
  /** Context bound into every token as `wsc` (topic, tenant, route). Its keys may not start with `$` (record bindings). */
  context?: Context;
  /** `A256KW` (default) or `dir`. */
  alg?: SymmetricAlg;
  /** `node` (default on Node) or `noble`. */
  engine?: EngineName | Engine;
  /** Document limits. */
  limits?: DocumentLimits;
  /**
   * `true`: every policy path must match at least one value; an array of
   * policy paths: those must. Otherwise sealing fails with
   * `ERR_FIELD_MISSING` and nothing is returned. Default `false` (a path that
   * matches nothing is skipped and listed in `unmatched`).
   */
  requireMatch?: boolean | readonly string[];
  /**
   * Bounded data-key reuse: `true` (default bounds) or bounds. One content
   * key per primary key (per public key, for public-key audiences) serves
   * many documents until a bound is reached; each token keeps its own random
   * IV and stays a standalone JWE. Default off: a fresh content key per
   * document and audience. The transports turn it on. See docs/format.md §4.4.
   */
  reuseContentKey?: ContentKeyReuseOption;
}

/** How {@link decryptFields} treats plaintext at a policy path. */
export type DecryptMode = 'strict' | 'migrate';

/**
 * A reader for values that are not wireseal tokens (e.g. legacy AES-CBC), tried
 * in `migrate` mode before a value passes through as plaintext. Returns the
 * decoded value, or `undefined` when the value is not in its format.
 */
export interface LegacyFieldReader {
  /** Name reported in {@link DecryptFieldsResult.legacy}. */
  readonly name: string;
  /** Paths (policy text) it applies to; all when absent. */
  readonly paths?: readonly string[];
  /** Decodes a value, or returns undefined when it is not in this format. */
  read(value: JsonValue, path: string): JsonValue | undefined;
}

/** Options for {@link decryptFields}. */
export interface DecryptFieldsOptions {
  /** `strict` (default): plaintext at a policy path is `ERR_PLAINTEXT_FIELD`. `migrate`: it passes through. */
  mode?: DecryptMode;
  /** Expected context; must match each token's `wsc`. */
  context?: Context;
  /** `node` (default on Node) or `noble`. */
  engine?: EngineName | Engine;
  /** Document limits. */
  limits?: DocumentLimits;
  /** Token limits and allowed algorithms, as for `open`. */
  token?: Pick<OpenOptions, 'algorithms' | 'maxTokenLength' | 'maxHeaderLength'>;
  /** Legacy readers tried in `migrate` mode before passing plaintext through. */
  legacy?: readonly LegacyFieldReader[];
  /** As for {@link EncryptFieldsOptions.requireMatch}: these policy paths must be present (`ERR_FIELD_MISSING`). */
  requireMatch?: boolean | readonly string[];
}

/** The outcome of {@link decryptFields}. */
export interface DecryptFieldsResult<T = JsonValue> {
  /** The plaintext document (a new object; the input is not changed). */
  doc: T;
  /** Concrete paths (e.g. `accounts[1].iban`) whose tokens were opened. */
  decrypted: string[];
  /** Concrete paths that held plaintext and passed through (`migrate` mode). */
  passedThrough: string[];
  /** Concrete paths read by a legacy reader (`migrate` mode), with its name. */
  legacy: Array<{ path: string; reader: string }>;
  /**
   * Concrete paths whose tokens were left exactly as they were because this
   * reader holds no keys for their audience (never an error, in either mode).
   */
  sealed: string[];
  /** Policy paths (as the policy writes them) that matched nothing in this document. */
  unmatched: string[];
  /** Tokens per kid (the key that sealed or opened them), for key-usage metrics: which kids are still in use. */
  kids: Record<string, number>;
}


/** The outcome of {@link encryptFieldsWithReport}. */
export interface EncryptFieldsResult<T = JsonValue> {
  /** The sealed document (a new object; the input is not changed). */
  doc: T;
  /** Concrete paths (e.g. `accounts[1].iban`) that were sealed. */
  sealed: string[];
  /** Policy paths (as the policy writes them) that matched nothing in this document. */
  unmatched: string[];
  /** Tokens per kid (the key that sealed or opened them), for key-usage metrics: which kids are still in use. */
  kids: Record<string, number>;
}
