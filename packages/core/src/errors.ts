/**
 * Typed errors. Every expected failure in wireseal is a {@link WiresealError}
 * with a stable `code`; match on `code` (or `instanceof` the subclass), never
 * on the message text. Messages help an operator and never contain key bytes
 * or plaintext.
 *
 * @module
 */

/** Every stable error code wireseal throws. */
export type WiresealErrorCode =
  | 'ERR_KEYSET_INVALID'
  | 'ERR_KEY_UNKNOWN'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_ALG_UNSUPPORTED'
  | 'ERR_DECRYPT'
  | 'ERR_FIELD_MISMATCH'
  | 'ERR_CONTEXT_MISMATCH'
  | 'ERR_POLICY_INVALID'
  | 'ERR_PLAINTEXT_FIELD'
  | 'ERR_FIELD_MISSING'
  | 'ERR_AUDIENCE_MISSING'
  | 'ERR_STALE'
  | 'ERR_REPLAY'
  | 'ERR_REPLAY_STORE'
  | 'ERR_KEY_SOURCE'
  | 'ERR_LIMIT_EXCEEDED'
  | 'ERR_ARGUMENT_INVALID'
  | 'ERR_RUNTIME_UNSUPPORTED';

/** Base class of all wireseal errors. */
export class WiresealError extends Error {
  /** The stable code of this error family. */
  static code: WiresealErrorCode | 'ERR_WIRESEAL' = 'ERR_WIRESEAL';
  /** The stable code; match on this, not on `message`. */
  readonly code: WiresealErrorCode;

  /**
   * @param code - the stable code
   * @param message - operator-facing text; never key bytes or plaintext
   * @param options - standard `ErrorOptions` (`cause`)
   */
  constructor(code: WiresealErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A key set or key failed validation (`ERR_KEYSET_INVALID`). */
export class KeySetInvalidError extends WiresealError {
  static override code = 'ERR_KEYSET_INVALID' as const;
  /** @param message - names the offending kid or index, never key bytes */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_KEYSET_INVALID', message, options);
  }
}

/** A token names a `kid` the key set does not hold, or one that cannot decrypt (`ERR_KEY_UNKNOWN`). */
export class KeyUnknownError extends WiresealError {
  static override code = 'ERR_KEY_UNKNOWN' as const;
  /** @param message - operator-facing text */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_KEY_UNKNOWN', message, options);
  }
}

/** Not five segments, bad base64url, bad header JSON, bad lengths, over size limits (`ERR_TOKEN_MALFORMED`). */
export class TokenMalformedError extends WiresealError {
  static override code = 'ERR_TOKEN_MALFORMED' as const;
  /** @param message - operator-facing text */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_TOKEN_MALFORMED', message, options);
  }
}

/** `alg`/`enc` outside the allow-list, `zip`, `crit` (`ERR_ALG_UNSUPPORTED`). */
export class AlgUnsupportedError extends WiresealError {
  static override code = 'ERR_ALG_UNSUPPORTED' as const;
  /** @param message - operator-facing text */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_ALG_UNSUPPORTED', message, options);
  }
}

/** Authentication failed: wrong key or tampered token (`ERR_DECRYPT`). */
export class DecryptError extends WiresealError {
  static override code = 'ERR_DECRYPT' as const;
  /** @param message - operator-facing text */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_DECRYPT', message, options);
  }
}

/** The token's `wsf` is not the path it was found at (`ERR_FIELD_MISMATCH`). */
export class FieldMismatchError extends WiresealError {
  static override code = 'ERR_FIELD_MISMATCH' as const;
  /** @param message - operator-facing text */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_FIELD_MISMATCH', message, options);
  }
}

/** The token's `wsc` does not match the expected context (`ERR_CONTEXT_MISMATCH`). */
export class ContextMismatchError extends WiresealError {
  static override code = 'ERR_CONTEXT_MISMATCH' as const;
  /** @param message - operator-facing text */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_CONTEXT_MISMATCH', message, options);
  }
}

/** A field policy failed validation: grammar, forbidden segment, duplicate (`ERR_POLICY_INVALID`). */
export class PolicyInvalidError extends WiresealError {
  static override code = 'ERR_POLICY_INVALID' as const;
  /** @param message - points at the bad path */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_POLICY_INVALID', message, options);
  }
}

