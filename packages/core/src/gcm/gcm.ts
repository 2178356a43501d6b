/**
 * An amortizing AES-256-GCM engine for many small messages under one key.
 *
 * A node:crypto GCM operation on a 20-byte field spends almost all of its
 * ~5 µs in five native calls (createCipheriv, setAAD, update, final,
 * getAuthTag). Here a key is prepared once: an AES-256-ECB context from
 * node:crypto (OpenSSL, AES-NI) that is reused with `update()` and never
 * finalized, and H = E_K(0^128) with its GHASH precomputation. A batch of
 * fields (one document) then costs ONE native call: every counter block of
 * every item (J0 for the tag, inc32(J0), inc32²(J0), … for the keystream) is
 * laid out in one buffer and encrypted by one ECB `update()`. The keystream is
 * XORed into the data in JavaScript and GHASH runs in constant-time
 * JavaScript (see `./ghash.ts`). The GHASH state after an AAD (the JWE
 * protected header, shared by many fields) is cached in a
 * {@link PreparedAad}, so a field costs only its own blocks plus the length
 * block.
 *
 * Side-channel stance: AES itself runs in OpenSSL (AES-NI where present,
 * else OpenSSL's own implementation). Secret values handled in JavaScript
 * (H, GHASH states, keystream, E_K(J0), plaintext) only go through XOR, AND,
 * OR, shifts and `Math.imul`: no table index and no branch depends on them.
 * Branches and loop bounds depend on lengths, item counts and the final
 * verdict of tag verification, all public. The tag is compared by
 * OR-accumulating the XOR of all 16 bytes, no early exit, and plaintext is
 * only released after the tag verified. JavaScript cannot guarantee that
 * secrets are wiped from memory (the JIT and GC may copy them); buffers this
 * module owns are zeroed after use on a best-effort basis.
 *
 * Only 96-bit IVs and 128-bit tags (what JWE `A256GCM` uses). Items above
 * {@link GCM_MAX_ITEM_BYTES} belong to node:crypto's streaming GCM.
 */
import type * as NodeCrypto from 'node:crypto';
import { ArgumentInvalidError, DecryptError, RuntimeUnsupportedError } from '../errors.ts';
import { nodeCrypto } from '../runtime.ts';
import { ghashLengths, ghashTable, ghashUpdate } from './ghash.ts';

/** Largest plaintext or ciphertext of one item, in bytes (64 KiB); larger messages belong to node:crypto's GCM. */
export const GCM_MAX_ITEM_BYTES = 65536;
/** Largest AAD, in bytes (64 KiB). */
export const GCM_MAX_AAD_BYTES = 65536;
/** IV length: only 96-bit IVs are supported. */
export const GCM_IV_BYTES = 12;
/** Tag length: only full 128-bit tags are produced and accepted. */
export const GCM_TAG_BYTES = 16;
/** Largest plaintext of {@link GcmKey.sealAheadInto} (ten keystream blocks per precomputed IV). */
export const GCM_AHEAD_MAX_BYTES = 160;
/** Keystream slots computed per ECB call by {@link GcmKey.sealAheadInto}. */
const AHEAD_SLOTS = 32;
/** Blocks per slot: E(J0) for the tag, then the counter blocks. */
const AHEAD_SLOT_BLOCKS = 1 + GCM_AHEAD_MAX_BYTES / 16;
const AHEAD_SLOT_BYTES = 16 * AHEAD_SLOT_BLOCKS;

/** One message to seal. */
export interface GcmSealItem {
  /** 12-byte IV; must never repeat under one key. */
  readonly iv: Uint8Array;
  /** The AAD, prepared by the same key (cached GHASH state) or as raw bytes (hashed for this call only). */
  readonly aad: PreparedAad | Uint8Array;
  /** At most {@link GCM_MAX_ITEM_BYTES}. */
  readonly plaintext: Uint8Array;
}

