/**
 * The framework-agnostic HTTP codec. Adapters (Express/node:http, Fastify)
 * call it in three steps:
 *
 * 1. `inspect(route, head)` before reading the body: decides whether the body
 *    must be read and opened, and rejects a wrong media type or a declared
 *    length over the limit without reading anything;
 * 2. `decode…` with the body: opens it (fields or a whole-payload profile),
 *    enforces freshness and replay, and returns the plaintext body;
 * 3. `planResponse` + `encodeResponse`: seals the response the same way.
 *
 * Every failure is a `WiresealError`; `failure(err)` turns it into an RFC 9457
 * problem response and reports it to `onError` (the codec never logs).
 */
import { currentKeys, decryptFields, encryptFields } from '@wireseal/core';
import type { DocumentLimits, FieldPolicy, JsonValue, KeySource } from '@wireseal/core';
import { LimitExceededError, PolicyInvalidError, ReplayError, StaleError, TokenMalformedError } from '@wireseal/core/errors';
import { sharedKeyJose } from '../profiles/shared-jose.ts';
import type { PayloadProfile, ProfileContext } from '../profiles/types.ts';
import { UnsupportedMediaTypeError } from './errors.ts';
import { checkFreshness } from './freshness.ts';
import type { RequestHead } from '../media/media.ts';
import { JSON_TYPE, PROBLEM_TYPE, WIRESEAL_HEADER, accepts, contentLength, essence, hasBody, headerValue, isJsonType, printable } from '../media/media.ts';
import type { FailurePhase, ProblemResponse } from './problem.ts';
import { defaultProblemType, problemFor } from './problem.ts';
import { MemoryReplayStore } from './replay.ts';
import type { ReplayStore } from './replay.ts';
import type { CompiledRoute, Direction, FreshnessOptions, RouteOptions, SealMode } from './route.ts';
import { DEFAULT_FRESHNESS, DEFAULT_MAX_BODY_BYTES, compileRoute, contextFor, needsSharedKeys } from './route.ts';
import { chooseProfile, mediaTypesOf, profilesFor } from './select.ts';

/** Options shared by every adapter. */
export interface HttpCodecOptions {
  /**
   * Default shared keys for routes that do not name their own (a provider or a KeySet).
   * Optional when every route uses only profiles that carry their own keys (public-key profiles).
   */
  keys?: KeySource;
  /**
   * Whole-payload profiles. Default: `[sharedKeyJose()]`. A route accepts the
   * ones it lists in its `profiles` option, else every one that is not
   * `optIn`; the first of those seals responses to plaintext requests.
   */
  profiles?: readonly PayloadProfile[];
  /** Where seen whole-payload tokens are remembered. Default: a per-process {@link MemoryReplayStore}. `false` turns replay detection off. */
  replay?: ReplayStore | false;
  /** Default freshness window for whole payloads. Default 120 s old, 30 s in the future. */
  freshness?: FreshnessOptions;
  /** Default body limit in bytes (as sent). Default 1 MiB. */
  maxBodyBytes?: number;
  /** Limits on JSON documents in fields mode (depth, values, tokens). Core defaults. */
  documentLimits?: DocumentLimits;
  /**
   * Default for the routes' `bindDirection`: `true` (the default) binds every
   * shared-key token to its direction, so responses and requests are not
   * interchangeable. `false` only for peers that do not bind it.
   */
  bindDirection?: boolean;
  /** Problem `type` URI for a code. Default `urn:wireseal:error:<code>`. */
  problemType?: (code: string) => string;
  /** Told about every failure answered with a problem (for metrics or logs); never given plaintext. */
  onError?: (err: unknown, info: FailureInfo) => void;
  /** Clock in milliseconds since the epoch (tests). Default `Date.now`. */
  now?: () => number;
}

/** What `onError` is told besides the error. */
export interface FailureInfo {
  readonly phase: FailurePhase;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly code: string;
}

/** What to do with a request body, decided from its head alone. */
export type RequestDecision =
  | { readonly action: 'pass' }
  | { readonly action: 'fields'; readonly limit: number }
  | { readonly action: 'payload'; readonly limit: number; readonly profile: PayloadProfile };

/** What a handler can learn about how its request was protected. */
export interface WiresealRequestInfo {
  /** The route's mode. */
  readonly mode: SealMode;
  /** True when the body was sealed (whole) or held at least one token (fields). */
  readonly sealed: boolean;
  /** Whole mode: the media type of the profile that opened the body (e.g. `application/jose`). */
  readonly profile?: string;
  /** Whole mode: the `name` of the profile that opened the body, when it has one (e.g. `jose-public`, `hpke`). */
  readonly profileName?: string;
  /** Whole mode: the plaintext's media type (`cty`). */
  readonly contentType?: string;
  /** Whole mode: the sender's `iat`. */
  readonly iat?: number;
  /** Fields mode: concrete paths whose tokens were opened. */
  readonly decrypted?: readonly string[];
  /** Fields mode (`optional` routes): concrete paths that held plaintext. */
  readonly passedThrough?: readonly string[];
}

