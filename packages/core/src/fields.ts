/**
 * Field-level encryption: seal the policy paths of a JSON document as JWE
 * tokens, leave everything else readable. Per audience, one content key per
 * document (one key wrap); per field, one IV and one header: every field
 * token is still a valid standalone JWE that any JOSE library opens. The
 * mechanisms live in `fields/` (document copies, the walk, keyrings, record
 * binding, sealing, opening); these are the public faces.
 */
import type { JsonValue } from './fields/document.ts';
import type { FieldKeys } from './fields/keyring.ts';
import type { DecryptFieldsOptions, DecryptFieldsResult, EncryptFieldsOptions, EncryptFieldsResult } from './fields/options.ts';
import { openDocument } from './fields/open.ts';
import { sealDocument } from './fields/seal.ts';
import type { FieldPolicy } from './policy.ts';

export type { DocumentLimits, JsonValue } from './fields/document.ts';
export type { AudienceKeyProvider, AudienceKeys, AudienceKeySet, FieldKeys, Keyring } from './fields/keyring.ts';
export type {
  DecryptFieldsOptions,
  DecryptFieldsResult,
  DecryptMode,
  EncryptFieldsOptions,
  EncryptFieldsResult,
  LegacyFieldReader,
} from './fields/options.ts';

/**
 * Seals every policy path of `doc` as a JWE token (`wsf` = the path; `wsc`
 * when a context or a record binding applies) and returns a new document.
 * `keys` is a key set or provider for a single-audience policy, or a keyring
 * (`{ pci: pciKeys, pii: piiKeys }`). Paths that match nothing are skipped
 * (unless `requireMatch` names them); the input is never changed. A member
 * of the wrong shape on a policy path (an object where the policy has `[*]`,
 * a string where it expects an object) is refused: its values would
 * otherwise leave unsealed.
 * @example
 * const sealed = encryptFields(keys, payment, policy, { context: { topic: 'payments' } });
 * const split = encryptFields({ pci: pciKeys, pii: piiKeys }, payment, audiencePolicy);
 * @throws PlaintextFieldError `ERR_PLAINTEXT_FIELD` for a member of the wrong shape on a policy path
 * @throws FieldMissingError `ERR_FIELD_MISSING` when a `requireMatch` path (or a bound value) is absent
 * @throws AudienceMissingError `ERR_AUDIENCE_MISSING` when the document has values for an audience the keyring lacks
 */
export function encryptFields<T = JsonValue>(keys: FieldKeys, doc: T, policy: FieldPolicy, options: EncryptFieldsOptions = {}): T {
  return sealDocument(keys, doc, policy, options, false).doc;
}

/**
 * {@link encryptFields} with a report: the concrete paths sealed and the
 * policy paths that matched nothing (a typo in a path shows up here instead
 * of as a field sent in plaintext).
 * @example
 * const { doc, sealed, unmatched } = encryptFieldsWithReport(keys, payment, policy);
 */
export function encryptFieldsWithReport<T = JsonValue>(keys: FieldKeys, doc: T, policy: FieldPolicy, options: EncryptFieldsOptions = {}): EncryptFieldsResult<T> {
  return sealDocument(keys, doc, policy, options, true);
}

/**
 * Opens every policy token of `doc` that this reader holds keys for
 * (checking `wsf` against the path it sits at and `wsc` against the context
 * and the record's bindings) and returns a new document with a report of
 * what was decrypted, what passed through, and what stayed sealed because
 * the keyring lacks its audience (never an error).
 * @example
 * const { doc, sealed } = decryptFields({ pii: piiKeys }, event, audiencePolicy);
 * @throws WiresealError `ERR_PLAINTEXT_FIELD` in strict mode, or the token's error, naming the concrete path
 */
export function decryptFields<T = JsonValue>(keys: FieldKeys, doc: unknown, policy: FieldPolicy, options: DecryptFieldsOptions = {}): DecryptFieldsResult<T> {
  return openDocument<T>(keys, doc, policy, options);
}
