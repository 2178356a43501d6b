/**
 * A `fetch` wrapper that seals request bodies and opens responses the way the
 * server adapters expect: fields mode (`application/json` with policy fields
 * as tokens) or whole payloads (`application/jose`, `cty` + `iat`). Works with
 * Node's global fetch (undici) or any fetch-compatible function.
 */
import { currentKeys, decryptFields, encryptFields } from '@wireseal/core';
import type { DocumentLimits, KeySource } from '@wireseal/core';
import { PlaintextFieldError, TokenMalformedError } from '@wireseal/core/errors';
import { UnsupportedMediaTypeError } from '../codec/errors.ts';
import { checkFreshness } from '../codec/freshness.ts';
import type { RequestHead } from '../media/media.ts';
import { JSON_TYPE, PROBLEM_TYPE, WIRESEAL_HEADER, essence, isJsonType, printable } from '../media/media.ts';
import type { CompiledRoute, Direction, FreshnessOptions, RouteOptions, RouteTable } from '../codec/route.ts';
import { DEFAULT_FRESHNESS, DEFAULT_MAX_BODY_BYTES, compileRoute, contextFor, needsSharedKeys, routeMatcher } from '../codec/route.ts';
import { sharedKeyJose } from '../profiles/shared-jose.ts';
import type { PayloadProfile, ProfileContext } from '../profiles/types.ts';
import { chooseProfile, profilesFor } from '../codec/select.ts';

/** A fetch-compatible function. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Picks the route options for an outgoing request, or undefined to send it untouched. */
export type RouteResolver = (request: { readonly method: string; readonly url: URL }) => RouteOptions | undefined;

/** Options for {@link createFetch}. */
export interface CreateFetchOptions extends Partial<RouteOptions> {
  /** Shared keys for every route that does not name its own. Optional when only profiles with their own keys (public-key profiles) are used. */
  keys?: KeySource;
  /**
   * Per-route options: a table of `"METHOD /path"` / `"/path"` keys matched
   * against the URL's pathname, or a function. Requests that match nothing
   * use the top-level `mode`/`policy`/… when `mode` is set, else pass untouched.
   */
  routes?: RouteTable | RouteResolver;
  /** The fetch to wrap. Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Whole-payload profiles; the first seals requests (unless a route names its own `profiles`), any opens responses by media type. Default `[sharedKeyJose()]`. */
  profiles?: readonly PayloadProfile[];
  /** Default freshness window for sealed responses. Default 120 s old, 30 s in the future. */
  freshness?: FreshnessOptions;
  /**
   * Limits on JSON documents in fields mode (depth, values, tokens), for the
   * bodies it seals and the responses it opens: the same option, and the same
   * core defaults (depth 64, 100,000 values, 10,000 tokens), as the adapters'.
   */
  documentLimits?: DocumentLimits;
  /** Clock in milliseconds since the epoch (tests). Default `Date.now`. */
  now?: () => number;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const FIELDS_TYPES: readonly string[] = Object.freeze([JSON_TYPE, 'application/*+json']);

/**
 * Whether a fields-mode request body is a JSON document: labelled JSON
 * (`application/json`, `application/*+json`), or not labelled at all (a
 * string, bytes, an untyped Blob: JSON text in fields mode). `declared` is
 * the `Content-Type` header, else the type the platform gives the body.
 */
function isJsonBody(explicit: string | null, platformType: string | null, source: BodyInit): boolean {
  if (explicit !== null) return isJsonType(essence(explicit));
  if (typeof source === 'string' || platformType === null || platformType === '') return true;
  return isJsonType(essence(platformType));
}

interface BodyBytes {
  bytes: Uint8Array;
  type: string | null;
}

async function bodyBytes(body: BodyInit): Promise<BodyBytes> {
  if (typeof body === 'string') return { bytes: utf8.encode(body), type: 'text/plain;charset=UTF-8' };
  if (body instanceof Uint8Array) return { bytes: body, type: null };
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body), type: null };
  if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), type: null };
  // Blob, FormData, URLSearchParams, streams: let the platform serialise them.
  const r = new Response(body);
  return { bytes: new Uint8Array(await r.arrayBuffer()), type: r.headers.get('content-type') };
}

function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

