/**
 * `application/octet-stream+hpke`: RFC 9180 HPKE, base mode,
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. The body is the
 * encapsulated key (32 bytes) followed by the ciphertext (with its 16-byte
 * tag). An HPKE body has no header, so the rest travels in HTTP headers and
 * is bound into `info` and the associated data:
 *
 * Request headers:
 * - `wireseal-kid`: the server key (kid) the body is encrypted to. Required
 *   when the server holds more than one HPKE key.
 * - `wireseal-client`: the registered client key (kid, an X25519 key) the
 *   response is sealed to. Required.
 * - `wireseal-iat`: seconds since the epoch when the body was sealed. Required.
 * - `wireseal-cty`: the plaintext's media type. Optional (then `application/octet-stream`).
 *
 * ```
 * info = "wireseal-hpke/1\nrequest\n" || serverKid || "\n" || clientKid
 * aad  = iat || "\n" || cty || "\n" || wsc
 * ```
 *
 * Response: sealed to the client key, headers `wireseal-kid` (the client
 * key), `wireseal-iat`, `wireseal-cty`, and
 *
 * ```
 * info = "wireseal-hpke/1\nresponse\n" || clientKid
 * aad  = iat || "\n" || cty || "\n" || wsc || "\n" || base64url(request enc)
 * ```
 *
 * `iat` is the decimal header value, `cty` the header value as sent (empty
 * when absent), `wsc` the route's context digest (docs/design.md `wsc`; empty when
 * the route binds no context), `request enc` the request body's first 32
 * bytes (empty for a plaintext request), all ASCII. So a changed header, a
 * body moved to another context, or a response swapped with another fails
 * to decrypt.
 *
 * The HPKE itself is the `node:crypto` suite in ../hpke/suite.ts (11x
 * `@hpke/core` on a quiet machine, RFC 9180 vectors and pyhpke interop pass;
 * see bench/profiles.ts and the README).
 */
import type { KeyObject } from 'node:crypto';
import { contextDigest } from '@wireseal/core';
import { DecryptError, KeyUnknownError, StaleError, TokenMalformedError, WiresealError } from '@wireseal/core/errors';
import { headerValue, mediaTypeFromCty } from '../media/media.ts';
import type { HeaderMap } from '../media/media.ts';
import { HPKE_ALG, KID_RE } from '../keys/jwk.ts';
import type { AsymmetricEntry } from '../keys/jwk.ts';
import type { PrivateKeySet, PublicKeySet } from '../keys/keysets.ts';
import type { AsymmetricKeySource } from '../keys/provider.ts';
import { currentSet } from '../keys/provider.ts';
import type { OpenedPayload, PayloadProfile, ProfileContext, SealedPayload } from './types.ts';
import { HPKE_NENC, ascii, setupBaseR, setupBaseS, x25519Public } from '../hpke/suite.ts';
import type { X25519Public } from '../hpke/suite.ts';
import { safeCall } from '@wireseal/core/internal';

/** The media type of HPKE bodies. */
export const HPKE_TYPE = 'application/octet-stream+hpke';
/** HPKE headers (lower-case): the recipient's key id, the client key for the response, the sealing time, the plaintext's media type. */
export const HPKE_HEADERS = Object.freeze({
  kid: 'wireseal-kid',
  client: 'wireseal-client',
  iat: 'wireseal-iat',
  cty: 'wireseal-cty',
} as const);

const VERSION = 'wireseal-hpke/1';
const IAT_RE = /^\d{1,15}$/;
const TAG = 16;

/** `info` of a request (exported for tests and partners' reference). */
export function hpkeRequestInfo(serverKid: string, clientKid: string): Buffer {
  return ascii(`${VERSION}\nrequest\n${serverKid}\n${clientKid}`);
}

/** `info` of a response. */
export function hpkeResponseInfo(clientKid: string): Buffer {
  return ascii(`${VERSION}\nresponse\n${clientKid}`);
}

