/**
 * Options and limits shared by every way of sealing and opening a token
 * (compact, parts, field documents).
 */
import type { Context } from '../context.ts';
import type { Engine, EngineName } from '../engine.ts';
import type { ProtectedHeader, SymmetricAlg } from './header.ts';
import type { ContentKeyReuseOption } from './reuse.ts';

/** Options for {@link seal}. */
export interface SealOptions {
  /** `A256KW` (default: fresh content key per token) or `dir` (the key encrypts; shorter tokens). */
  alg?: SymmetricAlg;
  /** Media type of the plaintext (whole payloads), written as `cty`. */
  cty?: string;
  /** `true` writes the current time; a number writes those seconds since the epoch. */
  iat?: number | boolean;
  /** The policy path this token belongs at, written as `wsf`. */
  field?: string;
  /** A context both sides know (topic, tenant), bound as `wsc`. */
  context?: Context;
  /** `node` (default on Node) or `noble`. */
  engine?: EngineName | Engine;
  /**
   * Bounded data-key reuse for `A256KW`: `true` (default bounds) or bounds.
   * One content key per primary key serves many tokens until a bound is
   * reached; each token keeps its own random IV. Default off (a fresh content
   * key per token). See docs/format.md §4.4.
   */
  reuseContentKey?: ContentKeyReuseOption;
}

/** Options for {@link open}. */
export interface OpenOptions {
  /** The policy path the token was found at: must equal its `wsf` (and a token with `wsf` needs it). */
  field?: string;
  /** The expected context: must match its `wsc` (and a token with `wsc` needs it). */
  context?: Context;
  /** When set, `iat` is required and must be at most this old. */
  maxAgeSeconds?: number;
  /** How far in the future `iat` may be, with `maxAgeSeconds`. Default 30. */
  clockSkewSeconds?: number;
  /** Clock in milliseconds since the epoch (for tests). Default `Date.now`. */
  now?: () => number;
  /** Allowed `alg` values. Default `['A256KW', 'dir']`. */
  algorithms?: readonly SymmetricAlg[];
  /** Longest token accepted, in characters. Default 16 MiB. */
  maxTokenLength?: number;
  /** Longest protected header accepted, in base64url characters. Default 4096. */
  maxHeaderLength?: number;
  /** `node` (default on Node) or `noble`. */
  engine?: EngineName | Engine;
}

/** An opened token: the plaintext and its authenticated protected header. */
export interface OpenedToken {
  plaintext: Uint8Array;
  header: ProtectedHeader;
}

/** Default size limits for {@link open}. */
export const DEFAULT_LIMITS: Readonly<{ maxTokenLength: number; maxHeaderLength: number }> = Object.freeze({
  maxTokenLength: 16 * 1024 * 1024,
  maxHeaderLength: 4096,
});

/** @internal The `alg` values opened when the caller names none. */
export const DEFAULT_ALGS: readonly SymmetricAlg[] = ['A256KW', 'dir'];
