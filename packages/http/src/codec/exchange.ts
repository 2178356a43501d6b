/**
 * One HTTP exchange (a request and its response on one route) seen from one
 * side. The Express and Fastify adapters, the gateway and the fetch client
 * all go through it, so the protocol is written once: which bodies are
 * opened and sealed, with which policy, context (and direction), document
 * limits, freshness window and replay check.
 *
 * `open` opens what arrives and `seal` seals what leaves:
 *
 * - server (`codec.exchange(route, head)`): `inspect()` decides from the
 *   request head whether to read the body (415 and 413 before reading);
 *   `open(body)` (or `openFields(doc)` when a framework parsed it) opens the
 *   request; `info` tells the handler; `plan` says how the response is
 *   sealed; `seal(body, contentType, status)` seals it.
 * - client (a client codec's exchange): `seal(body, contentType)` seals the
 *   request; `inspect({ status, headers })` decides from the answer's head;
 *   `open(body)` opens the answer.
 *
 * Every failure is a `WiresealError`; `problem(err, phase)` turns it into an
 * RFC 9457 problem response and reports it to `onError`.
 */
import { decryptFields, encryptFieldsWithReport } from '@wireseal/core';
import type { ContentKeyReuseOption, DocumentLimits, FieldPolicy, JsonValue, KeySource } from '@wireseal/core';
import { countOpenedFields, countRejected, countSealedFields, countWhole } from '@wireseal/core/internal';
import type { MetricAttributes, MetricRecorder, RecordOutcome } from '@wireseal/core/internal';
import { LimitExceededError, PlaintextFieldError, ReplayError, StaleError, TokenMalformedError } from '@wireseal/core/errors';
import type { HeaderMap, RequestHead } from '../media/media.ts';
import { JSON_TYPE, PROBLEM_TYPE, WIRESEAL_HEADER, accepts, contentLength, essence, hasBody, headerValue, isJsonType, printable } from '../media/media.ts';
import type { PayloadProfile, ProfileContext } from '../profiles/types.ts';
import { UnsupportedMediaTypeError } from './errors.ts';
import { checkFreshness } from './freshness.ts';
import { HTTP_PACKAGE } from './metrics.ts';
import type { FailurePhase, ProblemResponse } from './problem.ts';
import type { ReplayStore } from './replay.ts';
import type { CompiledRoute, Direction, SealMode } from './route.ts';
import { contextFor } from './route.ts';
import { chooseProfile, mediaTypesOf, profilesFor } from './select.ts';

/** Which end of an exchange a codec serves: a server opens requests and seals responses, a client the other way round. */
export type Side = 'server' | 'client';

/** What to do with a request body, decided from its head alone. */
export type RequestDecision =
  | { readonly action: 'pass' }
  | { readonly action: 'fields'; readonly limit: number }
  | { readonly action: 'payload'; readonly limit: number; readonly profile: PayloadProfile };

/**
 * What to do with an arriving body: a {@link RequestDecision}, or (clients) a
 * 2xx answer on a `required` route that is not sealed: read it, and `open`
 * refuses it unless it is empty. Clients read answers without a limit.
 */
export type Decision = RequestDecision | { readonly action: 'unsealed'; readonly limit: number };

/** The head of an answer, as a client inspects it. */
export interface ResponseHead {
  readonly status: number;
  /** Headers with lower-case names. */
  readonly headers: HeaderMap;
}

/** What a handler can learn about how its request was protected. */
export interface WiresealRequestInfo {
  /** The route's mode. */
  readonly mode: SealMode;
  /** True when the body was sealed (whole) or held at least one token, opened or left sealed (fields). */
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
  /**
   * Fields mode: concrete paths whose tokens were left sealed, exactly as
   * they arrived, because this side holds no keys for their audience (its
   * keyring lacks it). Never an error.
   */
  readonly leftSealed?: readonly string[];
  /** Fields mode: policy paths (as the policy writes them) that matched nothing in the body. */
  readonly unmatched?: readonly string[];
}