/** A strict policy found plaintext where a token belongs (`ERR_PLAINTEXT_FIELD`). */
export class PlaintextFieldError extends WiresealError {
  static override code = 'ERR_PLAINTEXT_FIELD' as const;
  /** The concrete path (e.g. `accounts[1].iban`) that held plaintext. */
  readonly path: string;
  /**
   * @param path - the concrete path; the value itself is never included
   * @param message - operator-facing text
   */
  constructor(path: string, message: string, options?: ErrorOptions) {
    super('ERR_PLAINTEXT_FIELD', message, options);
    this.path = path;
  }
}

/** A policy path that `requireMatch` names matched nothing in the document (`ERR_FIELD_MISSING`). */
export class FieldMissingError extends WiresealError {
  static override code = 'ERR_FIELD_MISSING' as const;
  /** The policy paths (as the policy writes them) that matched nothing. */
  readonly paths: readonly string[];
  /**
   * @param paths - the policy paths that matched nothing
   * @param message - operator-facing text
   */
  constructor(paths: readonly string[], message: string, options?: ErrorOptions) {
    super('ERR_FIELD_MISSING', message, options);
    this.paths = Object.freeze([...paths]);
  }
}

/**
 * Sealing a document that has values for an audience the keyring holds no
 * keys for (`ERR_AUDIENCE_MISSING`); nothing is returned half-sealed.
 */
export class AudienceMissingError extends WiresealError {
  static override code = 'ERR_AUDIENCE_MISSING' as const;
  /** The audience without keys. */
  readonly audience: string;

  /**
   * @param audience - the audience the keyring lacks
   * @param message - operator-facing text; by default it says which audience and that nothing was sealed
   */
  constructor(audience: string, message = `the document has values for audience "${audience}" but the keyring holds no keys for it; nothing was sealed`, options?: ErrorOptions) {
    super('ERR_AUDIENCE_MISSING', message, options);
    this.audience = audience;
  }
}

/** `iat` missing or outside the freshness window (`ERR_STALE`). */
export class StaleError extends WiresealError {
  static override code = 'ERR_STALE' as const;
  /** @param message - operator-facing text */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_STALE', message, options);
  }
}

/** A token already seen inside the freshness window (`ERR_REPLAY`). */
export class ReplayError extends WiresealError {
  static override code = 'ERR_REPLAY' as const;
  /** @param message - operator-facing text */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_REPLAY', message, options);
  }
}

/**
 * A shared replay store (e.g. Redis) could not answer in time, so a token's
 * first sighting cannot be vouched for; the request is refused rather than
 * risk a replay (`ERR_REPLAY_STORE`, HTTP 503).
 */
export class ReplayStoreError extends WiresealError {
  static override code = 'ERR_REPLAY_STORE' as const;
  /** @param message - the reason, without tokens or plaintext */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_REPLAY_STORE', message, options);
  }
}

/** The key source failed and no usable cached key set is left (`ERR_KEY_SOURCE`). */
export class KeySourceError extends WiresealError {
  static override code = 'ERR_KEY_SOURCE' as const;
  /** @param message - the reason, without key bytes */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_KEY_SOURCE', message, options);
  }
}

/**
 * A configured size or shape limit was exceeded: document size, nesting depth,
 * number of fields, body size (`ERR_LIMIT_EXCEEDED`). Token size limits raise
 * {@link TokenMalformedError} as docs/design.md requires.
 */
export class LimitExceededError extends WiresealError {
  static override code = 'ERR_LIMIT_EXCEEDED' as const;
  /** @param message - names the limit and its configured value */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_LIMIT_EXCEEDED', message, options);
  }
}

/**
 * A call's own argument is not what the function takes (`ERR_ARGUMENT_INVALID`):
 * a context that is not an object of strings, a plaintext that is neither
 * bytes nor a string, an `iat` that is not a whole number of seconds. A
 * programming error on the caller's side, not a property of received data.
 */
export class ArgumentInvalidError extends WiresealError {
  static override code = 'ERR_ARGUMENT_INVALID' as const;
  /** @param message - operator-facing text */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_ARGUMENT_INVALID', message, options);
  }
}

/**
 * The runtime lacks what the call needs (`ERR_RUNTIME_UNSUPPORTED`): no
 * secure random source, or an engine that is not available here.
 */
export class RuntimeUnsupportedError extends WiresealError {
  static override code = 'ERR_RUNTIME_UNSUPPORTED' as const;
  /** @param message - operator-facing text */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_RUNTIME_UNSUPPORTED', message, options);
  }
}

/** True when `err` is a {@link WiresealError}, optionally with the given code. */
export function isWiresealError(err: unknown, code?: WiresealErrorCode): err is WiresealError {
  return err instanceof WiresealError && (code === undefined || err.code === code);
}
