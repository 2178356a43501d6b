/**
 * The framework-agnostic HTTP codec: route options compiled once, and one
 * {@link Exchange} per request (`codec.exchange(route, head)`) through which
 * adapters, the gateway and the fetch client open and seal bodies (see
 * exchange.ts for the steps). A server codec opens requests and seals
 * responses; a client codec (`new HttpCodec(options, 'client')`, what
 * `createFetch` uses) seals requests and opens responses, with the same code.
 *
 * Every failure is a `WiresealError`; `exchange.problem(err, phase)` turns
 * it into an RFC 9457 problem response and reports it to `onError` (the codec
 * never logs).
 */
import type { MeterProvider } from '@opentelemetry/api';
import type { ContentKeyReuseOption, DocumentLimits, FieldKeys } from '@wireseal/core';
import { reuseBounds } from '@wireseal/core/internal';
import { PolicyInvalidError } from '@wireseal/core/errors';
import type { RequestHead } from '../media/media.ts';
import { printable } from '../media/media.ts';
import { sharedKeyJose } from '../profiles/shared-jose.ts';
import type { PayloadProfile } from '../profiles/types.ts';
import { Exchange } from './exchange.ts';
import type { DecodedRequest, EncodedResponse, ExchangePreset, ExchangeRules, JsonParser, RequestDecision, ResponsePlan, Side } from './exchange.ts';
import type { FailurePhase, ProblemResponse } from './problem.ts';
import { defaultProblemType, problemFor } from './problem.ts';
import { httpMetrics } from './metrics.ts';
import { MemoryReplayStore } from './replay.ts';
import type { ReplayStore } from './replay.ts';
import type { CompiledRoute, FreshnessOptions, RouteOptions } from './route.ts';
import { DEFAULT_FRESHNESS, DEFAULT_MAX_BODY_BYTES, compileRoute, needsSharedKeys } from './route.ts';

/** Options shared by every adapter. */
export interface HttpCodecOptions {
  /**
   * Default keys for routes that do not name their own: a key set or a
   * provider; for fields routes also a keyring (audience name → keys, `{ pci:
   * pciKeys, pii: piiKeys }`), which whole routes cannot use. Optional when
   * every route uses only profiles that carry their own keys (public-key profiles).
   */
  keys?: FieldKeys;
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
  /**
   * Bounded data-key reuse when sealing with a shared key (`A256KW`): `true`
   * (default: one content key per primary key for up to 2^24 tokens or 5
   * minutes), bounds `{ maxTokens, maxAgeMs, maxBytes }`, or `false` for a
   * fresh content key per message. Every message is still a standalone JWE,
   * and a promoted key is used from the next message on. docs/format.md §3.3.
   */
  reuseContentKey?: ContentKeyReuseOption;
  /**
   * Where the metrics go (`wireseal.values`, `wireseal.records`,
   * `wireseal.seal.duration`, `wireseal.open.duration`; docs/operations.md
   * §3.1). Default: the global OpenTelemetry meter provider at the time of
   * each recording, a no-op unless the application installs an SDK.
   */
  meterProvider?: MeterProvider;
}

/** What `onError` is told besides the error. */
export interface FailureInfo {
  readonly phase: FailurePhase;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly code: string;
}

/** The shared codec: compile routes once, then one {@link Exchange} per request. */
export class HttpCodec {
  /** Whole-payload profiles by media type (the first registered for each type). */
  readonly profiles: ReadonlyMap<string, PayloadProfile>;
  /** `server` (adapters, gateways) or `client` (`createFetch`). */
  readonly side: Side;
  readonly #all: readonly PayloadProfile[];
  /** What a route without its own `profiles` uses: servers every profile that is not opt-in, clients every one. */
  readonly #defaultList: readonly PayloadProfile[];
  readonly #options: HttpCodecOptions;
  readonly #rules: ExchangeRules;
  readonly #defaults: { keys: FieldKeys | undefined; maxBodyBytes: number; freshness: Required<FreshnessOptions>; bindDirection: boolean | undefined };