/** A decoded request body. */
export interface DecodedRequest {
  /** The plaintext body: the document (fields); for whole payloads the parsed JSON, a string for `text/*`, else the bytes. */
  body: unknown;
  /** Whole mode: the plaintext bytes. */
  plaintext?: Uint8Array;
  /** How the request was protected. */
  info: WiresealRequestInfo;
  /** Whole mode: the profile that opened it and its state (for the response). */
  profile?: PayloadProfile;
  state?: unknown;
}

/** How the response to a request will be sealed. */
export type ResponsePlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'fields'; readonly policy: FieldPolicy }
  | { readonly kind: 'payload'; readonly profile: PayloadProfile; readonly state: unknown };

/** A sealed response body with its new content type. */
export interface EncodedResponse {
  body: string | Uint8Array;
  contentType: string;
  headers?: Readonly<Record<string, string>>;
}

/** Parses JSON text; adapters pass their framework's parser (e.g. Fastify's prototype-poisoning guard). */
export type JsonParser = (text: string) => unknown;

const NONE: ResponsePlan = Object.freeze({ kind: 'none' });
/** What fields mode reads and writes: JSON documents. */
const FIELDS_TYPES: readonly string[] = Object.freeze([JSON_TYPE, 'application/*+json']);
const PASS: RequestDecision = Object.freeze({ action: 'pass' });
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function text(body: Uint8Array | string, what: string): string {
  if (typeof body === 'string') return body;
  try {
    return utf8.decode(body);
  } catch {
    throw new TokenMalformedError(`${what} is not UTF-8`);
  }
}

/** The shared codec: compile routes once, then decode requests and encode responses. */
export class HttpCodec {
  /** Whole-payload profiles by media type (the first registered for each type). */
  readonly profiles: ReadonlyMap<string, PayloadProfile>;
  readonly #all: readonly PayloadProfile[];
  /** What a route without its own `profiles` accepts: every profile that is not opt-in. */
  readonly #defaultList: readonly PayloadProfile[];
  readonly #options: HttpCodecOptions;
  readonly #replay: ReplayStore | undefined;
  readonly #now: () => number;
  readonly #defaults: { keys: KeySource | undefined; maxBodyBytes: number; freshness: Required<FreshnessOptions>; bindDirection: boolean | undefined };