function rebuild(res: Response, body: BodyInit, contentType: string): Response {
  const headers = new Headers(res.headers);
  headers.set('content-type', contentType);
  headers.delete('content-length');
  headers.delete('content-encoding');
  const out = new Response(body, { status: res.status, statusText: res.statusText, headers });
  Object.defineProperty(out, 'url', { value: res.url });
  Object.defineProperty(out, 'redirected', { value: res.redirected });
  return out;
}

/**
 * Wraps `fetch` so request bodies are sealed and responses opened per route.
 * The returned function rejects with a `WiresealError` when a response fails
 * to open (tampered, wrong key, stale, plaintext where a required route
 * promised a sealed body).
 * @example
 * const sfetch = createFetch({ keys, routes: { 'POST /payments': { mode: 'fields', policy: ['card.number'] } } });
 * const res = await sfetch('http://ledger/payments', { method: 'POST', body: JSON.stringify(payment) });
 * @throws WiresealError `ERR_POLICY_INVALID` for invalid route options (when created or first used)
 */
export function createFetch(options: CreateFetchOptions): FetchLike {
  const base: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const profiles = options.profiles ?? [sharedKeyJose()];
  const now = options.now ?? Date.now;
  const defaults = {
    keys: options.keys,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    freshness: { ...DEFAULT_FRESHNESS, ...options.freshness },
    bindDirection: options.bindDirection,
  };
  const limits = options.documentLimits ? { limits: options.documentLimits } : {};
  const compile = (o: RouteOptions): CompiledRoute => {
    const route = compileRoute(o, defaults);
    if (route.mode === 'whole') needsSharedKeys(route, route.profiles ?? profiles);
    return route;
  };
  const fallback = options.mode === undefined ? undefined : compile(options as RouteOptions);
  let lookup: (method: string, url: URL) => CompiledRoute | undefined;
  const { routes } = options;
  if (typeof routes === 'function') {
    const cache = new WeakMap<RouteOptions, CompiledRoute>();
    lookup = (method, url) => {
      const o = routes({ method, url });
      if (o === undefined) return fallback;
      let c = cache.get(o);
      if (!c) cache.set(o, (c = compile(o)));
      return c;
    };
  } else if (routes !== undefined) {
    const match = routeMatcher(routes, compile);
    lookup = (method, url) => match(method, url.pathname) ?? fallback;
  } else {
    lookup = () => fallback;
  }

  const context = (
    route: CompiledRoute,
    head: RequestHead,
    direction: Direction,
    profile: PayloadProfile,
    state?: unknown,
    response?: ProfileContext['response'],
  ): ProfileContext => ({
    keys: route.keys,
    context: contextFor(route, direction, head, profile),
    alg: route.alg,
    head,
    now: now(),
    state,
    ...(response ? { response } : {}),
  });

  async function openResponse(res: Response, route: CompiledRoute, head: RequestHead, sealedState: unknown): Promise<Response> {
    if (res.status === 204 || res.status === 304 || res.body === null) return res;
    const ct = res.headers.get('content-type') ?? undefined;
    const type = essence(ct);
    // Fields routes answer JSON; only whole routes answer with a profile's media type.
    const candidates = route.mode === 'whole' ? profilesFor(route.profiles ?? profiles, type) : [];
    if (candidates.length > 0) {
      const raw = new Uint8Array(await res.arrayBuffer());
      const profile = chooseProfile(candidates, raw);
      const opened = await profile.open(raw, context(route, head, 'response', profile, sealedState, { status: res.status, headers: headerRecord(res.headers) }));
      checkFreshness(opened.iat, now(), route.maxAgeSeconds, route.clockSkewSeconds);
      return rebuild(res, opened.plaintext as Uint8Array<ArrayBuffer>, opened.contentType ?? 'application/octet-stream');
    }
    // An error report (as the adapters send it) is neither sealed nor opened.
    const problem = type === PROBLEM_TYPE && res.status >= 300;
    if (route.mode === 'fields' && isJsonType(type) && !problem) {
      const text = await res.text();
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        throw new TokenMalformedError('response body labelled JSON is not valid JSON');
      }
      const ctx = contextFor(route, 'response', head);
      const result = decryptFields(currentKeys(route.keys), doc, route.responsePolicy!, {
        mode: route.required ? 'strict' : 'migrate',
        ...(ctx ? { context: ctx } : {}),
        ...limits,
      });
      return rebuild(res, JSON.stringify(result.doc), ct!);
    }
    // A required route promised a sealed body: a 2xx body that is not one (fields:
    // not JSON, so the policy was never checked; whole: not a profile's type) is refused.
    if (route.required && res.ok) {
      const raw = new Uint8Array(await res.arrayBuffer());
      if (raw.length > 0) throw new PlaintextFieldError('$', `response to a route that requires encryption was not sealed (${type === undefined ? 'no content type' : printable(type, 100)})`);
      return rebuild(res, raw, ct ?? 'application/octet-stream');
    }
    return res;
  }

  return async function wiresealFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const req = typeof Request !== 'undefined' && input instanceof Request ? input : undefined;
    const url = new URL(req ? req.url : String(input));
    const method = (init.method ?? req?.method ?? 'GET').toUpperCase();
    const route = lookup(method, url);
    if (!route) return base(input, init);

    const headers = new Headers(req?.headers);
    if (init.headers !== undefined) new Headers(init.headers).forEach((value, name) => headers.set(name, value));
    let source: BodyInit | null | undefined = init.body;
    if (source === undefined && req?.body) source = await req.arrayBuffer();
    const head: RequestHead = { method, path: url.pathname, headers: headerRecord(headers) };
    headers.set(WIRESEAL_HEADER, '1');
    const requestProfile = route.profiles?.[0] ?? profiles[0];
    let sealedState: unknown;

    let body: BodyInit | undefined;
    if (source !== undefined && source !== null) {
      const { bytes, type } = await bodyBytes(source);
      const explicit = headers.get('content-type');
      const declared = explicit ?? type;
      if (route.mode === 'fields') {
        if (isJsonBody(explicit, type, source)) {
          let doc: unknown;
          try {
            doc = JSON.parse(utf8Decoder.decode(bytes));
          } catch {
            throw new TokenMalformedError('fields mode needs a JSON request body');
          }
          const ctx = contextFor(route, 'request', head);
          const sealed = encryptFields(currentKeys(route.keys), doc, route.policy!, { alg: route.alg, ...(ctx ? { context: ctx } : {}), ...limits });
          body = JSON.stringify(sealed);
          // A JSON type the platform gave the body (a typed Blob) is kept; a string's text/plain is not.
          if (explicit === null) headers.set('content-type', typeof source !== 'string' && type !== null && isJsonType(essence(type)) ? type : JSON_TYPE);
        } else if (route.required) {
          // Nothing goes on the wire: the policy cannot be applied to this body, and it would leave unsealed.
          throw new UnsupportedMediaTypeError(
            `fields mode seals JSON request bodies only; this route requires encryption and the body is ${printable(essence(declared ?? undefined) ?? 'untyped', 100)}: it was not sent`,
            FIELDS_TYPES,
          );
        } else {
          body = bytes as Uint8Array<ArrayBuffer>;
          // The platform's type (a form's, with its boundary) goes with the serialised bytes.
          if (explicit === null && type !== null) headers.set('content-type', type);
        }
      } else if (requestProfile) {
        const sealed = await requestProfile.seal(bytes, declared ?? 'application/octet-stream', context(route, head, 'request', requestProfile));
        body = sealed.body as string | Uint8Array<ArrayBuffer>;
        sealedState = sealed.state;
        headers.set('content-type', requestProfile.mediaType);
        for (const [name, value] of Object.entries(sealed.headers ?? {})) headers.set(name, value);
      }
    }
    if (route.mode === 'whole' && requestProfile && body === undefined && requestProfile.announce) {
      for (const [name, value] of Object.entries(requestProfile.announce(context(route, head, 'request', requestProfile)) ?? {})) headers.set(name, value);
    }
    if (route.mode === 'whole' && requestProfile) {
      const accept = headers.get('accept');
      headers.set('accept', accept ? `${requestProfile.mediaType}, ${accept}` : requestProfile.mediaType);
    }
    const { headers: _h, body: _b, method: _m, ...rest } = init;
    const res = await base(url, { ...rest, method, headers, ...(body === undefined ? {} : { body }), ...(req && !rest.signal ? { signal: req.signal } : {}) });
    return openResponse(res, route, head, sealedState);
  };
}
