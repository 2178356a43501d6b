/**
 * KMS-protected key sets (docs/format.md §2.1): the secret holds the kids and
 * roles in clear and each key's bytes encrypted by AWS KMS under an
 * encryption context that binds the secret's name and the kid, so reading the
 * secret is not enough to hold the keys: a reader also needs `kms:Decrypt`.
 *
 * `protectKeySet` (one `Encrypt` per new key), `unprotectKeySet` (one
 * `Decrypt` per key) and `isProtectedKeySet` are used by the provider and by
 * the CLI; neither ever puts key bytes into a message.
 */
import { DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import type { DecryptCommandOutput, EncryptCommandOutput } from '@aws-sdk/client-kms';
import { KeySet } from '@wireseal/core';
import type { Jwks, OctJwk } from '@wireseal/core';
import { KeySetInvalidError, KeySourceError } from '@wireseal/core/errors';
import { KeySourceFailure } from './errors.ts';
import { KID_RE } from '@wireseal/core/internal';
import { describeAwsError } from './secret.ts';

/** The value of a protected set's `wireseal` member. */
export const PROTECTED_FORMAT = 'kms-v1';

/** The encryption context member that binds a wrapped key to its secret's name. */
export const CONTEXT_SECRET = 'wireseal:secret';
/** The encryption context member that binds a wrapped key to its kid. */
export const CONTEXT_KID = 'wireseal:kid';

/**
 * The part of an AWS SDK v3 `KMSClient` this package uses (`Encrypt`,
 * `Decrypt`). Any `KMSClient` fits; so does a wrapper with the same `send`.
 */
export interface KmsClientLike {
  send(command: EncryptCommand, options?: { abortSignal?: AbortSignal }): Promise<EncryptCommandOutput>;
  send(command: DecryptCommand, options?: { abortSignal?: AbortSignal }): Promise<DecryptCommandOutput>;
}

/** One key of a protected set: the JWK's public members, and `k_kms` instead of `k`. */
export interface ProtectedJwk {
  kty: 'oct';
  kid: string;
  /** base64 (RFC 4648 §4) of the KMS `CiphertextBlob` of the key's 32 bytes. */
  k_kms: string;
  key_ops?: Array<'encrypt' | 'decrypt'>;
  [member: string]: unknown;
}

/** A KMS-protected key set, as stored in the secret (docs/format.md §2.1). */
export interface ProtectedKeySet {
  wireseal: typeof PROTECTED_FORMAT;
  /** The KMS key (id, ARN, alias name or alias ARN) each `k_kms` was encrypted under. */
  kmsKeyId: string;
  keys: ProtectedJwk[];
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function toObject(json: unknown): unknown {
  if (typeof json === 'string' || json instanceof Uint8Array) {
    const text = typeof json === 'string' ? json : new TextDecoder('utf-8', { fatal: false }).decode(json);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }
  return json;
}

/**
 * True when `json` (text, UTF-8 bytes or a parsed object) is a KMS-protected
 * key set: a JSON object whose `wireseal` member is `"kms-v1"`. Says nothing
 * about validity: {@link unprotectKeySet} validates.
 */
export function isProtectedKeySet(json: unknown): boolean {
  return formatMemberOf(json) === PROTECTED_FORMAT;
}

/** @internal The top-level `wireseal` member of a JSON object (any value), `undefined` when absent or not an object. */
export function formatMemberOf(json: unknown): unknown {
  const obj = toObject(json);
  return obj !== null && typeof obj === 'object' && !Array.isArray(obj) ? (obj as { wireseal?: unknown }).wireseal : undefined;
}

/**
 * Validates a protected key set (text, bytes or object) without any KMS call.
 * @throws KeySetInvalidError naming the offending kid or index
 */
export function parseProtectedKeySet(json: unknown): ProtectedKeySet {
  const obj = toObject(json);
  if (obj === undefined && (typeof json === 'string' || json instanceof Uint8Array)) throw new KeySetInvalidError('protected key set is not valid JSON');
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new KeySetInvalidError('protected key set must be a JSON object');
  const o = obj as Record<string, unknown>;
  if (o.wireseal !== PROTECTED_FORMAT) {
    const got = typeof o.wireseal === 'string' && /^[\x20-\x7e]{1,32}$/.test(o.wireseal) ? ` (got "${o.wireseal}")` : '';
    throw new KeySetInvalidError(`protected key set: "wireseal" must be "${PROTECTED_FORMAT}"${got}`);
  }
  if (typeof o.kmsKeyId !== 'string' || o.kmsKeyId === '') throw new KeySetInvalidError('protected key set: "kmsKeyId" must be a non-empty string');
  if (!Array.isArray(o.keys) || o.keys.length === 0) throw new KeySetInvalidError('protected key set must have a non-empty "keys" array');
  const seen = new Set<string>();
  o.keys.forEach((raw: unknown, i: number) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new KeySetInvalidError(`protected key at index ${i} is not a JSON object`);
    const k = raw as Record<string, unknown>;
    if (typeof k.kid !== 'string' || !KID_RE.test(k.kid)) throw new KeySetInvalidError(`protected key at index ${i}: kid must be 1-64 printable ASCII characters`);
    const where = `protected key "${k.kid}" (index ${i})`;
    if (seen.has(k.kid)) throw new KeySetInvalidError(`${where}: kid is not unique`);
    seen.add(k.kid);
    if (k.kty !== 'oct') throw new KeySetInvalidError(`${where}: kty must be "oct"`);
    if (k.k !== undefined) throw new KeySetInvalidError(`${where}: holds a clear "k"; a protected set holds only "k_kms"`);
    if (typeof k.k_kms !== 'string' || k.k_kms === '' || !BASE64_RE.test(k.k_kms)) throw new KeySetInvalidError(`${where}: "k_kms" must be base64 of a KMS ciphertext`);
  });
  return obj as ProtectedKeySet;
}

/** The encryption context of one wrapped key. */
export function encryptionContext(secretName: string, kid: string): Record<string, string> {
  return { [CONTEXT_SECRET]: secretName, [CONTEXT_KID]: kid };
}

function checkSecretName(who: string, secretId: unknown): string {
  if (typeof secretId !== 'string' || secretId === '') throw new KeySourceError(`${who}: secretId (the secret's name) is required`);
  if (secretId.startsWith('arn:')) throw new KeySourceError(`${who}: secretId must be the secret's name, not its ARN: the name is what the encryption context binds`);
  return secretId;
}

/** Options for {@link protectKeySet}. */
export interface ProtectKeySetOptions {
  /** An AWS SDK v3 `KMSClient`: needs `kms:Encrypt` on `kmsKeyId` for new keys. */
  kmsClient: KmsClientLike;
  /** The KMS key to encrypt under: key id, key ARN, alias name (`alias/wireseal`) or alias ARN. */
  kmsKeyId: string;
  /** The name (not the ARN) of the secret the set is for: bound into every key's encryption context. */
  secretId: string;
  /**
   * The protected set the secret holds now (object, text or bytes). Keys whose
   * kid it has, with a `k_kms`, under the same `kmsKeyId`, keep that `k_kms`
   * (no `Encrypt`); only new keys are encrypted. It must be the same secret's:
   * a blob bound to another secret name would not decrypt.
   */
  previous?: ProtectedKeySet | string | Uint8Array;
  /** Aborts the KMS calls. */
  signal?: AbortSignal;
}

/**
 * Turns a JWK Set into a KMS-protected one: kids, `key_ops` and other public
 * members in clear, each `k` replaced by `k_kms`, the KMS `Encrypt` of the
 * key's 32 bytes under `{ "wireseal:secret": secretId, "wireseal:kid": kid }`.
 * One `Encrypt` per key, except keys kept from `previous`.
 *
 * @param jwks - a valid key set (object, JSON text or bytes, as `KeySet.fromJwks` takes)
 * @throws KeySetInvalidError for an invalid set or `previous`; KeySourceFailure (`reason: 'kms'`) when an `Encrypt` fails
 * @example
 * ```ts
 * const stored = await protectKeySet(KeySet.generate().toJwks(), { kmsClient: new KMSClient({}), kmsKeyId: 'alias/wireseal', secretId: 'prod/payments/wireseal-keys' });
 * await sm.send(new PutSecretValueCommand({ SecretId: 'prod/payments/wireseal-keys', SecretString: JSON.stringify(stored) }));
 * ```
 */
export async function protectKeySet(jwks: Jwks | string | Uint8Array, options: ProtectKeySetOptions): Promise<ProtectedKeySet> {
  const who = 'protectKeySet';
  const secretName = checkSecretName(who, options?.secretId);
  const { kmsClient, kmsKeyId } = options;
  if (typeof kmsKeyId !== 'string' || kmsKeyId === '') throw new KeySourceError(`${who}: kmsKeyId is required`);
  if (kmsClient === undefined || typeof kmsClient.send !== 'function') throw new KeySourceError(`${who}: kmsClient is required`);
  const set = KeySet.fromJwks(jwks); // validates, never echoes bytes
  const keep = new Map<string, string>();
  if (options.previous !== undefined) {
    const prev = parseProtectedKeySet(options.previous);
    if (prev.kmsKeyId === kmsKeyId) for (const k of prev.keys) keep.set(k.kid, k.k_kms);
  }
  const keys = await Promise.all(
    set.toJwks().keys.map(async (jwk): Promise<ProtectedJwk> => {
      const { k, k_kms: _drop, ...pub } = jwk;
      const kept = keep.get(jwk.kid);
      if (kept !== undefined) return { ...pub, k_kms: kept } as ProtectedJwk;
      const bytes = Buffer.from(k, 'base64url');
      let out: EncryptCommandOutput;
      try {
        out = await kmsClient.send(
          new EncryptCommand({ KeyId: kmsKeyId, Plaintext: bytes, EncryptionContext: encryptionContext(secretName, jwk.kid) }),
          options.signal ? { abortSignal: options.signal } : undefined,
        );
      } catch (err) {
        throw new KeySourceFailure('kms', `${who}: KMS Encrypt of key "${jwk.kid}" under ${kmsKeyId} failed: ${describeAwsError(err)}`);
      } finally {
        bytes.fill(0);
      }
      if (!(out.CiphertextBlob instanceof Uint8Array) || out.CiphertextBlob.length === 0) {
        throw new KeySourceFailure('kms', `${who}: KMS Encrypt of key "${jwk.kid}" returned no ciphertext`);
      }
      return { ...pub, k_kms: Buffer.from(out.CiphertextBlob).toString('base64') } as ProtectedJwk;
    }),
  );
  return { wireseal: PROTECTED_FORMAT, kmsKeyId, keys };
}

/** Options for {@link unprotectKeySet}. */
export interface UnprotectKeySetOptions {
  /** An AWS SDK v3 `KMSClient`: needs `kms:Decrypt` on the set's `kmsKeyId`. */
  kmsClient: KmsClientLike;
  /** The name (not the ARN) of the secret the set was read from: must be the one it was protected for. */
  secretId: string;
  /** Aborts the KMS calls. */
  signal?: AbortSignal;
  /**
   * @internal Plaintexts already decrypted in this refresh, by `kid` + `k_kms`
   * (the provider shares one between AWSCURRENT and AWSPREVIOUS, so a key in
   * both is decrypted once).
   */
  memo?: Map<string, Promise<string>>;
}

/** Decrypts one `k_kms`; resolves to the key's base64url. */
export async function decryptKey(kmsClient: KmsClientLike, kmsKeyId: string, secretName: string, key: Pick<ProtectedJwk, 'kid' | 'k_kms'>, signal?: AbortSignal): Promise<string> {
  let out: DecryptCommandOutput;
  try {
    out = await kmsClient.send(
      new DecryptCommand({ KeyId: kmsKeyId, CiphertextBlob: Buffer.from(key.k_kms, 'base64'), EncryptionContext: encryptionContext(secretName, key.kid) }),
      signal ? { abortSignal: signal } : undefined,
    );
  } catch (err) {
    throw new KeySourceFailure('kms', `KMS Decrypt of key "${key.kid}" under ${kmsKeyId} failed: ${signal?.aborted ? 'aborted' : describeAwsError(err)}`);
  }
  const plain = out.Plaintext;
  if (!(plain instanceof Uint8Array) || plain.length !== 32) {
    plain?.fill?.(0);
    throw new KeySourceFailure('kms', `KMS Decrypt of key "${key.kid}" did not return 32 bytes`);
  }
  const k = Buffer.from(plain.buffer, plain.byteOffset, plain.length).toString('base64url');
  plain.fill(0);
  return k;
}

/**
 * Decrypts a KMS-protected key set back into a JWK Set (one `Decrypt` per
 * key, under the key's encryption context), for `KeySet.fromJwks`. Hold the
 * result in memory only.
 *
 * @param json - the protected set: object, JSON text or bytes
 * @throws KeySetInvalidError for an invalid protected set; KeySourceFailure
 *   (`ERR_KEY_SOURCE`, `reason: 'kms'`) when a `Decrypt` fails, naming the kid
 */
export async function unprotectKeySet(json: ProtectedKeySet | string | Uint8Array, options: UnprotectKeySetOptions): Promise<Jwks> {
  const who = 'unprotectKeySet';
  const secretName = checkSecretName(who, options?.secretId);
  const { kmsClient } = options;
  if (kmsClient === undefined || typeof kmsClient.send !== 'function') throw new KeySourceFailure('kms', `${who}: kmsClient is required`);
  const set = parseProtectedKeySet(json);
  const memo = options.memo;
  const keys = await Promise.all(
    set.keys.map(async ({ k_kms, ...pub }): Promise<OctJwk> => {
      const id = `${pub.kid}\u0000${k_kms}`;
      let k = memo?.get(id);
      if (k === undefined) {
        k = decryptKey(kmsClient, set.kmsKeyId, secretName, { kid: pub.kid, k_kms }, options.signal);
        memo?.set(id, k);
      }
      return { ...pub, k: await k } as OctJwk;
    }),
  );
  return { keys };
}
