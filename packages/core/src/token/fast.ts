/**
 * The amortizing GCM engine (`../gcm/`) on the token layer: for content keys
 * that serve many tokens (held by data-key reuse, or cached unwrapped by a
 * reader), with the `node` engine, and for field-sized plaintexts. A key is
 * prepared once (an ECB context and GHASH's key), and each protected header's
 * GHASH state once per key, so a field token costs one ECB call for its
 * counter blocks, a few constant-time GHASH blocks and the XOR, instead of
 * node:crypto's five calls. The output is byte-identical to node:crypto's
 * (test/gcm-*.test.ts); every other case stays on node:crypto.
 */
import type { Engine } from '../engine.ts';
import { nodeEngine } from '../engine.ts';
import type { GcmKey, PreparedAad } from '../gcm/index.ts';
import { GCM_AHEAD_MAX_BYTES, prepareGcmKey } from '../gcm/index.ts';
import { NodeBuffer } from '../runtime.ts';

/**
 * Largest field plaintext (UTF-8 bytes) sealed or opened here. Past it,
 * node:crypto is faster: its fixed cost is ~2.5 µs per operation, this
 * engine's ~0.8 µs plus ~0.16 µs per 16-byte block (bench/gcm.ts).
 */
export const FAST_MAX_BYTES = GCM_AHEAD_MAX_BYTES;

/** Content keys that serve many tokens; a GcmKey is prepared for them on first use. */
const reusable = new WeakSet<Uint8Array>();
const prepared = new WeakMap<Uint8Array, GcmKey>();
/** Prepared headers per key, by header segment; at most this many per key (bound records give one header each). */
const MAX_AADS = 256;
const aads = new WeakMap<GcmKey, Map<string, PreparedAad>>();

/** @internal Marks a content key as serving many tokens (held for reuse, or cached by a reader). */
export function markReusable(cek: Uint8Array): void {
  reusable.add(cek);
}

/** @internal The prepared key for `cek`, when the fast path applies to it with `engine`. */
export function fastKeyFor(engine: Engine, cek: Uint8Array): GcmKey | undefined {
  if (engine !== nodeEngine || !reusable.has(cek)) return undefined;
  let key = prepared.get(cek);
  if (key === undefined) {
    key = prepareGcmKey(cek);
    prepared.set(cek, key);
  }
  return key;
}

/** @internal The prepared AAD of a header segment under `key`. */
export function preparedAad(key: GcmKey, headerB64: string, aad: Uint8Array): PreparedAad {
  let byHeader = aads.get(key);
  if (byHeader === undefined) aads.set(key, (byHeader = new Map()));
  let p = byHeader.get(headerB64);
  if (p === undefined) {
    p = key.prepareAad(aad);
    if (byHeader.size >= MAX_AADS) byHeader.clear();
    byHeader.set(headerB64, p);
  }
  return p;
}

/**
 * @internal Opens under a prepared key; returns the plaintext bytes.
 * @throws DecryptError `ERR_DECRYPT` when the tag does not verify
 */
export function fastOpen(key: GcmKey, headerB64: string, aad: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array {
  return key.open(iv, preparedAad(key, headerB64, aad), ciphertext, tag);
}

/** One field of a document to seal under a prepared key. */
export interface FastSealItem {
  readonly headerB64: string;
  readonly aad: Uint8Array;
  /** The encrypted-key segment (base64url), shared by the key's tokens. */
  readonly ek: string;
  /** UTF-8 JSON text, at most {@link FAST_MAX_BYTES}. */
  readonly plaintext: Uint8Array;
}

/** Scratch for a document's IVs, ciphertexts and tags, encoded at once: it holds only what goes on the wire. */
let scratch: Buffer | undefined;

/**
 * @internal Seals a document's fields under one prepared key with one native
 * call and one random draw; returns the compact tokens in order. Each token's
 * IV, ciphertext and tag are laid out as `iv || ciphertext || tag` in one
 * scratch buffer and encoded in two calls: 12 IV bytes are four whole base64
 * groups, so the text of `iv || ciphertext` is the IV's 16 characters
 * followed by the ciphertext's.
 */
export function fastSealTexts(engine: Engine, key: GcmKey, items: readonly FastSealItem[]): string[] {
  const n = items.length;
  if (!NodeBuffer) throw new Error('unreachable: the fast path needs node:crypto');
  let total = 0;
  for (let i = 0; i < n; i++) total += 28 + items[i]!.plaintext.length;
  if (scratch === undefined || scratch.length < total) scratch = NodeBuffer.allocUnsafeSlow(Math.max(total, 4096)) as Buffer;
  const buf = scratch;
  const at = new Int32Array(n);
  const batch = new Array<{ aad: PreparedAad; plaintext: Uint8Array }>(n);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const it = items[i]!;
    batch[i] = { aad: preparedAad(key, it.headerB64, it.aad), plaintext: it.plaintext };
    at[i] = o;
    o += 28 + it.plaintext.length;
  }
  // IVs and their keystream come computed ahead, 32 at a time (one ECB call for several documents).
  key.sealAheadInto(batch, buf, at);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const it = items[i]!;
    const start = at[i]!;
    const tagAt = start + 12 + it.plaintext.length;
    const ivCt = buf.toString('base64url', start, tagAt);
    out[i] = [it.headerB64, it.ek, ivCt.slice(0, 16), ivCt.slice(16), buf.toString('base64url', tagAt, tagAt + 16)].join('.');
  }
  return out;
}

/** One token of a document to open under a prepared key. */
export interface FastOpenItem {
  readonly headerB64: string;
  readonly aad: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** Scratch for a document's plaintexts while they are decoded to text; zeroed after each batch. */
let plainScratch: Buffer | undefined;

/**
 * @internal Opens a document's tokens under one prepared key with one native
 * call: the UTF-8 text of each; `null` where a tag fails; a copy of the
 * bytes where their text has U+FFFD (which may stand for invalid UTF-8: the
 * caller decodes those strictly). Plaintexts pass through one scratch
 * buffer, zeroed before returning.
 */
export function fastOpenTexts(key: GcmKey, items: readonly FastOpenItem[]): Array<string | Uint8Array | null> {
  if (!NodeBuffer) throw new Error('unreachable: the fast path needs node:crypto');
  const n = items.length;
  const at = new Int32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    at[i] = total;
    total += items[i]!.ciphertext.length;
  }
  if (plainScratch === undefined || plainScratch.length < total) plainScratch = NodeBuffer.allocUnsafeSlow(Math.max(total, 4096)) as Buffer;
  const buf = plainScratch;
  const ok = key.openBatchInto(
    items.map((it) => ({ iv: it.iv, aad: preparedAad(key, it.headerB64, it.aad), ciphertext: it.ciphertext, tag: it.tag })),
    buf,
    at,
  );
  const out = new Array<string | Uint8Array | null>(n).fill(null);
  for (let i = 0; i < n; i++) {
    if (!ok[i]) continue;
    const end = at[i]! + items[i]!.ciphertext.length;
    const text = buf.toString('utf8', at[i]!, end);
    out[i] = text.includes('\uFFFD') ? Uint8Array.prototype.slice.call(buf, at[i]!, end) : text;
  }
  buf.fill(0, 0, total);
  return out;
}