/** Associated data: `iat \n cty \n wsc` (+ `\n base64url(request enc)` for responses). */
export function hpkeAad(iat: string, cty: string, wsc: string, requestEnc?: Uint8Array | null): Buffer {
  const base = `${iat}\n${cty}\n${wsc}`;
  return ascii(requestEnc === undefined ? base : `${base}\n${requestEnc === null ? '' : Buffer.from(requestEnc).toString('base64url')}`);
}

/** What the server profile reports for each request it opened. */
export interface HpkeOpenInfo {
  /** The server key that decrypted it. */
  readonly kid: string;
  /** The registered client key the response goes to. */
  readonly client: string;
}

/** Options for {@link hpke} (servers). */
export interface HpkeOptions {
  /** The server's key pairs; X25519 keys whose `alg` is absent or `HPKE-X25519-SHA256-A256GCM` are used. */
  keys: AsymmetricKeySource<PrivateKeySet>;
  /** The registry of client public keys (`kid` = client key id); responses go to X25519 keys. */
  clients: AsymmetricKeySource<PublicKeySet>;
  /** Called after each request opened (never with key material or plaintext). */
  onOpen?: (info: HpkeOpenInfo) => void;
}

/** Options for {@link hpkeClient}. */
export interface HpkeClientOptions {
  /** This client's key pair(s) (X25519). */
  keys: AsymmetricKeySource<PrivateKeySet>;
  /** The server's published public keys. */
  server: AsymmetricKeySource<PublicKeySet>;
  /** Which of this client's keys the server seals responses to. Default: the first HPKE key in `keys`. */
  clientKid?: string;
  /** Which server key requests are encrypted to. Default: the first HPKE key in `server`. */
  serverKid?: string;
}

interface ServerState {
  readonly client: string;
  readonly requestEnc: Uint8Array;
}

interface ClientState {
  readonly enc: Uint8Array;
}

const publics = new WeakMap<AsymmetricEntry, X25519Public>();

/** The parsed X25519 public key of an entry, once. */
function publicKeyOf(entry: AsymmetricEntry): X25519Public {
  let p = publics.get(entry);
  if (!p) {
    p = x25519Public(entry.x25519!);
    publics.set(entry, p);
  }
  return p;
}

/** Single-shot HPKE open (SetupBaseR + Open). */
async function hpkeOpen(entry: AsymmetricEntry, enc: Uint8Array, ct: Uint8Array, info: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  try {
    return setupBaseR(enc, entry.privateKey as KeyObject, entry.x25519!, info).open(aad, ct);
  } catch (err) {
    if (err instanceof WiresealError) throw err;
    throw new DecryptError('HPKE decryption failed: wrong key, info or associated data, or a tampered body');
  }
}