/** An opened body (a server's request, a client's answer). */
export interface DecodedRequest {
  /**
   * The plaintext body: the document (fields); for whole payloads on a
   * server the parsed JSON, a string for `text/*`, else the bytes (a client
   * gets the bytes).
   */
  body: unknown;
  /** Whole mode: the plaintext bytes. */
  plaintext?: Uint8Array;
  /** How the body was protected. */
  info: WiresealRequestInfo;
  /** Whole mode: the profile that opened it and its state (for the response). */
  profile?: PayloadProfile;
  state?: unknown;
}

/** How the outgoing body (a server's response, a client's request) will be sealed. */
export type ResponsePlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'fields'; readonly policy: FieldPolicy }
  | { readonly kind: 'payload'; readonly profile: PayloadProfile; readonly state: unknown };

/** A sealed body with its new content type. */
export interface EncodedResponse {
  body: string | Uint8Array;
  contentType: string;
  headers?: Readonly<Record<string, string>>;
}

/** Parses JSON text; adapters pass their framework's parser (e.g. Fastify's prototype-poisoning guard). */
export type JsonParser = (text: string) => unknown;

/** @internal What an exchange needs from its codec. */
export interface ExchangeRules {
  readonly side: Side;
  /** The profiles a whole-mode route accepts and answers with, in order. */
  listFor(route: CompiledRoute): readonly PayloadProfile[];
  readonly documentLimits: DocumentLimits | undefined;
  /** Servers: where seen whole-payload tokens are remembered. */
  readonly replay: ReplayStore | undefined;
  now(): number;
  /** Data-key reuse when sealing with shared keys. */
  readonly reuseContentKey: ContentKeyReuseOption;
  /** Where counts and durations go. */
  readonly metrics: MetricRecorder;
  failure(err: unknown, phase: FailurePhase, head: RequestHead): ProblemResponse;
}

/** @internal What a codec's step-by-step methods already know about an exchange. */
export interface ExchangePreset {
  decision?: Decision;
  opened?: DecodedRequest | undefined;
  plan?: ResponsePlan;
}

const NONE: ResponsePlan = Object.freeze({ kind: 'none' });
const PASS: RequestDecision = Object.freeze({ action: 'pass' });
/** What fields mode reads and writes: JSON documents. */
const FIELDS_TYPES: readonly string[] = Object.freeze([JSON_TYPE, 'application/*+json']);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();
/** Metric attributes by `mode operation direction`: one frozen object each (the recorder copies what it adds to). */
const ATTRIBUTES: Readonly<Record<string, MetricAttributes>> = Object.freeze(
  Object.fromEntries(
    (['fields', 'whole'] as const).flatMap((mode) =>
      (['seal', 'open'] as const).flatMap((operation) =>
        (['request', 'response'] as const).map((direction) => [`${mode} ${operation} ${direction}`, Object.freeze({ package: HTTP_PACKAGE, mode, operation, direction })]),
      ),
    ),
  ),
);
/** Failures already counted as rejected records, so a problem made from one is not counted again. */
const counted = new WeakSet<object>();

function text(body: Uint8Array | string, what: string): string {
  if (typeof body === 'string') return body;
  try {
    return utf8.decode(body);
  } catch {
    throw new TokenMalformedError(`${what} is not UTF-8`);
  }
}

function parseJsonBody(body: Uint8Array | string, what: string, parseJson: JsonParser, outgoing = false): unknown {
  const source = text(body, what);
  try {
    return parseJson(source);
  } catch {
    throw new TokenMalformedError(`${what} is not valid JSON${outgoing ? '; it was not sent' : ''}`);
  }
}

/** Whether a body of `type` with `status` is a JSON document that fields mode seals and opens (an error report is not). */
function isFieldsBody(type: string | undefined, status: number): boolean {
  return isJsonType(type) && !(type === PROBLEM_TYPE && status >= 300);
}