/** One message to open. */
export interface GcmOpenItem {
  /** 12-byte IV. */
  readonly iv: Uint8Array;
  /** The AAD, prepared by the same key or as raw bytes. */
  readonly aad: PreparedAad | Uint8Array;
  /** At most {@link GCM_MAX_ITEM_BYTES}. */
  readonly ciphertext: Uint8Array;
  /** 16-byte tag. */
  readonly tag: Uint8Array;
}

/** A sealed message: ciphertext (same length as the plaintext) and 16-byte tag, each in its own buffer. */
export interface GcmSealed {
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** AADs up to this many bytes are hashed with the key's prefix memo (see `#hashAad`); longer ones directly. */
const MEMO_AAD_MAX = 1024;

/** Batches whose counter blocks fit in this many bytes reuse the key's scratch buffer; larger ones get their own. */
const SCRATCH_MAX = 64 * 1024;

// Module-private access to the private state of PreparedAad (set in its static block).
let aadKey: (aad: PreparedAad) => GcmKey;
let aadCached: (aad: PreparedAad) => Int32Array | undefined;
let aadBytes: (aad: PreparedAad) => Uint8Array;
let setAadState: (aad: PreparedAad, state: Int32Array) => void;

/**
 * The GHASH state after an AAD (zero-padded to a block), cached for reuse by
 * every item of its key that has this AAD. Made by {@link GcmKey.prepareAad};
 * usable only with that key. Computed lazily, on first use, if the key's H is
 * not known yet. Holds secret-derived state: it is not serializable and shows
 * nothing when inspected.
 */
export class PreparedAad {
  readonly #key: GcmKey;
  #bytes: Uint8Array | undefined;
  #state: Int32Array | undefined;
  readonly #length: number;

  static {
    aadKey = (aad) => aad.#key;
    aadCached = (aad) => aad.#state;
    aadBytes = (aad) => aad.#bytes!;
    setAadState = (aad, state) => {
      aad.#state = state;
      aad.#bytes = undefined;
    };
  }

  /** @internal Use {@link GcmKey.prepareAad}. */
  constructor(key: GcmKey, aad: Uint8Array, token: symbol) {
    if (token !== INTERNAL) throw new ArgumentInvalidError('PreparedAad is made by GcmKey.prepareAad');
    this.#key = key;
    // A copy even for a Buffer (whose slice() is a view).
    this.#bytes = new Uint8Array(aad);
    this.#state = undefined;
    this.#length = aad.length;
  }

  /** Length of the AAD in bytes. */
  get length(): number {
    return this.#length;
  }
}

const INTERNAL = Symbol('gcm-internal');

/**
 * A prepared AES-256-GCM key: a reusable AES-256-ECB context and the GHASH
 * precomputation of H. Every call is synchronous and leaves no state behind
 * but H, the prefix memo and scratch space, so one key serves any number of
 * interleaved callers on its thread. Make one with {@link prepareGcmKey}.
 */
export class GcmKey {
  #ecb: NodeCrypto.Cipheriv | undefined;
  /** ghashTable(H), or undefined until the first batch computes H (in the same ECB call). */
  #table: Int32Array | undefined;
  #scratch: Uint8Array;
  /** Working GHASH state. */
  readonly #w = new Int32Array(4);
  /** The last AAD hashed (first #memoLength bytes) and the GHASH state after each of its blocks (state 0 = zero). */
  #memoBytes = new Uint8Array(256);
  #memoStates = new Int32Array(4 * (256 / 16 + 1));
  #memoLength = 0;
  /** Keystream computed ahead for random IVs drawn ahead ({@link GcmKey.sealAheadInto}); each slot used once, then zeroed. */
  #ahead: { ks: Uint8Array; ivs: Uint8Array; next: number } | undefined;

  /** @internal Use {@link prepareGcmKey}. */
  constructor(ecb: NodeCrypto.Cipheriv, token: symbol) {
    if (token !== INTERNAL) throw new ArgumentInvalidError('GcmKey is made by prepareGcmKey');
    this.#ecb = ecb;
    this.#table = undefined;
    this.#scratch = new Uint8Array(512);
  }

