/**
 * Migration from the home-grown "AES-CBC with a shared key" format many
 * services already use: standard padded base64 of a 16-byte IV followed by the
 * AES-CBC ciphertext (PKCS#7 padding) of UTF-8 text, under a 16, 24 or 32-byte
 * key.
 *
 * THE LEGACY FORMAT IS UNSAFE. It has no integrity protection: anyone on the
 * path can flip plaintext bits by flipping IV bits, and any receiver whose
 * behaviour differs between "decrypted" and "did not decrypt" is a padding
 * oracle that reveals the plaintext. Read it only to migrate away from it;
 * write it only to talk to receivers that have not migrated yet, and only
 * through the explicitly named `...Insecure` functions (docs/format.md,
 * "Legacy AES-CBC").
 *
 * @module
 */
import { cbc } from '@noble/ciphers/aes.js';
import type { EngineName } from './engine.ts';
import { getEngine } from './engine.ts';
import { AlgUnsupportedError, DecryptError, KeySetInvalidError, TokenMalformedError } from './errors.ts';
import type { JsonValue, LegacyFieldReader } from './fields.ts';
import { put } from './fields/document.ts';
import { walk } from './fields/walk.ts';
import type { FieldPolicy } from './policy.ts';
import { nodeCrypto } from './runtime.ts';

/** A legacy key: raw bytes, or a string whose UTF-8 bytes are the key (the common "32-character secret"). */
export type LegacyKey = Uint8Array | string;

/** Options shared by the legacy reader functions. */
export interface LegacyCbcOptions {
  /** `node` (default on Node: node:crypto) or `noble` (@noble/ciphers, any runtime). */
  engine?: EngineName;
  /** Longest value accepted, in characters. Default 16 MiB. */
  maxLength?: number;
}

/** The explicit opt-in every legacy writer requires. */
export interface InsecureLegacyOptions {
  /**
   * Must be exactly `true`: you accept a format without integrity protection
   * (bit flipping, padding oracles), to talk to a receiver that has not
   * migrated to wireseal tokens yet.
   */
  insecureLegacy: true;
  /** `node` (default on Node) or `noble`. */
  engine?: EngineName;
  /** @internal Fixed IV for test vectors only. Never set it in production. */
  iv?: Uint8Array;
}

/** How a legacy field's decrypted text becomes a field value. */
export type LegacyParse = 'string' | 'json';

/** Options for {@link legacyCbcReader}. */
export interface LegacyCbcReaderOptions extends LegacyCbcOptions {
  /** The shared legacy key (16, 24 or 32 bytes). */
  key: LegacyKey;
  /** Policy paths (as the policy writes them) that legacy senders encrypt. Default: every policy path. Prefer listing them. */
  paths?: readonly string[];
  /**
   * `string` (default): the decrypted UTF-8 text is the field value.
   * `json`: the text is `JSON.parse`d (legacy senders that encrypted `JSON.stringify(value)`).
   */
  parse?: LegacyParse;
  /** Reported as `reader` in `decryptFields(...).legacy` and in events. Default `legacy-aes-cbc`. */
  name?: string;
  /** Called once per legacy value seen (never with the value). Must not throw. */
  onLegacy?: (event: LegacyEvent) => void;
  /** Clock in milliseconds since the epoch, for `lastSeenAt`. Default `Date.now`. */
  now?: () => number;
}

/** A legacy value was seen. Carries no value and no key. */
export interface LegacyEvent {
  /** The reader's name. */
  readonly reader: string;
  /** A field (through `decryptFields`) or a whole payload (through {@link LegacyCbcReader.openPayload}). */
  readonly kind: 'field' | 'payload';
  /** For fields: the concrete path (`accounts[1].iban`). */
  readonly path?: string;
  /** `read`: decrypted. `rejected`: shaped like a legacy value but did not decrypt (`ERR_DECRYPT` was thrown). */
  readonly outcome: 'read' | 'rejected';
}

/** Counts of legacy values seen by one reader since it was created. */
export interface LegacyStats {
  /** Legacy field values decrypted. */
  fields: number;
  /** Legacy whole payloads decrypted. */
  payloads: number;
  /** Values shaped like legacy values that did not decrypt. */
  rejected: number;
  /** Decrypted field values per path, array indexes folded to `[*]` (at most 1,000 paths; the rest under `(other)`). */
  byPath: Record<string, number>;
  /** When the last legacy value (read or rejected) was seen, ms since the epoch; `null` if never. */
  lastSeenAt: number | null;
}

/**
 * A legacy AES-CBC reader: plug it into `decryptFields(..., { mode: 'migrate',
 * legacy: [reader] })` for fields, or call {@link LegacyCbcReader.openPayload}
 * from a whole-payload codec. Its {@link LegacyCbcReader.stats} tell operators
 * when legacy senders have stopped.
 */