function typeText(type: string | undefined): string {
  return type === undefined ? 'no content type' : `type ${printable(type, 100)}`;
}

/** One request and its response on one route; made by `HttpCodec.exchange`. */
export class Exchange {
  /** The route. */
  readonly route: CompiledRoute;
  /** The request's method, path and headers (a client's outgoing request). */
  readonly head: RequestHead;
  readonly #rules: ExchangeRules;
  /** The direction of what arrives: `request` on a server, `response` on a client. */
  readonly #in: Direction;
  readonly #out: Direction;
  #decision: Decision | undefined;
  #opened: DecodedRequest | undefined;
  #plan: ResponsePlan | undefined;
  /** Clients: what the profile returned when it sealed the request, for opening the answer. */
  #state: unknown;
  /** Clients: the answer's head. */
  #response: ResponseHead | undefined;

  /** @internal Use `HttpCodec.exchange(route, head)`. */
  constructor(rules: ExchangeRules, route: CompiledRoute, head: RequestHead, preset: ExchangePreset = {}) {
    this.#rules = rules;
    this.route = route;
    this.head = head;
    this.#in = rules.side === 'server' ? 'request' : 'response';
    this.#out = rules.side === 'server' ? 'response' : 'request';
    this.#decision = preset.decision;
    this.#opened = preset.opened;
    this.#plan = preset.plan;
  }

  /** `server` or `client`: which way `open` and `seal` go. */
  get side(): Side {
    return this.#rules.side;
  }

  /** The last {@link Exchange.inspect} decision, if any. */
  get decision(): Decision | undefined {
    return this.#decision;
  }

  /** What {@link Exchange.open} opened, if anything. */
  get opened(): DecodedRequest | undefined {
    return this.#opened;
  }

  /** How the arriving body was protected (unprotected: `{ mode, sealed: false }`). */
  get info(): WiresealRequestInfo {
    return this.#opened?.info ?? { mode: this.route.mode, sealed: false };
  }