  /**
   * Prepares an AAD for this key: its GHASH state is computed once (now, or
   * on first use if H is not known yet) and reused by every item that uses it.
   * The bytes are copied.
   * @throws ArgumentInvalidError when `aad` is not a Uint8Array of at most {@link GCM_MAX_AAD_BYTES}
   */
  prepareAad(aad: Uint8Array): PreparedAad {
    this.#live();
    if (!(aad instanceof Uint8Array) || aad.length > GCM_MAX_AAD_BYTES) {
      throw new ArgumentInvalidError(`AAD must be a Uint8Array of at most ${GCM_MAX_AAD_BYTES} bytes`);
    }
    const p = new PreparedAad(this, aad, INTERNAL);
    if (this.#table !== undefined) this.#aadState(p);
    return p;
  }

  /**
   * Seals a batch of items with one native call: the ciphertext and tag of
   * each, in order. Byte-identical to node:crypto's `aes-256-gcm`.
   * @throws ArgumentInvalidError on a bad IV, plaintext, or an AAD of another key
   */
  sealBatch(items: readonly GcmSealItem[]): GcmSealed[] {
    const out: GcmSealed[] = new Array<GcmSealed>(items.length);
    this.#seal(items, undefined, undefined, out);
    return out;
  }

  /**
   * Like {@link sealBatch}, writing each item's ciphertext at `at[i]` of
   * `out` and its tag right after it (`at[i] + plaintext length`), with no
   * allocation per item. The ranges must not overlap any plaintext.
   * @throws ArgumentInvalidError when a range falls outside `out`
   */
  sealBatchInto(items: readonly GcmSealItem[], out: Uint8Array, at: ArrayLike<number>): void {
    for (let i = 0; i < items.length; i++) {
      const o = at[i]!;
      const len = items[i]?.plaintext?.length ?? 0;
      if (!Number.isInteger(o) || o < 0 || o + len + 16 > out.length) throw new ArgumentInvalidError(`output range of item ${i} is outside the buffer`);
    }
    this.#seal(items, out, at, undefined);
  }

  /**
   * Seals items under fresh random IVs of its own choosing, from keystream
   * computed ahead: one ECB call serves {@link AHEAD_SLOTS} items, across
   * batches. Writes `iv || ciphertext || tag` for item i at `at[i]` of `out`.
   * The IVs come from node:crypto's CSPRNG, 32 at a time, and each
   * precomputed slot serves exactly one item and is then zeroed; slots not yet
   * used are secret material held like the key (zeroed by {@link destroy}).
   * Byte-identical to node:crypto's `aes-256-gcm` under the IV it wrote.
   * @throws ArgumentInvalidError for a plaintext over {@link GCM_AHEAD_MAX_BYTES}, an AAD of another key, or a range outside `out`
   */
  sealAheadInto(items: readonly { readonly aad: PreparedAad | Uint8Array; readonly plaintext: Uint8Array }[], out: Uint8Array, at: ArrayLike<number>): void {
    const ecb = this.#live();
    const n = items.length;
    // Everything read once, here (offsets and lengths too): nothing below calls back into caller code.
    const pts = new Array<Uint8Array>(n);
    const aads = new Array<PreparedAad | Uint8Array>(n);
    const offs = new Int32Array(n);
    const lens = new Int32Array(n);
    const end = out.length;
    for (let i = 0; i < n; i++) {
      const it = items[i]!;
      const pt = it.plaintext;
      if (!(pt instanceof Uint8Array)) throw new ArgumentInvalidError(`plaintext must be a Uint8Array of at most ${GCM_AHEAD_MAX_BYTES} bytes`);
      const len = pt.byteLength;
      if (len > GCM_AHEAD_MAX_BYTES) throw new ArgumentInvalidError(`plaintext must be a Uint8Array of at most ${GCM_AHEAD_MAX_BYTES} bytes`);
      const o = Number(at[i]);
      if (!Number.isInteger(o) || o < 0 || o + 28 + len > end) throw new ArgumentInvalidError(`output range of item ${i} is outside the buffer`);
      pts[i] = pt;
      offs[i] = o;
      lens[i] = len;
      aads[i] = this.#checkAad(it.aad);
    }
    const w = this.#w;
    for (let i = 0; i < n; i++) {
      let ahead = this.#ahead;
      if (ahead === undefined || ahead.next === AHEAD_SLOTS) ahead = this.#refill(ecb);
      const slot = ahead.next++;
      const ks = ahead.ks;
      const base = slot * AHEAD_SLOT_BYTES;
      const pt = pts[i]!;
      const len = lens[i]!;
      const o = offs[i]!;
      const ivAt = slot * 12;
      for (let k = 0; k < 12; k++) out[o + k] = ahead.ivs[ivAt + k]!;
      const c0 = o + 12;
      for (let k = 0; k < len; k++) out[c0 + k] = pt[k]! ^ ks[base + 16 + k]!;
      const aadLen = this.#startState(aads[i]!, w);
      ghashUpdate(w, this.#table!, out, c0, c0 + len);
      ghashLengths(w, this.#table!, aadLen, len);
      tagBytes(w, ks, base, out, c0 + len);
      ks.fill(0, base, base + AHEAD_SLOT_BYTES);
      ahead.ivs.fill(0, ivAt, ivAt + 12);
    }
    w.fill(0);
  }

  /** Draws the next {@link AHEAD_SLOTS} IVs and computes their keystream (and H, the first time) in one ECB call. */
  #refill(ecb: NodeCrypto.Cipheriv): { ks: Uint8Array; ivs: Uint8Array; next: number } {
    const crypto = nodeCrypto;
    if (!crypto) throw new RuntimeUnsupportedError('the batched GCM engine needs node:crypto');
    const ivs = new Uint8Array(12 * AHEAD_SLOTS);
    crypto.randomFillSync(ivs);
    const needH = this.#table === undefined;
    const head = needH ? 16 : 0;
    const blocks = new Uint8Array(head + AHEAD_SLOTS * AHEAD_SLOT_BYTES);
    let o = head;
    for (let s = 0; s < AHEAD_SLOTS; s++) {
      for (let c = 1; c <= AHEAD_SLOT_BLOCKS; c++) {
        for (let k = 0; k < 12; k++) blocks[o + k] = ivs[12 * s + k]!;
        blocks[o + 15] = c;
        o += 16;
      }
    }
    const out = ecb.update(blocks);
    if (out.length !== blocks.length) throw new RuntimeUnsupportedError('AES-256-ECB returned an unexpected length');
    if (needH) this.#table = ghashTable(out, 0);
    const ks = out.subarray(head);
    this.#ahead?.ks.fill(0);
    this.#ahead = { ks, ivs, next: 0 };
    if (needH) out.fill(0, 0, 16);
    return this.#ahead;
  }

  /** Seals into `out` at `at[i]` (ciphertext, then tag), or, without `out`, into new arrays put in `sealed`. */
  #seal(items: readonly GcmSealItem[], out: Uint8Array | undefined, at: ArrayLike<number> | undefined, sealed: GcmSealed[] | undefined): void {
    const ecb = this.#live();
    const n = items.length;
    // Each item's fields are read once, here: the layout and the pass over
    // the keystream below use these snapshots, never the items again.
    const ivs = new Array<Uint8Array>(n);
    const aads = new Array<PreparedAad | Uint8Array>(n);
    const pts = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) {
      const it = items[i]!;
      ivs[i] = checkIv(it.iv);
      pts[i] = checkData(it.plaintext, 'plaintext');
      aads[i] = this.#checkAad(it.aad);
    }
    const lens = lengths(pts, n);
    const needH = this.#table === undefined;
    const ks = this.#keystream(ecb, ivs, lens, n, needH);
    const t = this.#table!;
    const w = this.#w;
    let o = needH ? 16 : 0;
    for (let i = 0; i < n; i++) {
      const pt = pts[i]!;
      const len = lens[i]!;
      const j0 = o;
      o += 16;
      let ct: Uint8Array;
      let tag: Uint8Array;
      let c0 = 0;
      let t0 = 0;
      if (out !== undefined) {
        ct = tag = out;
        c0 = at![i]!;
        t0 = c0 + len;
      } else {
        ct = new Uint8Array(len);
        tag = new Uint8Array(16);
        sealed![i] = { ciphertext: ct, tag };
      }
      for (let k = 0; k < len; k++) ct[c0 + k] = pt[k]! ^ ks[o + k]!;
      o += (len + 15) & ~15;
      const aadLen = this.#startState(aads[i]!, w);
      ghashUpdate(w, t, ct, c0, c0 + len);
      ghashLengths(w, t, aadLen, len);
      tagBytes(w, ks, j0, tag, t0);
    }
    w.fill(0);
    ks.fill(0);
  }