  /** @param options - defaults shared by every route */
  constructor(options: HttpCodecOptions) {
    this.#options = options;
    const profiles = options.profiles ?? [sharedKeyJose()];
    const byType = new Map<string, PayloadProfile>();
    for (const p of profiles) if (!byType.has(p.mediaType.toLowerCase())) byType.set(p.mediaType.toLowerCase(), p);
    this.profiles = byType;
    this.#all = [...profiles];
    this.#defaultList = profiles.filter((p) => p.optIn !== true);
    this.#now = options.now ?? Date.now;
    this.#replay = options.replay === false ? undefined : options.replay ?? new MemoryReplayStore({ now: this.#now });
    this.#defaults = {
      keys: options.keys,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      freshness: { ...DEFAULT_FRESHNESS, ...options.freshness },
      bindDirection: options.bindDirection,
    };
  }

  /**
   * Validates a route's options.
   * @throws WiresealError `ERR_POLICY_INVALID` naming the bad option
   */
  route(options: RouteOptions): CompiledRoute {
    const route = compileRoute(options, this.#defaults);
    if (route.mode === 'whole') {
      for (const p of route.profiles ?? []) {
        if (!this.#all.includes(p)) {
          throw new PolicyInvalidError(`wireseal route: profile ${printable(p.name ?? p.mediaType, 100)} is not one of the adapter's profiles; pass it in the adapter's profiles too`);
        }
      }
      if (this.#listFor(route).length === 0) {
        throw new PolicyInvalidError('wireseal route: a whole-mode route needs a profile; public-key profiles are opt-in: list them in the route\'s profiles');
      }
      needsSharedKeys(route, this.#listFor(route));
    }
    return route;
  }

  /** The profiles a whole-mode route accepts, in order. */
  #listFor(route: CompiledRoute): readonly PayloadProfile[] {
    return route.profiles ?? this.#defaultList;
  }

  /**
   * Decides from the head alone what to do with the body.
   * @throws UnsupportedMediaTypeError (415) when a `required` route gets a media type it does not accept
   * @throws LimitExceededError (413) when the declared length is over the limit
   */
  inspect(route: CompiledRoute, head: RequestHead): RequestDecision {
    const type = essence(headerValue(head.headers, 'content-type'));
    let decision: RequestDecision = PASS;
    if (route.mode === 'fields') {
      // application/json and every application/*+json (merge-patch, vnd.api, …) are JSON documents.
      if (isJsonType(type)) decision = { action: 'fields', limit: route.maxBodyBytes };
    } else if (type !== undefined) {
      const profile = profilesFor(this.#listFor(route), type)[0];
      if (profile) decision = { action: 'payload', limit: route.maxBodyBytes, profile };
    }
    if (decision === PASS) {
      if (route.required && hasBody(head.headers)) {
        const accepted = route.mode === 'fields' ? FIELDS_TYPES : mediaTypesOf(this.#listFor(route));
        throw new UnsupportedMediaTypeError(
          `this route requires ${accepted.join(' or ')}; got ${type === undefined ? 'no content type' : printable(type, 100)}`,
          accepted,
        );
      }
      return PASS;
    }
    const declared = contentLength(head.headers);
    if (declared !== undefined && declared > route.maxBodyBytes) {
      throw new LimitExceededError(`request body of ${declared} bytes is over the limit of ${route.maxBodyBytes} bytes`);
    }
    return decision;
  }

  /** Opens the tokens of a parsed fields-mode document (`strict` on required routes, `migrate` on optional ones). */
  decodeFields(route: CompiledRoute, head: RequestHead, doc: unknown): DecodedRequest {
    const context = contextFor(route, 'request', head);
    const result = decryptFields(currentKeys(route.keys), doc, route.policy!, {
      mode: route.required ? 'strict' : 'migrate',
      ...(context ? { context } : {}),
      ...(this.#options.documentLimits ? { limits: this.#options.documentLimits } : {}),
    });
    return {
      body: result.doc,
      info: { mode: 'fields', sealed: result.decrypted.length > 0, decrypted: result.decrypted, passedThrough: result.passedThrough },
    };
  }

  /** Parses a fields-mode body (JSON text or bytes) and opens its tokens. */
  decodeFieldsBody(route: CompiledRoute, head: RequestHead, body: Uint8Array | string, parseJson: JsonParser = JSON.parse): DecodedRequest {
    const source = text(body, 'request body');
    let doc: unknown;
    try {
      doc = parseJson(source);
    } catch {
      throw new TokenMalformedError('request body is not valid JSON');
    }
    return this.decodeFields(route, head, doc);
  }

  /**
   * Opens a whole-payload body with `profile` (or, when several of the
   * route's profiles share its media type, the one that claims the body),
   * enforces the freshness window and replay detection, and parses the
   * plaintext by its media type.
   */
  async decodePayload(
    route: CompiledRoute,
    head: RequestHead,
    chosen: PayloadProfile,
    body: Uint8Array | string,
    parseJson: JsonParser = JSON.parse,
  ): Promise<DecodedRequest> {
    const candidates = profilesFor(this.#listFor(route), chosen.mediaType.toLowerCase());
    const profile = candidates.length > 1 ? chooseProfile(candidates, body) : chosen;
    const now = this.#now();
    const opened = await profile.open(body, this.#profileContext(route, head, 'request', profile, now, undefined));
    const iat = checkFreshness(opened.iat, now, route.maxAgeSeconds, route.clockSkewSeconds);
    if (this.#replay && opened.replayId !== undefined) {
      const verdict = await this.#replay.remember(opened.replayId, iat, iat + route.maxAgeSeconds);
      if (verdict === 'replay') throw new ReplayError('payload was already received inside the freshness window');
      if (verdict === 'unknown') {
        throw new StaleError('payload is older than the replay cache can vouch for (cache at capacity); send a fresh one');
      }
    }
    const contentType = opened.contentType ?? 'application/octet-stream';
    const type = essence(contentType);
    let parsed: unknown = opened.plaintext;
    if (isJsonType(type)) {
      const source = text(opened.plaintext, 'decrypted body');
      try {
        parsed = parseJson(source);
      } catch {
        throw new TokenMalformedError(`decrypted body is not valid JSON (cty ${printable(contentType, 100)})`);
      }
    } else if (type?.startsWith('text/')) {
      parsed = text(opened.plaintext, 'decrypted body');
    }
    const info: WiresealRequestInfo = {
      mode: 'whole',
      sealed: true,
      profile: profile.mediaType,
      ...(profile.name !== undefined ? { profileName: profile.name } : {}),
      contentType,
      iat,
    };
    return { body: parsed, plaintext: opened.plaintext, info, profile, state: opened.state };
  }

  /** Step 2 for adapters that read raw bytes: dispatches on the decision from {@link HttpCodec.inspect}. */
  async decode(route: CompiledRoute, head: RequestHead, decision: RequestDecision, body: Uint8Array | string, parseJson?: JsonParser): Promise<DecodedRequest | undefined> {
    if (decision.action === 'fields') return this.decodeFieldsBody(route, head, body, parseJson);
    if (decision.action === 'payload') return this.decodePayload(route, head, decision.profile, body, parseJson);
    return undefined;
  }

  /**
   * Decides how the response will be sealed: always on `required` routes;
   * on `optional` routes when the request was sealed, carried `wireseal: 1`,
   * or (whole mode) lists a profile's media type in `Accept`.
   */
  planResponse(route: CompiledRoute, head: RequestHead, decoded?: DecodedRequest): ResponsePlan {
    const asked = headerValue(head.headers, WIRESEAL_HEADER) === '1';
    if (route.mode === 'fields') {
      return route.required || asked || decoded?.info.sealed ? { kind: 'fields', policy: route.responsePolicy! } : NONE;
    }
    if (decoded?.profile) return { kind: 'payload', profile: decoded.profile, state: decoded.state };
    const accept = headerValue(head.headers, 'accept');
    const list = this.#listFor(route);
    for (const profile of list) {
      if (accepts(accept, profile.mediaType)) return { kind: 'payload', profile, state: undefined };
    }
    if ((route.required || asked) && list[0]) return { kind: 'payload', profile: list[0], state: undefined };
    return NONE;
  }

  /**
   * Seals a response body per the plan. Returns undefined when the response is
   * left as it is: no plan, no body (1xx, 204, 304, empty), or, in fields mode,
   * an error document (`application/problem+json`, status 300 or more) or, on
   * `optional` routes, a body that is not JSON.
   *
   * Fields mode seals every JSON body (`application/json` and any
   * `application/*+json`) per the response policy. On a `required` route a 2xx
   * body of any other type, or of no type, is refused: it cannot be sealed, and
   * plaintext is never sent where encryption is required.
   * @throws WiresealError when sealing fails or the body cannot be sealed
   * (`UnsupportedMediaTypeError`, `ERR_ALG_UNSUPPORTED`); the adapter must not
   * send the plaintext (answer with `failure(err, 'response')`)
   */
  async encodeResponse(
    route: CompiledRoute,
    head: RequestHead,
    plan: ResponsePlan,
    body: Uint8Array | string,
    contentType: string | undefined,
    status: number,
  ): Promise<EncodedResponse | undefined> {
    if (plan.kind === 'none' || status < 200 || status === 204 || status === 304 || body.length === 0) return undefined;
    if (plan.kind === 'fields') {
      const type = essence(contentType);
      if (!isJsonType(type) || (type === PROBLEM_TYPE && status >= 300)) {
        if (route.required && status < 300) {
          // The reason goes to onError; the body goes nowhere.
          throw new UnsupportedMediaTypeError(
            `response body of ${type === undefined ? 'no content type' : `type ${printable(type, 100)}`} cannot be sealed on a fields route that requires encryption (only JSON can); it was not sent`,
            FIELDS_TYPES,
          );
        }
        return undefined;
      }
      let doc: JsonValue;
      try {
        doc = JSON.parse(text(body, 'response body')) as JsonValue;
      } catch {
        throw new TokenMalformedError('response body labelled JSON is not valid JSON; it was not sent');
      }
      const context = contextFor(route, 'response', head);
      const sealed = encryptFields(currentKeys(route.keys), doc, plan.policy, {
        alg: route.alg,
        ...(context ? { context } : {}),
        ...(this.#options.documentLimits ? { limits: this.#options.documentLimits } : {}),
      });
      return { body: JSON.stringify(sealed), contentType: contentType! };
    }
    const bytes = typeof body === 'string' ? utf8Encoder.encode(body) : body;
    const ctx = this.#profileContext(route, head, 'response', plan.profile, this.#now(), plan.state);
    const sealed = await plan.profile.seal(bytes, contentType ?? 'application/octet-stream', ctx);
    const out: EncodedResponse = { body: sealed.body, contentType: plan.profile.mediaType };
    if (sealed.headers) out.headers = sealed.headers;
    return out;
  }

  /**
   * Turns a failure into a problem response and reports it to `onError`.
   * Anything that is not a WiresealError is answered as a bare 500.
   */
  failure(err: unknown, phase: FailurePhase, head: RequestHead): ProblemResponse {
    const problem = problemFor(err, phase, this.#options.problemType ?? defaultProblemType);
    const onError = this.#options.onError;
    if (onError) {
      try {
        onError(err, { phase, method: head.method, path: head.path, status: problem.status, code: problem.problem.code });
      } catch {
        // A failing hook must not turn a clean 4xx into a crash.
      }
    }
    return problem;
  }

  #profileContext(route: CompiledRoute, head: RequestHead, direction: Direction, profile: PayloadProfile, now: number, state: unknown): ProfileContext {
    const context = contextFor(route, direction, head, profile);
    return { keys: route.keys, context, alg: route.alg, head, now, state };
  }
}