export interface LegacyCbcReader extends LegacyFieldReader {
  /**
   * Field hook used by `decryptFields` in `migrate` mode: the decoded value,
   * or `undefined` when `value` is not shaped like a legacy value (then it
   * passes through as plaintext).
   * @throws DecryptError `ERR_DECRYPT` when it is shaped like one but does not decrypt
   */
  read(value: JsonValue, path: string): JsonValue | undefined;
  /**
   * Whole-payload hook: the decrypted bytes, or `undefined` when `body` is not
   * shaped like a legacy value.
   * @throws DecryptError `ERR_DECRYPT` when it is shaped like one but does not decrypt
   */
  openPayload(body: string | Uint8Array): Uint8Array | undefined;
  /** A snapshot of the counts. */
  stats(): LegacyStats;
}

const DEFAULT_MAX_LENGTH = 16 * 1024 * 1024;
const MAX_PATHS = 1000;
/** One message for every cryptographic failure: padding, UTF-8, JSON. Distinguishable failures are an oracle. */
const DECRYPT_FAILED = 'legacy AES-CBC value did not decrypt (wrong key, corrupted or tampered value)';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Validates a legacy key and returns its bytes (a copy). */
function legacyKeyBytes(key: LegacyKey): Uint8Array {
  const bytes = typeof key === 'string' ? utf8.encode(key) : key instanceof Uint8Array ? new Uint8Array(key) : undefined;
  if (!bytes) throw new KeySetInvalidError('legacy key must be a Uint8Array or a string');
  if (bytes.length !== 16 && bytes.length !== 24 && bytes.length !== 32) {
    throw new KeySetInvalidError(`legacy AES-CBC key must be 16, 24 or 32 bytes (got ${bytes.length} bytes)`);
  }
  return bytes;
}

/**
 * True when `value` has the shape of a legacy value: canonical standard base64
 * with padding, decoding to a 16-byte IV plus at least one whole AES block.
 * Says nothing about whether it decrypts.
 */
export function isLegacyCbcShaped(value: unknown, maxLength: number = DEFAULT_MAX_LENGTH): value is string {
  if (typeof value !== 'string' || value.length > maxLength || value.length < 44 || !B64_RE.test(value)) return false;
  const pad = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  const bytes = (value.length / 4) * 3 - pad;
  if (bytes % 16 !== 0) return false;
  // Canonical: the bits below the padding are zero, so each value has one encoding.
  const last = B64.indexOf(value[value.length - 1 - pad]!);
  return pad === 0 || (last & (pad === 2 ? 15 : 3)) === 0;
}

function b64decode(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const a = B64.indexOf(text[i]!), b = B64.indexOf(text[i + 1]!);
    const c = text[i + 2] === '=' ? 0 : B64.indexOf(text[i + 2]!), d = text[i + 3] === '=' ? 0 : B64.indexOf(text[i + 3]!);
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    if (text[i + 2] !== '=') out[o++] = (n >> 8) & 255;
    if (text[i + 3] !== '=') out[o++] = n & 255;
  }
  return out.subarray(0, o);
}

function b64encode(bytes: Uint8Array): string {
  const B = (globalThis as { Buffer?: { from(b: ArrayBufferLike, o: number, l: number): { toString(e: string): string } } }).Buffer;
  if (B) return B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=') + (i + 2 < bytes.length ? B64[n & 63]! : '=');
  }
  return out;
}

function decodeShaped(text: string): Uint8Array {
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  return B ? B.from(text, 'base64') : b64decode(text);
}

function engineName(name: EngineName | undefined): EngineName {
  return getEngine(name).name;
}

function cbcDecrypt(engine: EngineName, key: Uint8Array, iv: Uint8Array, ct: Uint8Array): Uint8Array {
  try {
    if (engine === 'node' && nodeCrypto) {
      const d = nodeCrypto.createDecipheriv(`aes-${key.length * 8}-cbc`, key, iv);
      const first = d.update(ct);
      const last = d.final();
      return last.length === 0 ? first : Buffer.concat([first, last]);
    }
    return cbc(key, iv).decrypt(ct);
  } catch {
    throw new DecryptError(DECRYPT_FAILED);
  }
}

function cbcEncrypt(engine: EngineName, key: Uint8Array, iv: Uint8Array, pt: Uint8Array): Uint8Array {
  if (engine === 'node' && nodeCrypto) {
    const c = nodeCrypto.createCipheriv(`aes-${key.length * 8}-cbc`, key, iv);
    return Buffer.concat([c.update(pt), c.final()]);
  }
  return cbc(key, iv).encrypt(pt);
}