  /**
   * How the outgoing body will be sealed. Servers: decided once the request
   * is opened (always on `required` routes; on `optional` ones when the
   * request was sealed, carried `wireseal: 1`, or, whole mode, lists a
   * profile's media type in `Accept`). Clients: the route's policy, or its
   * first profile.
   */
  get plan(): ResponsePlan {
    return (this.#plan ??= this.#rules.side === 'server' ? this.#responsePlan() : this.#requestPlan());
  }

  /**
   * Decides from a head alone what to do with the arriving body: servers the
   * request's (this exchange's `head`), clients the answer's.
   * @throws UnsupportedMediaTypeError (415) when a `required` route gets a request of a media type it does not accept
   * @throws LimitExceededError (413) when the request's declared length is over the limit
   */
  inspect(response?: ResponseHead): Decision {
    try {
      this.#decision = this.#rules.side === 'server' ? this.#inspectRequest() : this.#inspectResponse(response!);
    } catch (err) {
      throw this.#rejected(err, 'open'); // 415 / 413 from the head alone
    }
    // Whole mode, optional route: a plaintext body that is let through is counted as passed through.
    const headers = this.#rules.side === 'server' ? this.head.headers : response!.headers;
    if (this.#decision.action === 'pass' && this.route.mode === 'whole' && !this.route.required && hasBody(headers)) {
      countWhole(this.#rules.metrics, this.#attributes('open'), 'passed_through', undefined);
    }
    return this.#decision;
  }

  /**
   * Opens an arriving body as {@link Exchange.inspect} decided (a server
   * inspects first if it has not): fields documents in `strict` mode on
   * `required` routes and `migrate` mode on `optional` ones; whole payloads
   * with the route's profile for their media type, then the freshness window
   * and (servers) replay detection. Undefined when there was nothing to open.
   */
  async open(body: Uint8Array | string, parseJson: JsonParser = JSON.parse): Promise<DecodedRequest | undefined> {
    const decision = this.#decision ?? this.inspect();
    switch (decision.action) {
      case 'fields':
        return this.openFields(body, parseJson);
      case 'payload':
        return this.#openPayload(decision.profile, body, parseJson);
      case 'unsealed':
        // A required route promised a sealed body: a 2xx body that is not one is refused.
        if (body.length > 0) {
          const type = essence(headerValue(this.#response?.headers ?? {}, 'content-type'));
          throw this.#rejected(new PlaintextFieldError('$', `response to a route that requires encryption was not sealed (${type === undefined ? 'no content type' : printable(type, 100)})`), 'open');
        }
        return undefined;
      default:
        return undefined;
    }
  }

  /**
   * Opens the tokens of a fields-mode body: JSON text or bytes are parsed
   * first, anything else is the document a framework already parsed.
   */
  openFields(body: unknown, parseJson: JsonParser = JSON.parse): DecodedRequest {
    const start = performance.now();
    const policy = this.#in === 'request' ? this.route.policy! : this.route.responsePolicy!;
    const keys = this.route.fieldKeys![this.#in];
    let result;
    try {
      const doc = typeof body === 'string' || body instanceof Uint8Array ? parseJsonBody(body, `${this.#in} body`, parseJson) : body;
      const context = contextFor(this.route, this.#in, this.head);
      result = decryptFields(keys, doc, policy, {
        mode: this.route.required ? 'strict' : 'migrate',
        ...(context ? { context } : {}),
        ...(this.route.requireMatch ? { requireMatch: this.route.requireMatch[this.#in] } : {}),
        ...this.#limits(),
      });
    } catch (err) {
      throw this.#rejected(err, 'open', start);
    }
    const attributes = this.#attributes('open');
    this.#timed('open', start, attributes, countOpenedFields(this.#rules.metrics, attributes, policy, keys, result));
    const { decrypted, passedThrough, sealed: leftSealed, unmatched } = result;
    return this.#settle({
      body: result.doc,
      info: { mode: 'fields', sealed: decrypted.length > 0 || leftSealed.length > 0, decrypted, passedThrough, leftSealed, unmatched },
    });
  }

  /**
   * Seals an outgoing body per the {@link Exchange.plan}. Undefined when it
   * leaves as it is: no plan; servers: no body (1xx, 204, 304, empty), or, in
   * fields mode, an error document (`application/problem+json`, status 300 or
   * more) or, on `optional` routes, a body that is not JSON.
   *
   * Fields mode seals every JSON body (`application/json` and any
   * `application/*+json`) per the policy. On a `required` route a body of any
   * other type (servers: a 2xx body), or of no type, is refused: it cannot be
   * sealed, and plaintext is never sent where encryption is required.
   * @param status - servers: the response status
   * @throws WiresealError when sealing fails or the body cannot be sealed
   * (`UnsupportedMediaTypeError`, `ERR_ALG_UNSUPPORTED`); the caller must not
   * send the plaintext (a server answers with `problem(err, 'response')`)
   */
  async seal(body: Uint8Array | string, contentType: string | undefined, status = 200): Promise<EncodedResponse | undefined> {
    const plan = this.plan;
    if (plan.kind === 'none') return undefined;
    const response = this.#out === 'response';
    if (response && (status < 200 || status === 204 || status === 304 || body.length === 0)) return undefined;
    const start = performance.now();
    try {
      return await this.#seal(plan, body, contentType, status, start);
    } catch (err) {
      throw this.#rejected(err, 'seal', start);
    }
  }

  async #seal(plan: Exclude<ResponsePlan, { kind: 'none' }>, body: Uint8Array | string, contentType: string | undefined, status: number, start: number): Promise<EncodedResponse | undefined> {
    const response = this.#out === 'response';
    if (plan.kind === 'fields') {
      const type = essence(contentType);
      if (!isFieldsBody(type, status)) {
        if (this.route.required && status < 300) {
          // The reason goes to onError (servers) or the caller (clients); the body goes nowhere.
          throw new UnsupportedMediaTypeError(
            `${this.#out} body of ${typeText(type)} cannot be sealed on a fields route that requires encryption (only JSON can); it was not sent`,
            FIELDS_TYPES,
          );
        }
        return undefined;
      }
      const doc = parseJsonBody(body, `${this.#out} body`, JSON.parse, true) as JsonValue;
      return { body: JSON.stringify(this.#sealFields(plan, doc, start)), contentType: contentType! };
    }
    const bytes = typeof body === 'string' ? utf8Encoder.encode(body) : body;
    const sealed = await plan.profile.seal(bytes, contentType ?? 'application/octet-stream', this.#profileContext(this.#out, plan.profile, this.#rules.now(), plan.state));
    const attributes = this.#attributes('seal');
    countWhole(this.#rules.metrics, attributes, 'sealed', sealed.kid);
    this.#timed('seal', start, attributes, 'sealed');
    if (!response) this.#state = sealed.state;
    const out: EncodedResponse = { body: sealed.body, contentType: plan.profile.mediaType };
    if (sealed.headers) out.headers = sealed.headers;
    return out;
  }

  /**
   * @internal Fields mode, for adapters that hold the outgoing document
   * before their framework serializes it (Fastify): the sealed document, to
   * be serialized with `JSON.stringify`, when {@link Exchange.seal} would
   * seal the serialized body with the fields policy; undefined when it would
   * not (then serialize and call `seal`). The document is read with
   * JSON.stringify's semantics (`toJSON`, dropped members) and never
   * changed. A failure is thrown but not counted or timed: the caller falls
   * back to `seal` on the serialized body, which answers it.
   */
  sealDocument(doc: unknown, contentType: string | undefined, status = 200): { doc: unknown } | undefined {
    const plan = this.plan;
    if (plan.kind !== 'fields') return undefined;
    if (this.#out === 'response' && (status < 200 || status === 204 || status === 304)) return undefined;
    if (!isFieldsBody(essence(contentType), status)) return undefined;
    return { doc: this.#sealFields(plan, doc as JsonValue, performance.now()) };
  }

  #sealFields(plan: Extract<ResponsePlan, { kind: 'fields' }>, doc: JsonValue, start: number): unknown {
    const context = contextFor(this.route, this.#out, this.head);
    const keys = this.route.fieldKeys![this.#out];
    const sealed = encryptFieldsWithReport(keys, doc, plan.policy, {
      alg: this.route.alg,
      reuseContentKey: this.#rules.reuseContentKey,
      ...(context ? { context } : {}),
      ...(this.route.requireMatch ? { requireMatch: this.route.requireMatch[this.#out] } : {}),
      ...this.#limits(),
    });
    const attributes = this.#attributes('seal');
    this.#timed('seal', start, attributes, countSealedFields(this.#rules.metrics, attributes, plan.policy, keys, sealed));
    return sealed.doc;
  }

  /** Clients: headers a whole-mode request without a body announces (e.g. the client key id), so the server can seal its answer. */
  announce(): Readonly<Record<string, string>> | undefined {
    const plan = this.plan;
    if (plan.kind !== 'payload' || !plan.profile.announce) return undefined;
    return plan.profile.announce(this.#profileContext(this.#out, plan.profile, this.#rules.now(), undefined));
  }

  /**
   * Turns a failure into a problem response and reports it to `onError`.
   * Anything that is not a WiresealError is answered as a bare 500.
   */
  problem(err: unknown, phase: FailurePhase): ProblemResponse {
    // Failures of the adapters' own steps (a body over the limit while read, bad JSON) count here.
    this.#rejected(err, phase === this.#in ? 'open' : 'seal');
    return this.#rules.failure(err, phase, this.head);
  }

  /** The attributes of every recording of this exchange: never a path, a URL or a token. */
  #attributes(operation: 'seal' | 'open'): MetricAttributes {
    return ATTRIBUTES[`${this.route.mode} ${operation} ${operation === 'open' ? this.#in : this.#out}`]!;
  }

  #timed(operation: 'seal' | 'open', start: number, attributes: MetricAttributes, outcome: RecordOutcome): void {
    this.#rules.metrics.duration(`${operation}.duration`, start, { ...attributes, outcome });
  }

  /** Counts `err` as a rejected document (once), with its time when `start` is given; returns it. */
  #rejected(err: unknown, operation: 'seal' | 'open', start?: number): unknown {
    if (typeof err === 'object' && err !== null) {
      if (counted.has(err)) return err;
      counted.add(err);
    }
    const attributes = this.#attributes(operation);
    countRejected(this.#rules.metrics, attributes, err);
    if (start !== undefined) this.#timed(operation, start, attributes, 'rejected');
    return err;
  }

  #settle(opened: DecodedRequest): DecodedRequest {
    this.#opened = opened;
    if (this.#rules.side === 'server') this.#plan = undefined; // the response plan depends on what was opened
    return opened;
  }

  #limits(): { limits?: DocumentLimits } {
    const limits = this.#rules.documentLimits;
    return limits ? { limits } : {};
  }

  #inspectRequest(): Decision {
    const { route, head } = this;
    const type = essence(headerValue(head.headers, 'content-type'));
    let decision: RequestDecision = PASS;
    if (route.mode === 'fields') {
      // application/json and every application/*+json (merge-patch, vnd.api, …) are JSON documents.
      if (isJsonType(type)) decision = { action: 'fields', limit: route.maxBodyBytes };
    } else if (type !== undefined) {
      const profile = profilesFor(this.#rules.listFor(route), type)[0];
      if (profile) decision = { action: 'payload', limit: route.maxBodyBytes, profile };
    }
    if (decision === PASS) {
      if (route.required && hasBody(head.headers)) {
        const accepted = route.mode === 'fields' ? FIELDS_TYPES : mediaTypesOf(this.#rules.listFor(route));
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

  #inspectResponse(response: ResponseHead): Decision {
    this.#response = response;
    const { route } = this;
    const type = essence(headerValue(response.headers, 'content-type'));
    const limit = Number.POSITIVE_INFINITY;
    // Fields routes answer JSON; only whole routes answer with a profile's media type.
    if (route.mode === 'whole') {
      const profile = profilesFor(this.#rules.listFor(route), type)[0];
      if (profile) return { action: 'payload', limit, profile };
    } else if (isFieldsBody(type, response.status)) {
      return { action: 'fields', limit };
    }
    // A required route promised a sealed body: a 2xx body that is not one (fields:
    // not JSON, so the policy was never checked; whole: not a profile's type) is refused.
    if (route.required && response.status >= 200 && response.status < 300) return { action: 'unsealed', limit };
    return PASS;
  }

  /**
   * Opens a whole-payload body with `chosen` (or, when several of the
   * route's profiles share its media type, the one that claims the body),
   * enforces the freshness window and replay detection, and (servers) parses
   * the plaintext by its media type.
   */
  async #openPayload(chosen: PayloadProfile, body: Uint8Array | string, parseJson: JsonParser): Promise<DecodedRequest> {
    const start = performance.now();
    let opened: DecodedRequest & { kid?: string };
    try {
      opened = await this.#openPayloadAs(chosen, body, parseJson);
    } catch (err) {
      throw this.#rejected(err, 'open', start);
    }
    const { kid, ...decoded } = opened;
    const attributes = this.#attributes('open');
    countWhole(this.#rules.metrics, attributes, 'opened', kid);
    this.#timed('open', start, attributes, 'opened');
    return this.#settle(decoded);
  }

  async #openPayloadAs(chosen: PayloadProfile, body: Uint8Array | string, parseJson: JsonParser): Promise<DecodedRequest & { kid?: string }> {
    const { route } = this;
    const candidates = profilesFor(this.#rules.listFor(route), chosen.mediaType.toLowerCase());
    const profile = candidates.length > 1 ? chooseProfile(candidates, body) : chosen;
    const now = this.#rules.now();
    const opened = await profile.open(body, this.#profileContext(this.#in, profile, now, this.#state));
    const iat = checkFreshness(opened.iat, now, route.maxAgeSeconds, route.clockSkewSeconds);
    const replay = this.#rules.replay;
    if (replay && opened.replayId !== undefined) {
      const verdict = await replay.remember(opened.replayId, iat, iat + route.maxAgeSeconds);
      if (verdict === 'replay') throw new ReplayError('payload was already received inside the freshness window');
      if (verdict === 'unknown') {
        throw new StaleError('payload is older than the replay cache can vouch for (cache at capacity); send a fresh one');
      }
    }
    const contentType = opened.contentType ?? 'application/octet-stream';
    const info: WiresealRequestInfo = {
      mode: 'whole',
      sealed: true,
      profile: profile.mediaType,
      ...(profile.name !== undefined ? { profileName: profile.name } : {}),
      contentType,
      iat,
    };
    const parsed = this.#rules.side === 'server' ? parsePlaintext(opened.plaintext, contentType, parseJson) : opened.plaintext;
    return { body: parsed, plaintext: opened.plaintext, info, profile, state: opened.state, ...(opened.kid !== undefined ? { kid: opened.kid } : {}) };
  }

  #responsePlan(): ResponsePlan {
    const { route, head } = this;
    const opened = this.#opened;
    const asked = headerValue(head.headers, WIRESEAL_HEADER) === '1';
    if (route.mode === 'fields') {
      return route.required || asked || opened?.info.sealed ? { kind: 'fields', policy: route.responsePolicy! } : NONE;
    }
    if (opened?.profile) return { kind: 'payload', profile: opened.profile, state: opened.state };
    const accept = headerValue(head.headers, 'accept');
    const list = this.#rules.listFor(route);
    for (const profile of list) {
      if (accepts(accept, profile.mediaType)) return { kind: 'payload', profile, state: undefined };
    }
    if ((route.required || asked) && list[0]) return { kind: 'payload', profile: list[0], state: undefined };
    return NONE;
  }

  #requestPlan(): ResponsePlan {
    if (this.route.mode === 'fields') return { kind: 'fields', policy: this.route.policy! };
    const profile = this.#rules.listFor(this.route)[0];
    return profile ? { kind: 'payload', profile, state: undefined } : NONE;
  }

  #profileContext(direction: Direction, profile: PayloadProfile, now: number, state: unknown): ProfileContext {
    const { route, head } = this;
    const context = contextFor(route, direction, head, profile);
    const response = this.#response;
    // Whole routes hold one shared key source (compileRoute refuses a keyring there).
    return { keys: route.keys as KeySource, context, alg: route.alg, reuseContentKey: this.#rules.reuseContentKey, head, now, state, ...(response ? { response } : {}) };
  }
}

/** A whole payload's plaintext as a server's handler gets it: JSON parsed, `text/*` a string, else the bytes. */
function parsePlaintext(plaintext: Uint8Array, contentType: string, parseJson: JsonParser): unknown {
  const type = essence(contentType);
  if (isJsonType(type)) {
    const source = text(plaintext, 'decrypted body');
    try {
      return parseJson(source);
    } catch {
      throw new TokenMalformedError(`decrypted body is not valid JSON (cty ${printable(contentType, 100)})`);
    }
  }
  return type?.startsWith('text/') ? text(plaintext, 'decrypted body') : plaintext;
}