  /**
   * @param options - defaults shared by every route
   * @param side - `server` (default): exchanges open requests and seal
   * responses. `client`: they seal requests and open responses; routes
   * without `profiles` use every profile (opt-in ones too) and seal with the
   * first, and there is no replay store.
   */
  constructor(options: HttpCodecOptions, side: Side = 'server') {
    this.#options = options;
    reuseBounds(options.reuseContentKey); // a bad bound is a configuration error now, not a failure of every message
    this.side = side;
    const profiles = options.profiles ?? [sharedKeyJose()];
    const byType = new Map<string, PayloadProfile>();
    for (const p of profiles) if (!byType.has(p.mediaType.toLowerCase())) byType.set(p.mediaType.toLowerCase(), p);
    this.profiles = byType;
    this.#all = [...profiles];
    this.#defaultList = side === 'client' ? this.#all : profiles.filter((p) => p.optIn !== true);
    const now = options.now ?? Date.now;
    const replay = side === 'client' || options.replay === false ? undefined : options.replay ?? new MemoryReplayStore({ now });
    this.#rules = {
      side,
      listFor: (route) => route.profiles ?? this.#defaultList,
      documentLimits: options.documentLimits,
      replay,
      now,
      reuseContentKey: options.reuseContentKey ?? true,
      metrics: httpMetrics(options.meterProvider),
      failure: (err, phase, head) => this.failure(err, phase, head),
    };
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
      const list = this.#rules.listFor(route);
      // A client route may name profiles of its own; a server route only the adapter's.
      for (const p of this.side === 'server' ? route.profiles ?? [] : []) {
        if (!this.#all.includes(p)) {
          throw new PolicyInvalidError(`wireseal route: profile ${printable(p.name ?? p.mediaType, 100)} is not one of the adapter's profiles; pass it in the adapter's profiles too`);
        }
      }
      if (list.length === 0) {
        throw new PolicyInvalidError('wireseal route: a whole-mode route needs a profile; public-key profiles are opt-in: list them in the route\'s profiles');
      }
      needsSharedKeys(route, list);
    }
    return route;
  }

  /**
   * One request and its response on `route`: servers `inspect()`, `open(body)`
   * the request, read `info` and `plan`, `seal(body, contentType, status)` the
   * response and answer failures with `problem(err, phase)`; clients
   * `seal(body, contentType)` the request, then `inspect(response)` and
   * `open(body)` the answer.
   * @example
   * const ex = codec.exchange(route, { method: 'POST', path: '/payments', headers: req.headers });
   * const decision = ex.inspect();
   * if (decision.action !== 'pass') await ex.open(await readBody(req, decision.limit));
   */
  exchange(route: CompiledRoute, head: RequestHead): Exchange {
    return new Exchange(this.#rules, route, head);
  }

  #preset(route: CompiledRoute, head: RequestHead, preset: ExchangePreset): Exchange {
    return new Exchange(this.#rules, route, head, preset);
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

  // The step-by-step API from before the exchange, each step now one call on
  // an exchange. Kept for callers that thread (route, head) themselves.

  /** @deprecated `exchange(route, head).inspect()` */
  inspect(route: CompiledRoute, head: RequestHead): RequestDecision {
    return this.exchange(route, head).inspect() as RequestDecision;
  }

  /** @deprecated `exchange(route, head).openFields(doc)` */
  decodeFields(route: CompiledRoute, head: RequestHead, doc: unknown): DecodedRequest {
    return this.exchange(route, head).openFields(doc);
  }

  /** @deprecated `exchange(route, head).openFields(body, parseJson)` */
  decodeFieldsBody(route: CompiledRoute, head: RequestHead, body: Uint8Array | string, parseJson?: JsonParser): DecodedRequest {
    return this.exchange(route, head).openFields(body, parseJson);
  }

  /** @deprecated `exchange(route, head).open(body, parseJson)` */
  async decodePayload(route: CompiledRoute, head: RequestHead, chosen: PayloadProfile, body: Uint8Array | string, parseJson?: JsonParser): Promise<DecodedRequest> {
    const decision: RequestDecision = { action: 'payload', limit: route.maxBodyBytes, profile: chosen };
    return (await this.#preset(route, head, { decision }).open(body, parseJson))!;
  }

  /** @deprecated `exchange(route, head).open(body, parseJson)` */
  decode(route: CompiledRoute, head: RequestHead, decision: RequestDecision, body: Uint8Array | string, parseJson?: JsonParser): Promise<DecodedRequest | undefined> {
    return this.#preset(route, head, { decision }).open(body, parseJson);
  }

  /** @deprecated `exchange(route, head).plan` after `open` */
  planResponse(route: CompiledRoute, head: RequestHead, decoded?: DecodedRequest): ResponsePlan {
    return this.#preset(route, head, { opened: decoded }).plan;
  }

  /** @deprecated `exchange(route, head).seal(body, contentType, status)` */
  encodeResponse(route: CompiledRoute, head: RequestHead, plan: ResponsePlan, body: Uint8Array | string, contentType: string | undefined, status: number): Promise<EncodedResponse | undefined> {
    return this.#preset(route, head, { plan }).seal(body, contentType, status);
  }
}