function openShaped(engine: EngineName, key: Uint8Array, text: string): Uint8Array {
  const raw = decodeShaped(text);
  return cbcDecrypt(engine, key, raw.subarray(0, 16), raw.subarray(16));
}

function asText(body: string | Uint8Array): string {
  if (typeof body === 'string') return body;
  if (!(body instanceof Uint8Array)) throw new TypeError('legacy value must be a string or a Uint8Array');
  // base64 is ASCII; any other byte makes the text fail the shape check.
  let s = '';
  for (let i = 0; i < body.length; i += 8192) s += String.fromCharCode(...body.subarray(i, i + 8192));
  return s;
}

/**
 * Decrypts one legacy value (standard padded base64 of IV ‖ AES-CBC
 * ciphertext, PKCS#7) and returns the plaintext bytes. The result is NOT
 * authenticated: anyone on the path could have changed it.
 * @example
 * const text = new TextDecoder().decode(openLegacyCbc(process.env.LEGACY_KEY!, value));
 * @throws TokenMalformedError `ERR_TOKEN_MALFORMED` when the value is not shaped like a legacy value (not canonical padded base64, or not IV + whole blocks)
 * @throws DecryptError `ERR_DECRYPT` for every decryption failure, with one fixed message
 * @throws KeySetInvalidError `ERR_KEYSET_INVALID` when the key is not 16, 24 or 32 bytes
 */
export function openLegacyCbc(key: LegacyKey, value: string | Uint8Array, options: LegacyCbcOptions = {}): Uint8Array {
  const k = legacyKeyBytes(key);
  const engine = engineName(options.engine);
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const text = asText(value);
  if (text.length > maxLength) throw new TokenMalformedError(`legacy value is over the limit of ${maxLength} characters`);
  if (!isLegacyCbcShaped(text, maxLength)) {
    throw new TokenMalformedError('legacy value is not canonical padded base64 of a 16-byte IV and whole AES blocks');
  }
  return openShaped(engine, k, text);
}

function requireInsecure(options: InsecureLegacyOptions | undefined, fn: string): void {
  if (options?.insecureLegacy !== true) {
    throw new AlgUnsupportedError(
      `${fn} writes the legacy AES-CBC format, which has no integrity protection; ` +
        'it is disabled unless you pass { insecureLegacy: true } (only to talk to receivers that have not migrated yet)',
    );
  }
}

/**
 * INSECURE: writes a value in the legacy format (standard padded base64 of a
 * random 16-byte IV ‖ AES-CBC ciphertext with PKCS#7 padding), for receivers
 * that have not migrated to wireseal tokens yet. No integrity protection.
 * @example
 * const value = sealLegacyCbcInsecure(legacyKey, JSON.stringify(order), { insecureLegacy: true });
 * @throws AlgUnsupportedError `ERR_ALG_UNSUPPORTED` unless `options.insecureLegacy === true`
 * @throws KeySetInvalidError `ERR_KEYSET_INVALID` when the key is not 16, 24 or 32 bytes
 */
export function sealLegacyCbcInsecure(key: LegacyKey, plaintext: Uint8Array | string, options: InsecureLegacyOptions): string {
  requireInsecure(options, 'sealLegacyCbcInsecure');
  const k = legacyKeyBytes(key);
  const engine = engineName(options.engine);
  const iv = options.iv ?? getEngine(engine).randomBytes(16);
  if (!(iv instanceof Uint8Array) || iv.length !== 16) throw new TypeError('iv must be 16 bytes');
  const pt = typeof plaintext === 'string' ? utf8.encode(plaintext) : plaintext;
  if (!(pt instanceof Uint8Array)) throw new TypeError('plaintext must be a Uint8Array or a string');
  const ct = cbcEncrypt(engine, k, iv, pt);
  const out = new Uint8Array(16 + ct.length);
  out.set(iv, 0);
  out.set(ct, 16);
  return b64encode(out);
}

function foldPath(path: string): string {
  return path.replace(/\[\d+\]/g, '[*]');
}

/**
 * A legacy AES-CBC reader for `decryptFields` in `migrate` mode (per path)
 * and for whole-payload codecs, with counts for operators.
 *
 * A value that is not shaped like a legacy value (not a string, not canonical
 * padded base64, not IV + whole blocks) is not legacy: `read` returns
 * `undefined` and it passes through as plaintext. A value shaped like one
 * that fails to decrypt, or whose text is not UTF-8 (or not JSON with
 * `parse: 'json'`), is rejected with `ERR_DECRYPT` and one fixed message,
 * never passed through: a corrupted or tampered ciphertext must not reach the
 * application as if it were plaintext.
 * @example
 * const legacy = legacyCbcReader({ key: process.env.LEGACY_KEY!, paths: ['card.number'] });
 * const { doc } = decryptFields(keys, body, policy, { mode: 'migrate', legacy: [legacy] });
 * legacy.stats(); // { fields: 1, payloads: 0, rejected: 0, byPath: { 'card.number': 1 }, lastSeenAt: ... }
 * @throws KeySetInvalidError `ERR_KEYSET_INVALID` when the key is not 16, 24 or 32 bytes
 */
