/**
 * Whole-payload profiles: one per request media type. The codec picks the
 * profile by the request's `Content-Type` (and, for responses to plaintext
 * requests, by `Accept`), then applies freshness and replay checks to what
 * the profile reports. Shared-key JWE (`application/jose`) ships here; the
 * public-key JWE and HPKE profiles plug in the same way.
 */
import type { ContentKeyReuseOption, Context, KeySource, SymmetricAlg } from '@wireseal/core';
import type { HeaderMap, RequestHead } from '../media/media.ts';

/** What a profile is given to open or seal one message. */
export interface ProfileContext {
  /** The route's keys. */
  readonly keys: KeySource;
  /**
   * The `wsc` context for this direction (request or response), if any: the
   * route's context plus, unless the route sets `bindDirection: false` or the
   * profile `bindsDirection`, the `wireseal-http` direction entry.
   */
  readonly context: Context | undefined;
  /** `alg` for sealing with a shared key. */
  readonly alg: SymmetricAlg;
  /** Data-key reuse for sealing with a shared key (the codec's `reuseContentKey`); absent: none. */
  readonly reuseContentKey?: ContentKeyReuseOption;
  /** The HTTP request this message belongs to (a client passes its outgoing request). */
  readonly head: RequestHead;
  /** Milliseconds since the epoch. */
  readonly now: number;
  /**
   * Servers, sealing a response: the `state` the profile returned when it opened the request.
   * Clients, opening a response: the `state` the profile returned when it sealed the request.
   */
  readonly state?: unknown;
  /** Clients, opening a response: its status and headers (lower-case names). */
  readonly response?: { readonly status: number; readonly headers: HeaderMap };
}

/** A payload a profile opened (authenticated and decrypted). */
export interface OpenedPayload {
  /** The plaintext body. */
  plaintext: Uint8Array;
  /** The plaintext's media type (`cty`), already validated. */
  contentType?: string;
  /** Seconds since the epoch when the sender sealed it; the codec enforces the freshness window. */
  iat?: number;
  /** A value unique per sealed message, for replay detection (e.g. the GCM tag). */
  replayId?: string;
  /** Anything the profile needs to seal the response (e.g. the sender's registered key id). */
  state?: unknown;
  /** The kid of the key that opened it, for the `kid` metric attribute (optional). */
  kid?: string;
}

/** A sealed body. */
export interface SealedPayload {
  /** The body to send; its `Content-Type` is the profile's `mediaType`. */
  body: string | Uint8Array;
  /** Extra headers the profile needs (on the response, or on the request when a client seals). */
  headers?: Readonly<Record<string, string>>;
  /** Clients: handed back as `ctx.state` when the response to this request is opened. */
  state?: unknown;
  /** The kid of the key that sealed it, for the `kid` metric attribute (optional). */
  kid?: string;
}

/** A whole-payload protection profile keyed by media type. */
export interface PayloadProfile {
  /** The media type (essence, lower-case) of sealed bodies, e.g. `application/jose`. */
  readonly mediaType: string;
  /** A short name for logs and `WiresealRequestInfo.profileName` (e.g. `jose-public`); profiles sharing a media type should have one. */
  readonly name?: string;
  /**
   * True for profiles whose senders need no shared secret (anyone holding the
   * server's public key can seal a request): a route accepts such a profile
   * only when it lists it in its `profiles` option. Default false.
   */
  readonly optIn?: boolean;
  /**
   * False for profiles that carry their own keys (the public-key profiles):
   * routes that use only such profiles need no shared `keys`. Default true.
   */
  readonly usesSharedKeys?: boolean;
  /**
   * True for profiles that keep requests and responses apart themselves (HPKE's
   * `info` labels; public-key JWE, whose requests and responses are encrypted
   * to different key pairs and whose requests carry `wsr`): the codec then
   * does not add the `wireseal-http` direction entry to their `wsc` context.
   * Default false: the codec binds the direction into `ctx.context`.
   */
  readonly bindsDirection?: boolean;
  /**
   * When several profiles of one route share a media type (`application/jose`:
   * shared-key and public-key JWE), the codec gives the body to the first
   * whose `claims` returns true, else to the first without `claims`. Must be
   * cheap and must not throw (e.g. peek at the JWE header's `alg`).
   */
  claims?(body: Uint8Array | string): boolean;
  /**
   * How adapters that parse bodies themselves (Fastify) should hand the body
   * to `open`: `text` (UTF-8 string) or `bytes` (default; binary-safe).
   */
  readonly bodyAs?: 'text' | 'bytes';
  /**
   * Opens a sealed body.
   * @throws WiresealError with a stable code; never returns unauthenticated plaintext
   */
  open(body: Uint8Array | string, ctx: ProfileContext): OpenedPayload | Promise<OpenedPayload>;
  /**
   * Clients: headers to send with a whole-mode request that has no body to
   * seal (a GET), so the server can seal the response (e.g. the client key id).
   */
  announce?(ctx: ProfileContext): Readonly<Record<string, string>> | undefined;
  /** Seals a plaintext body whose media type is `contentType`. */
  seal(plaintext: Uint8Array, contentType: string, ctx: ProfileContext): SealedPayload | Promise<SealedPayload>;
}