/** Single-shot HPKE seal (SetupBaseS + Seal): the encapsulated key and the ciphertext. */
async function hpkeSeal(entry: AsymmetricEntry, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<{ enc: Uint8Array; ct: Uint8Array }> {
  const { enc, context } = setupBaseS(publicKeyOf(entry), info);
  return { enc, ct: context.seal(aad, plaintext) };
}


function bytesOf(body: Uint8Array | string): Uint8Array {
  // Bodies should arrive as bytes (bodyAs: 'bytes'); a string is whatever an earlier parser made of them.
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

function hpkeKeys<T extends PrivateKeySet | PublicKeySet>(set: T): AsymmetricEntry[] {
  return set.usableWith(HPKE_ALG);
}

/** Reads `wireseal-iat` and `wireseal-cty`. */
function metadata(headers: HeaderMap): { iatText: string; iat: number; ctyText: string; contentType: string | undefined } {
  const iatText = headerValue(headers, HPKE_HEADERS.iat)?.trim();
  if (iatText === undefined) throw new StaleError(`no ${HPKE_HEADERS.iat} header: HPKE bodies carry their sealing time there`);
  if (!IAT_RE.test(iatText)) throw new TokenMalformedError(`${HPKE_HEADERS.iat} must be a decimal number of seconds`);
  const ctyText = headerValue(headers, HPKE_HEADERS.cty)?.trim() ?? '';
  let contentType: string | undefined;
  if (ctyText !== '') {
    contentType = mediaTypeFromCty(ctyText);
    if (contentType === undefined) throw new TokenMalformedError(`${HPKE_HEADERS.cty} is not a valid media type`);
  }
  return { iatText, iat: Number(iatText), ctyText, contentType };
}

function split(body: Uint8Array): { enc: Uint8Array; ct: Uint8Array } {
  if (body.length < HPKE_NENC + TAG) {
    throw new TokenMalformedError(`HPKE body is ${body.length} bytes; it needs the ${HPKE_NENC}-byte encapsulated key and a ${TAG}-byte tag at least`);
  }
  return { enc: body.subarray(0, HPKE_NENC), ct: body.subarray(HPKE_NENC) };
}

function wscOf(ctx: ProfileContext): string {
  return ctx.context ? contextDigest(ctx.context) : '';
}

async function sealTo(to: AsymmetricEntry, info: Buffer, plaintext: Uint8Array, contentType: string, ctx: ProfileContext, requestEnc?: Uint8Array | null) {
  const cty = mediaTypeFromCty(contentType) ?? 'application/octet-stream';
  const iat = String(Math.floor(ctx.now / 1000));
  const { enc, ct } = await hpkeSeal(to, info, hpkeAad(iat, cty, wscOf(ctx), requestEnc), plaintext);
  return { body: Buffer.concat([enc, ct]), enc, iat, cty };
}

/** What the server and client HPKE profiles share: media type, name, body form, opt-in. */
// bindsDirection: requests and responses have different `info` labels (and normally different key pairs).
const HPKE_PROFILE = { mediaType: HPKE_TYPE, name: 'hpke', bodyAs: 'bytes', optIn: true, usesSharedKeys: false, bindsDirection: true } as const;

/**
 * The server side of HPKE (`application/octet-stream+hpke`). Add it to the
 * adapter's `profiles` and list it on the routes that accept it.
 * @example
 * const h = hpke({ keys: serverKeys, clients: clientRegistry });
 * const ws = wiresealMiddleware({ keys: sharedKeys, profiles: [sharedKeyJose(), h] });
 * app.post('/partner/orders', ws.route({ mode: 'whole', profiles: [h] }), handler);
 */
export function hpke(options: HpkeOptions): PayloadProfile {
  return {
    ...HPKE_PROFILE,
    async open(body: Uint8Array | string, ctx: ProfileContext): Promise<OpenedPayload> {
      const bytes = bytesOf(body);
      const { enc, ct } = split(bytes);
      const headers = ctx.head.headers;
      const meta = metadata(headers);
      const client = headerValue(headers, HPKE_HEADERS.client)?.trim();
      if (client === undefined || !KID_RE.test(client)) throw new KeyUnknownError(`no ${HPKE_HEADERS.client} header naming the registered client key for the response`);
      const clientKey = currentSet(options.clients).entry(client);
      if (!clientKey || !clientKey.info.algs.includes(HPKE_ALG)) throw new KeyUnknownError(`${HPKE_HEADERS.client} does not name a registered X25519 client key`);
      const keys = currentSet(options.keys);
      const kid = headerValue(headers, HPKE_HEADERS.kid)?.trim();
      let key: AsymmetricEntry | undefined;
      if (kid === undefined) {
        const usable = hpkeKeys(keys);
        if (usable.length !== 1) {
          throw new KeyUnknownError(usable.length === 0 ? 'this service holds no HPKE key' : `this service holds several HPKE keys: name one with ${HPKE_HEADERS.kid}`);
        }
        key = usable[0];
      } else {
        key = keys.entry(kid);
        if (key && (!key.privateKey || !key.info.algs.includes(HPKE_ALG))) key = undefined;
      }
      if (!key) throw new KeyUnknownError(`${HPKE_HEADERS.kid} is not one of the HPKE keys this service decrypts with`);
      const plaintext = await hpkeOpen(key, enc, ct, hpkeRequestInfo(key.kid, client), hpkeAad(meta.iatText, meta.ctyText, wscOf(ctx)));
      safeCall(options.onOpen, { kid: key.kid, client });
      const opened: OpenedPayload = {
        plaintext,
        iat: meta.iat,
        replayId: `hpke:${Buffer.from(enc).toString('base64url')}`,
        state: { client, requestEnc: Buffer.from(enc) } satisfies ServerState,
        kid: key.kid,
      };
      if (meta.contentType !== undefined) opened.contentType = meta.contentType;
      return opened;
    },
    async seal(plaintext: Uint8Array, contentType: string, ctx: ProfileContext): Promise<SealedPayload> {
      const state = ctx.state as ServerState | undefined;
      const client = state?.client ?? headerValue(ctx.head.headers, HPKE_HEADERS.client)?.trim();
      if (client === undefined || client === '') {
        throw new KeyUnknownError(`no registered client key to seal the response to: send a sealed request or the ${HPKE_HEADERS.client} header`);
      }
      const key = currentSet(options.clients).entry(client);
      if (!key || !key.info.algs.includes(HPKE_ALG)) throw new KeyUnknownError(`${HPKE_HEADERS.client} does not name a registered X25519 client key`);
      const sealed = await sealTo(key, hpkeResponseInfo(client), plaintext, contentType, ctx, state?.requestEnc ?? null);
      return { body: sealed.body, headers: { [HPKE_HEADERS.kid]: client, [HPKE_HEADERS.iat]: sealed.iat, [HPKE_HEADERS.cty]: sealed.cty }, kid: client };
    },
  };
}

/**
 * The client side of HPKE, for `createFetch`.
 * @example
 * const sfetch = createFetch({ keys: unusedSharedKeys, mode: 'whole', profiles: [hpkeClient({ keys: myKeys, server: serverPublicKeys })] });
 */
export function hpkeClient(options: HpkeClientOptions): PayloadProfile {
  const clientKid = (): string => {
    const own = currentSet(options.keys);
    const kid = options.clientKid ?? hpkeKeys(own)[0]?.kid;
    if (kid === undefined || !own.entry(kid)?.info.algs.includes(HPKE_ALG)) throw new KeyUnknownError('this client holds no HPKE (X25519) key pair for responses');
    return kid;
  };
  return {
    ...HPKE_PROFILE,
    async open(body: Uint8Array | string, ctx: ProfileContext): Promise<OpenedPayload> {
      const headers = ctx.response?.headers;
      if (!headers) throw new TokenMalformedError('opening an HPKE response needs its headers');
      const { enc, ct } = split(bytesOf(body));
      const meta = metadata(headers);
      const own = currentSet(options.keys);
      const kid = headerValue(headers, HPKE_HEADERS.kid)?.trim() ?? clientKid();
      const key = own.entry(kid);
      if (!key || !key.privateKey || !key.info.algs.includes(HPKE_ALG)) throw new KeyUnknownError(`response ${HPKE_HEADERS.kid} is not one of this client's HPKE keys`);
      const requestEnc = (ctx.state as ClientState | undefined)?.enc ?? null;
      const plaintext = await hpkeOpen(key, enc, ct, hpkeResponseInfo(kid), hpkeAad(meta.iatText, meta.ctyText, wscOf(ctx), requestEnc));
      const opened: OpenedPayload = { plaintext, iat: meta.iat, kid };
      if (meta.contentType !== undefined) opened.contentType = meta.contentType;
      return opened;
    },
    async seal(plaintext: Uint8Array, contentType: string, ctx: ProfileContext): Promise<SealedPayload> {
      const server = currentSet(options.server);
      const to = options.serverKid === undefined ? hpkeKeys(server)[0] : server.entry(options.serverKid);
      if (!to || !to.info.algs.includes(HPKE_ALG)) throw new KeyUnknownError(`no server HPKE key${options.serverKid === undefined ? '' : ` "${options.serverKid}"`}`);
      const client = clientKid();
      const sealed = await sealTo(to, hpkeRequestInfo(to.kid, client), plaintext, contentType, ctx);
      return {
        body: sealed.body,
        headers: { [HPKE_HEADERS.kid]: to.kid, [HPKE_HEADERS.client]: client, [HPKE_HEADERS.iat]: sealed.iat, [HPKE_HEADERS.cty]: sealed.cty },
        state: { enc: sealed.enc } satisfies ClientState,
        kid: to.kid,
      };
    },
    announce: () => ({ [HPKE_HEADERS.client]: clientKid() }),
  };
}