  /**
   * Opens a batch of items with one native call. Each entry is the plaintext,
   * or `null` when that item's tag does not verify (wrong key, tampered
   * ciphertext, tag, IV or AAD); the other items are unaffected. Plaintext is
   * only produced for items whose tag verified.
   * @throws ArgumentInvalidError on a bad IV, ciphertext, tag, or an AAD of another key
   */
  openBatch(items: readonly GcmOpenItem[]): Array<Uint8Array | null> {
    const out = new Array<Uint8Array | null>(items.length).fill(null);
    this.#open(items, (i, len) => {
      const pt = new Uint8Array(len);
      out[i] = pt;
      return [pt, 0];
    });
    return out;
  }

  /**
   * Like {@link openBatch}, writing each verified item's plaintext at `at[i]`
   * of `out` (nothing is written for an item whose tag fails). Returns, per
   * item, whether its tag verified.
   * @throws ArgumentInvalidError when a range falls outside `out`
   */
  openBatchInto(items: readonly GcmOpenItem[], out: Uint8Array, at: ArrayLike<number>): boolean[] {
    const ok = new Array<boolean>(items.length).fill(false);
    for (let i = 0; i < items.length; i++) {
      const o = at[i]!;
      const len = items[i]!.ciphertext?.length ?? 0;
      if (!Number.isInteger(o) || o < 0 || o + len > out.length) throw new ArgumentInvalidError(`output range of item ${i} is outside the buffer`);
    }
    this.#open(items, (i) => {
      ok[i] = true;
      return [out, at[i]!];
    });
    return ok;
  }

  #open(items: readonly GcmOpenItem[], place: (i: number, len: number) => [Uint8Array, number]): void {
    const ecb = this.#live();
    const n = items.length;
    const ivs = new Array<Uint8Array>(n);
    const aads = new Array<PreparedAad | Uint8Array>(n);
    const cts = new Array<Uint8Array>(n);
    const tags = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) {
      const it = items[i]!;
      ivs[i] = checkIv(it.iv);
      cts[i] = checkData(it.ciphertext, 'ciphertext');
      const tag = it.tag;
      if (!(tag instanceof Uint8Array) || tag.length !== GCM_TAG_BYTES) {
        throw new ArgumentInvalidError(`tag must be a Uint8Array of ${GCM_TAG_BYTES} bytes`);
      }
      tags[i] = tag;
      aads[i] = this.#checkAad(it.aad);
    }
    const lens = lengths(cts, n);
    const needH = this.#table === undefined;
    const ks = this.#keystream(ecb, ivs, lens, n, needH);
    const t = this.#table!;
    const w = this.#w;
    let o = needH ? 16 : 0;
    for (let i = 0; i < n; i++) {
      const ct = cts[i]!;
      const len = lens[i]!;
      const j0 = o;
      o += 16;
      const aadLen = this.#startState(aads[i]!, w);
      ghashUpdate(w, t, ct, 0, len);
      ghashLengths(w, t, aadLen, len);
      if (tagDiff(w, ks, j0, tags[i]!) === 0) {
        const [pt, p0] = place(i, len);
        for (let k = 0; k < len; k++) pt[p0 + k] = ct[k]! ^ ks[o + k]!;
      }
      o += (len + 15) & ~15;
    }
    w.fill(0);
    ks.fill(0);
  }

  /** Seals one item (a batch of one). */
  seal(iv: Uint8Array, aad: PreparedAad | Uint8Array, plaintext: Uint8Array): GcmSealed {
    return this.sealBatch([{ iv, aad, plaintext }])[0]!;
  }

  /**
   * Opens one item (a batch of one).
   * @throws DecryptError when the tag does not verify
   */
  open(iv: Uint8Array, aad: PreparedAad | Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array {
    const pt = this.openBatch([{ iv, aad, ciphertext, tag }])[0];
    if (!pt) throw new DecryptError('token authentication failed: wrong key or tampered token');
    return pt;
  }

  /**
   * Forgets the key: zeroes the GHASH precomputation and drops the ECB
   * context (OpenSSL frees its key schedule when it is collected). Later calls
   * throw. Prepared AADs of this key become unusable.
   */
  destroy(): void {
    this.#table?.fill(0);
    this.#table = undefined;
    this.#ahead?.ks.fill(0);
    this.#ahead?.ivs.fill(0);
    this.#ahead = undefined;
    this.#ecb = undefined;
    this.#scratch.fill(0);
    this.#memoStates.fill(0);
    this.#memoLength = 0;
  }

  #live(): NodeCrypto.Cipheriv {
    const ecb = this.#ecb;
    if (ecb === undefined) throw new ArgumentInvalidError('this GCM key was destroyed');
    return ecb;
  }

  #checkAad(aad: PreparedAad | Uint8Array): PreparedAad | Uint8Array {
    if (aad instanceof PreparedAad) {
      if (aadKey(aad) !== this) throw new ArgumentInvalidError('this PreparedAad belongs to another GCM key');
    } else if (!(aad instanceof Uint8Array) || aad.length > GCM_MAX_AAD_BYTES) {
      throw new ArgumentInvalidError(`AAD must be a PreparedAad of this key or a Uint8Array of at most ${GCM_MAX_AAD_BYTES} bytes`);
    }
    return aad;
  }

  /** Computes and caches a prepared AAD's state (H must be known). */
  #aadState(aad: PreparedAad): Int32Array {
    const cached = aadCached(aad);
    if (cached !== undefined) return cached;
    const s = new Int32Array(4);
    this.#hashAad(aadBytes(aad), aad.length, s);
    setAadState(aad, s);
    return s;
  }

  /**
   * s ← GHASH_H(aad zero-padded). The AADs of one document's fields are JWE
   * headers that differ only towards the end (`wsf`), so the key remembers
   * the last AAD it hashed (a copy) and the GHASH state after each of its
   * blocks: a new AAD resumes from the state after the blocks it shares with
   * that one. AADs are public, so comparing them leaks nothing; the states
   * are secret and only ever copied.
   */
  #hashAad(aad: Uint8Array, len: number, s: Int32Array): void {
    const t = this.#table!;
    if (len > MEMO_AAD_MAX) {
      this.#memoLength = 0;
      s.fill(0);
      ghashUpdate(s, t, aad, 0, len);
      return;
    }
    if (len > this.#memoBytes.length) {
      const size = Math.min(MEMO_AAD_MAX, Math.max(2 * this.#memoBytes.length, (len + 15) & ~15));
      this.#memoStates.fill(0);
      this.#memoBytes = new Uint8Array(size);
      this.#memoStates = new Int32Array(4 * (size / 16 + 1));
      this.#memoLength = 0;
    }
    const prev = this.#memoBytes;
    const prevLen = this.#memoLength;
    const states = this.#memoStates;
    const common = Math.min(len, prevLen);
    let p = 0;
    while (p < common && aad[p] === prev[p]) p++;
    // Blocks shared in full; an identical AAD shares its partial last block too.
    const blocks = (len + 15) >>> 4;
    const k = p === len && len === prevLen ? blocks : p >>> 4;
    s[0] = states[4 * k]!;
    s[1] = states[4 * k + 1]!;
    s[2] = states[4 * k + 2]!;
    s[3] = states[4 * k + 3]!;
    for (let b = k; b < blocks; b++) {
      const from = 16 * b;
      const to = Math.min(from + 16, len);
      ghashUpdate(s, t, aad, from, to);
      for (let i = from; i < to; i++) prev[i] = aad[i]!;
      const q = 4 * (b + 1);
      states[q] = s[0]!;
      states[q + 1] = s[1]!;
      states[q + 2] = s[2]!;
      states[q + 3] = s[3]!;
    }
    this.#memoLength = len;
  }

  /** Loads the GHASH state after `aad` into `w`; returns the AAD length. */
  #startState(aad: PreparedAad | Uint8Array, w: Int32Array): number {
    if (aad instanceof PreparedAad) {
      const s = this.#aadState(aad);
      w[0] = s[0]!;
      w[1] = s[1]!;
      w[2] = s[2]!;
      w[3] = s[3]!;
      return aad.length;
    }
    this.#hashAad(aad, aad.length, w);
    return aad.length;
  }

  /**
   * Lays out the counter blocks of all items (after a zero block when H is
   * still unknown) and encrypts them with one ECB update(): returns the
   * keystream buffer, E_K(J0) of each item followed by its keystream blocks.
   */
  #keystream(ecb: NodeCrypto.Cipheriv, ivs: readonly Uint8Array[], lens: Int32Array, n: number, needH: boolean): Uint8Array {
    let blocks = needH ? 1 : 0;
    for (let i = 0; i < n; i++) blocks += 1 + ((lens[i]! + 15) >>> 4);
    const bytes = blocks * 16;
    let buf = this.#scratch;
    if (buf.length < bytes) {
      buf = new Uint8Array(bytes <= SCRATCH_MAX ? Math.max(bytes, 2 * buf.length) : bytes);
      if (bytes <= SCRATCH_MAX) this.#scratch = buf;
    }
    let o = 0;
    if (needH) {
      for (let k = 0; k < 16; k++) buf[k] = 0;
      o = 16;
    }
    for (let i = 0; i < n; i++) {
      const iv = ivs[i]!;
      const count = 1 + ((lens[i]! + 15) >>> 4);
      // Counter blocks IV || 1 (J0), IV || 2, ...: at most 4097 blocks, no 32-bit wrap.
      for (let c = 1; c <= count; c++) {
        for (let k = 0; k < 12; k++) buf[o + k] = iv[k]!;
        buf[o + 12] = 0;
        buf[o + 13] = 0;
        buf[o + 14] = c >>> 8;
        buf[o + 15] = c & 0xff;
        o += 16;
      }
    }
    const ks = ecb.update(buf.subarray(0, bytes));
    if (ks.length !== bytes) throw new RuntimeUnsupportedError('AES-256-ECB returned an unexpected length');
    if (needH) this.#table = ghashTable(ks, 0);
    return ks;
  }
}