export function legacyCbcReader(options: LegacyCbcReaderOptions): LegacyCbcReader {
  const key = legacyKeyBytes(options.key);
  const engine = engineName(options.engine);
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const parse = options.parse ?? 'string';
  if (parse !== 'string' && parse !== 'json') throw new TypeError('parse must be "string" or "json"');
  const name = options.name ?? 'legacy-aes-cbc';
  const now = options.now ?? Date.now;
  const counts = { fields: 0, payloads: 0, rejected: 0, lastSeenAt: null as number | null };
  const byPath = new Map<string, number>();

  const report = (kind: 'field' | 'payload', outcome: 'read' | 'rejected', path?: string): void => {
    counts.lastSeenAt = now();
    if (outcome === 'rejected') counts.rejected++;
    else if (kind === 'payload') counts.payloads++;
    else {
      counts.fields++;
      let p = foldPath(path ?? '');
      if (!byPath.has(p) && byPath.size >= MAX_PATHS) p = '(other)';
      byPath.set(p, (byPath.get(p) ?? 0) + 1);
    }
    options.onLegacy?.(path === undefined ? { reader: name, kind, outcome } : { reader: name, kind, path, outcome });
  };

  const reader: LegacyCbcReader = {
    name,
    read(value: JsonValue, path: string): JsonValue | undefined {
      if (!isLegacyCbcShaped(value, maxLength)) return undefined;
      let out: JsonValue;
      try {
        const text = strictUtf8.decode(openShaped(engine, key, value));
        out = parse === 'json' ? (JSON.parse(text) as JsonValue) : text;
      } catch {
        report('field', 'rejected', path);
        // The same message for padding, UTF-8 and JSON failures: only the (public) path varies.
        throw new DecryptError(`field "${path}": ${DECRYPT_FAILED}`);
      }
      report('field', 'read', path);
      return out;
    },
    openPayload(body: string | Uint8Array): Uint8Array | undefined {
      const text = asText(body);
      if (!isLegacyCbcShaped(text, maxLength)) return undefined;
      let out: Uint8Array;
      try {
        out = openShaped(engine, key, text);
      } catch (err) {
        report('payload', 'rejected');
        throw err;
      }
      report('payload', 'read');
      return out;
    },
    stats(): LegacyStats {
      return { ...counts, byPath: Object.fromEntries(byPath) };
    },
  };
  if (options.paths !== undefined) (reader as { paths?: readonly string[] }).paths = Object.freeze([...options.paths]);
  return Object.freeze(reader);
}

/** Options for {@link sealLegacyFieldsInsecure}. */
export interface InsecureLegacyFieldsOptions extends InsecureLegacyOptions {
  /**
   * `string` (default): a string value is encrypted as its text, any other
   * value as its JSON text. `json`: every value is encrypted as its JSON text
   * (a string gets quotes). Match what the receiver expects.
   */
  format?: LegacyParse;
}

/**
 * INSECURE: a copy of `doc` with every policy path written in the legacy
 * AES-CBC format, for receivers that have not migrated yet. The input is not
 * changed; paths that match nothing are skipped. No integrity protection.
 * @throws AlgUnsupportedError `ERR_ALG_UNSUPPORTED` unless `options.insecureLegacy === true`
 */
export function sealLegacyFieldsInsecure<T = JsonValue>(key: LegacyKey, doc: T, policy: FieldPolicy, options: InsecureLegacyFieldsOptions): T {
  requireInsecure(options, 'sealLegacyFieldsInsecure');
  const k = legacyKeyBytes(key);
  const format = options.format ?? 'string';
  const seal = (v: unknown): string =>
    sealLegacyCbcInsecure(k, format === 'string' && typeof v === 'string' ? v : JSON.stringify(v), { insecureLegacy: true, ...(options.engine ? { engine: options.engine } : {}) });
  // JSON round trip: a plain copy whose "__proto__" keys are own data properties.
  const box: { v: unknown } = { v: JSON.parse(JSON.stringify(doc) ?? 'null') };
  for (const path of policy.paths) {
    walk(box, path, (holder, slot) => {
      const value = (holder as Record<string | number, unknown>)[slot];
      if (value !== undefined) put(holder, slot, seal(value));
    }, false);
  }
  return box.v as T;
}
