/**
 * Which service an `ERR_KEY_SOURCE` of this package comes from: Secrets
 * Manager, KMS (protected key sets), or the secret's content. Operators tell
 * a KMS outage or a revoked `kms:Decrypt` from a Secrets Manager outage by it.
 */
import { KeySourceError } from '@wireseal/core/errors';

/**
 * Why a key source failed, on every `ERR_KEY_SOURCE` this package raises:
 * - `secrets-manager`: the secret could not be read (network, access denied, not found, timeout);
 * - `kms`: a protected set's keys could not be decrypted (KMS unreachable, `kms:Decrypt`
 *   denied, key disabled or pending deletion, grant revoked, a blob bound to another
 *   secret or kid), or no KMS client was given for a protected secret;
 * - `content`: the secret was read but does not hold a valid key set (`cause`: `ERR_KEYSET_INVALID`).
 */
export type KeySourceFailureReason = 'secrets-manager' | 'kms' | 'content';

/** An `ERR_KEY_SOURCE` that says which service failed: match on `reason`. Never holds key bytes. */
export class KeySourceFailure extends KeySourceError {
  /** Which service (or the content) failed. */
  readonly reason: KeySourceFailureReason;
  /**
   * @param reason - which service failed
   * @param message - the reason, without key bytes or secret content
   */
  constructor(reason: KeySourceFailureReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** The failure reason of an error or of the first error along its cause chain that has one. */
export function failureReasonOf(err: unknown): KeySourceFailureReason | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof KeySourceFailure) return e.reason;
  }
  return undefined;
}