/** The lengths of the items' data, read once. */
function lengths(data: readonly Uint8Array[], n: number): Int32Array {
  const lens = new Int32Array(n);
  for (let i = 0; i < n; i++) lens[i] = data[i]!.length;
  return lens;
}

function checkIv(iv: Uint8Array): Uint8Array {
  if (!(iv instanceof Uint8Array) || iv.length !== GCM_IV_BYTES) {
    throw new ArgumentInvalidError(`IV must be a Uint8Array of ${GCM_IV_BYTES} bytes`);
  }
  return iv;
}

function checkData(data: Uint8Array, what: string): Uint8Array {
  if (!(data instanceof Uint8Array) || data.length > GCM_MAX_ITEM_BYTES) {
    throw new ArgumentInvalidError(`${what} must be a Uint8Array of at most ${GCM_MAX_ITEM_BYTES} bytes; use node:crypto for larger ones`);
  }
  return data;
}

/** tag = GHASH state (as big-endian bytes) XOR E_K(J0) at `ks[j0..j0+16)`. */
function tagBytes(w: Int32Array, ks: Uint8Array, j0: number, tag: Uint8Array, at = 0): void {
  for (let q = 0; q < 4; q++) {
    const v = w[3 - q]!;
    const o = j0 + 4 * q;
    const d = at + 4 * q;
    tag[d] = (v >>> 24) ^ ks[o]!;
    tag[d + 1] = ((v >>> 16) & 0xff) ^ ks[o + 1]!;
    tag[d + 2] = ((v >>> 8) & 0xff) ^ ks[o + 2]!;
    tag[d + 3] = (v & 0xff) ^ ks[o + 3]!;
  }
}

