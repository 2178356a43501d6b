/**
 * A `fetch` wrapper that seals request bodies and opens responses the way the
 * server adapters expect: fields mode (`application/json` with policy fields
 * as tokens) or whole payloads (`application/jose`, `cty` + `iat`). Works with
 * Node's global fetch (undici) or any fetch-compatible function.
 */
import type { MeterProvider } from '@opentelemetry/api';
import type { DocumentLimits, FieldKeys } from '@wireseal/core';
import { HttpCodec } from '../codec/codec.ts';
import type { Exchange } from '../codec/exchange.ts';
import type { CompiledRoute, FreshnessOptions, RouteOptions, RouteTable } from '../codec/route.ts';
import { routeMatcher } from '../codec/route.ts';
import { JSON_TYPE, WIRESEAL_HEADER, essence, isJsonType } from '../media/media.ts';
import type { PayloadProfile } from '../profiles/types.ts';

/** A fetch-compatible function. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Picks the route options for an outgoing request, or undefined to send it untouched. */
export type RouteResolver = (request: { readonly method: string; readonly url: URL }) => RouteOptions | undefined;

/** Options for {@link createFetch}. */
export interface CreateFetchOptions extends Partial<RouteOptions> {
  /**
   * Keys for every route that does not name its own: a key set or provider,
   * or (fields routes) a keyring of the audiences this client writes and
   * reads. Optional when only profiles with their own keys (public-key profiles) are used.
   */
  keys?: FieldKeys;
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
  /** Where the metrics go (as the adapters' `meterProvider`). Default: the global OpenTelemetry meter provider. */
  meterProvider?: MeterProvider;
}

const utf8 = new TextEncoder();

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
  // The client's side of the codec the adapters use: the same policies, contexts,
  // direction binding, document limits and freshness checks, the other way round.
  const codec = new HttpCodec(
    {
      ...(options.keys !== undefined ? { keys: options.keys } : {}),
      ...(options.profiles !== undefined ? { profiles: options.profiles } : {}),
      ...(options.freshness !== undefined ? { freshness: options.freshness } : {}),
      ...(options.documentLimits !== undefined ? { documentLimits: options.documentLimits } : {}),
      ...(options.bindDirection !== undefined ? { bindDirection: options.bindDirection } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(options.meterProvider !== undefined ? { meterProvider: options.meterProvider } : {}),
    },
    'client',
  );
  const compile = (o: RouteOptions): CompiledRoute => codec.route(o);
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

  async function openResponse(res: Response, exchange: Exchange): Promise<Response> {
    if (res.status === 204 || res.status === 304 || res.body === null) return res;
    const decision = exchange.inspect({ status: res.status, headers: headerRecord(res.headers) });
    if (decision.action === 'pass') return res; // an error report (as the adapters send it) is neither sealed nor opened
    const ct = res.headers.get('content-type') ?? undefined;
    const raw = decision.action === 'fields' ? await res.text() : new Uint8Array(await res.arrayBuffer());
    const opened = await exchange.open(raw);
    if (!opened) return rebuild(res, raw as Uint8Array<ArrayBuffer>, ct ?? 'application/octet-stream');
    if (opened.info.mode === 'fields') return rebuild(res, JSON.stringify(opened.body), ct!);
    return rebuild(res, opened.plaintext as Uint8Array<ArrayBuffer>, opened.info.contentType!);
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
    const exchange = codec.exchange(route, { method, path: url.pathname, headers: headerRecord(headers) });
    headers.set(WIRESEAL_HEADER, '1');

    let body: BodyInit | undefined;
    if (source !== undefined && source !== null) {
      const { bytes, type } = await bodyBytes(source);
      const explicit = headers.get('content-type');
      let contentType = explicit ?? type ?? undefined;
      if (route.mode === 'fields' && isJsonBody(explicit, type, source)) {
        // A JSON type the platform gave the body (a typed Blob) is kept; a string's text/plain is not.
        contentType = explicit ?? (typeof source !== 'string' && type !== null && isJsonType(essence(type)) ? type : JSON_TYPE);
      }
      // On a required fields route a body that is not JSON is refused here: nothing goes on the wire.
      const sealed = await exchange.seal(bytes, contentType);
      if (sealed) {
        body = sealed.body as string | Uint8Array<ArrayBuffer>;
        headers.set('content-type', sealed.contentType);
        for (const [name, value] of Object.entries(sealed.headers ?? {})) headers.set(name, value);
      } else {
        body = bytes as Uint8Array<ArrayBuffer>;
        // The platform's type (a form's, with its boundary) goes with the serialised bytes.
        if (explicit === null && type !== null) headers.set('content-type', type);
      }
    } else {
      for (const [name, value] of Object.entries(exchange.announce() ?? {})) headers.set(name, value);
    }
    const { plan } = exchange;
    if (plan.kind === 'payload') {
      const accept = headers.get('accept');
      headers.set('accept', accept ? `${plan.profile.mediaType}, ${accept}` : plan.profile.mediaType);
    }
    const { headers: _h, body: _b, method: _m, ...rest } = init;
    const res = await base(url, { ...rest, method, headers, ...(body === undefined ? {} : { body }), ...(req && !rest.signal ? { signal: req.signal } : {}) });
    return openResponse(res, exchange);
  };
}