/** OR of the XOR of all 16 bytes of the expected and given tags: 0 when equal, no early exit. */
function tagDiff(w: Int32Array, ks: Uint8Array, j0: number, tag: Uint8Array): number {
  let diff = 0;
  for (let q = 0; q < 4; q++) {
    const v = w[3 - q]!;
    const o = j0 + 4 * q;
    diff |= (v >>> 24) ^ ks[o]! ^ tag[4 * q]!;
    diff |= ((v >>> 16) & 0xff) ^ ks[o + 1]! ^ tag[4 * q + 1]!;
    diff |= ((v >>> 8) & 0xff) ^ ks[o + 2]! ^ tag[4 * q + 2]!;
    diff |= (v & 0xff) ^ ks[o + 3]! ^ tag[4 * q + 3]!;
  }
  return diff;
}

/**
 * Prepares a 32-byte AES-256 key (bytes, or a secret KeyObject as node:crypto
 * callers often hold) for {@link GcmKey} batches: one AES-256-ECB context from
 * node:crypto (reused, never finalized). H is computed in the first batch's
 * ECB call, so a fresh key costs two native calls (createSecretKey,
 * createCipheriv; one given a KeyObject) and none extra to start. The key
 * bytes are not retained by this module (node:crypto's KeyObject and
 * OpenSSL's key schedule hold them).
 * @throws ArgumentInvalidError when `key` is not 32 bytes or a 32-byte secret KeyObject
 * @throws RuntimeUnsupportedError when node:crypto is not available
 */
export function prepareGcmKey(key: Uint8Array | NodeCrypto.KeyObject): GcmKey {
  const c = nodeCrypto;
  if (!c) throw new RuntimeUnsupportedError('the batched GCM engine needs node:crypto');
  let keyObject: NodeCrypto.KeyObject;
  if (key instanceof Uint8Array) {
    if (key.length !== 32) throw new ArgumentInvalidError('AES-256-GCM key must be 32 bytes');
    // Through a KeyObject: createCipheriv given raw bytes costs ~9 µs on
    // Node 24 (two caught exceptions while it probes the key's type), ~2 µs so.
    keyObject = c.createSecretKey(key);
  } else if (key instanceof c.KeyObject && key.type === 'secret' && key.symmetricKeySize === 32) {
    keyObject = key;
  } else {
    throw new ArgumentInvalidError('AES-256-GCM key must be a Uint8Array of 32 bytes or a 32-byte secret KeyObject');
  }
  const ecb = c.createCipheriv('aes-256-ecb', keyObject, null);
  ecb.setAutoPadding(false);
  return new GcmKey(ecb, INTERNAL);
}
