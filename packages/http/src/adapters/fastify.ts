/**
 * Fastify plugin. Routes opt in with `config: { wireseal: { mode, … } }`.
 * Per route it adds: a `preValidation` hook that opens the body (so schemas
 * validate plaintext and the handler never runs for a body that fails), an
 * `onSend` hook that seals the response, and an error handler that answers
 * Fastify's own body errors (too large, bad JSON, unknown media type) with
 * RFC 9457 problems and hands every other error to yours.
 */
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions as FastifyRouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { LimitExceededError, TokenMalformedError } from '@wireseal/core/errors';
import type { WiresealError } from '@wireseal/core/errors';
import type { HttpCodecOptions } from '../codec/codec.ts';
import { HttpCodec } from '../codec/codec.ts';
import { UnsupportedMediaTypeError } from '../codec/errors.ts';
import type { DecodedRequest, Exchange, JsonParser, WiresealRequestInfo } from '../codec/exchange.ts';
import type { ProblemResponse } from '../codec/problem.ts';
import type { CompiledRoute, RouteOptions } from '../codec/route.ts';
import { keySources } from '../codec/route.ts';
import type { RequestHead } from '../media/media.ts';
import { JSON_TYPE, essence, headerValue, isJsonType } from '../media/media.ts';
import { interceptResponse } from './node-response.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Seal this route with wireseal. */
    wireseal?: RouteOptions;
  }
  interface FastifyRequest {
    /** How the request was protected; null on routes without wireseal. */
    wireseal: WiresealRequestInfo | null;
  }
}

/** Options for {@link wiresealFastify}: the codec options (`keys`, `profiles`, `replay`, limits, hooks). */
export interface WiresealFastifyOptions extends HttpCodecOptions {
  /** Use this codec (shared replay cache with other adapters) instead of building one from the options. */
  codec?: HttpCodec;
}

interface State {
  /** The request's exchange, once its body is open: it seals the response. */
  exchange?: Exchange;
  /** A wireseal problem is being sent: never seal it. */
  problem?: boolean;
  /** Fastify's send path (onSend) has the response: the guard on `reply.raw` lets it through. */
  viaOnSend?: boolean;
  /** Fields mode: the JSON our serializer made of the sealed document (onSend sends exactly this string as it is). */
  sealedJson?: string;
}

const STATE = Symbol('wireseal.state');
/** The request's `application/*+json` content type, while Fastify parses the body as `application/json`. */
const JSON_SUBTYPE = Symbol('wireseal.jsonType');
const COMPILED = Symbol('wireseal.route');
type Req = FastifyRequest & { [STATE]?: State; [JSON_SUBTYPE]?: string };
type Config = { [COMPILED]?: CompiledRoute };

function headOf(request: FastifyRequest): RequestHead {
  const url = request.url;
  const q = url.indexOf('?');
  return { method: request.method, path: q < 0 ? url : url.slice(0, q), headers: request.headers };
}

function sendProblem(request: Req, reply: FastifyReply, problem: ProblemResponse): FastifyReply {
  (request[STATE] ??= {}).problem = true;
  reply.code(problem.status).headers(problem.headers);
  if (problem.status === 413) reply.header('connection', 'close');
  return reply.send(problem.body);
}

/**
 * Fastify's own body errors (raised before the handler), in wireseal terms;
 * undefined for anything else, including errors the handler throws.
 */
function fromFastifyError(error: FastifyError): WiresealError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new LimitExceededError('request body is over the limit for this route');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError('this route does not accept the request content type', []);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new TokenMalformedError('request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new TokenMalformedError('request body does not match its content-length');
    default:
      return undefined;
  }
}

/** Reads a Node stream or a web `ReadableStream` to the end. */
async function collect(stream: AsyncIterable<unknown>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
  return Buffer.concat(chunks);
}

function isWebResponse(payload: unknown): payload is Response {
  return typeof payload === 'object' && payload !== null && Object.prototype.toString.call(payload) === '[object Response]';
}

/**
 * The body bytes of an onSend payload, whatever the handler sent: a string or
 * bytes, a Node stream, a web `ReadableStream`, or a web `Response` (whose
 * status and headers are applied to the reply first, as Fastify would after
 * onSend). Undefined for anything else (Fastify refuses to send it).
 */
async function payloadBytes(reply: FastifyReply, payload: unknown): Promise<Uint8Array | string | undefined> {
  if (typeof payload === 'string' || payload instanceof Uint8Array) return payload;
  if (isWebResponse(payload)) {
    reply.code(payload.status);
    payload.headers.forEach((value, name) => {
      reply.header(name, value);
    });
    return payload.body === null ? new Uint8Array(0) : collect(payload.body as unknown as AsyncIterable<unknown>);
  }
  const p = payload as { pipe?: unknown; getReader?: unknown };
  if (typeof p.pipe === 'function' || typeof p.getReader === 'function') return collect(payload as AsyncIterable<unknown>);
  return undefined;
}

/** A Fastify-internal symbol by its description, on `obj` itself; undefined when this Fastify has none. */
function symbolOf(obj: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(obj).find((s) => s.description === description);
}

/**
 * Whether Fastify would serialize this reply's object payload with plain
 * `JSON.stringify`: no response schema on the route, no instance
 * (`setReplySerializer`) or reply (`reply.serializer`) serializer. Only then
 * may the fields document be sealed before serialization (a schema serializer
 * would coerce tokens to the plaintext's types, or drop members). Read from
 * Fastify's own slots; when a slot cannot be found, false (the bytes are
 * parsed and sealed in onSend, as for any other serializer).
 */
function defaultSerializer(): (request: FastifyRequest, reply: FastifyReply) => boolean {
  const routes = new WeakMap<object, boolean>();
  let symbols: { reply: symbol; context: symbol } | null | undefined;
  return (request, reply) => {
    if (symbols === undefined) {
      const replySym = symbolOf(reply, 'fastify.reply.serializer');
      const contextSym = symbolOf(request, 'fastify.context');
      symbols = replySym && contextSym ? { reply: replySym, context: contextSym } : null;
    }
    if (symbols === null || (reply as unknown as Record<symbol, unknown>)[symbols.reply] !== null) return false;
    const context = (request as unknown as Record<symbol, object | undefined>)[symbols.context];
    if (context === undefined) return false;
    let plain = routes.get(context);
    if (plain === undefined) {
      const slot = symbolOf(context, 'fastify.replySerializerDefault');
      const schemaSlot = symbolOf(context, 'response-schema');
      const c = context as Record<symbol, unknown>;
      plain =
        slot !== undefined &&
        (c[slot] === null || c[slot] === undefined) &&
        (schemaSlot === undefined || c[schemaSlot] === null || c[schemaSlot] === undefined) &&
        (request.routeOptions.schema as { response?: unknown } | undefined)?.response === undefined;
      routes.set(context, plain);
    }
    return plain;
  };
}

function jsonParserOf(fastify: FastifyInstance): JsonParser {
  const cfg = fastify.initialConfig as { onProtoPoisoning?: 'error' | 'remove' | 'ignore'; onConstructorPoisoning?: 'error' | 'remove' | 'ignore' };
  const parse = fastify.getDefaultJsonParser(cfg.onProtoPoisoning ?? 'error', cfg.onConstructorPoisoning ?? 'ignore');
  return (text) => {
    let out: unknown;
    let failed: unknown;
    parse(undefined as unknown as FastifyRequest, text, (err: Error | null, value?: unknown) => {
      failed = err ?? undefined;
      out = value;
    });
    if (failed !== undefined) throw failed;
    return out;
  };
}

const plugin: FastifyPluginAsync<WiresealFastifyOptions> = async (fastify, options) => {
  const codec = options.codec ?? new HttpCodec(options);
  // Every provider (each of a keyring's too) has its keys before the first request.
  if (options.keys) await Promise.all(keySources(options.keys).map((source) => (source as { ready?: () => Promise<void> }).ready?.()));
  const parseJson = jsonParserOf(fastify);
  fastify.decorateRequest('wireseal', null);
  for (const [type, profile] of codec.profiles) {
    if (!fastify.hasContentTypeParser(type)) {
      // The raw body; the profile opens it in preValidation (Fastify's bodyLimit applies while reading).
      fastify.addContentTypeParser(type, { parseAs: profile.bodyAs === 'text' ? 'string' : 'buffer' }, (_req, body, done) => done(null, body));
    }
  }

  // Fastify parses application/json only; on fields routes every application/*+json
  // body is a JSON document too. It is parsed as application/json, and the handler
  // sees its own content type again (preValidation restores it).
  const preParsing = <P>(request: Req, _reply: FastifyReply, payload: P, done: (err: Error | null, payload?: P) => void): void => {
    const route = (request.routeOptions.config as Config | undefined)?.[COMPILED];
    if (route?.mode === 'fields') {
      const given = headerValue(request.headers, 'content-type');
      const type = essence(given);
      if (type !== JSON_TYPE && isJsonType(type)) {
        request[JSON_SUBTYPE] = given;
        request.headers['content-type'] = JSON_TYPE;
      }
    }
    done(null, payload);
  };

  const attach = (request: Req, reply: FastifyReply, exchange: Exchange, decoded: DecodedRequest | undefined): void => {
    if (decoded) {
      request.body = decoded.body;
      // The handler sees the request as a plaintext client would have sent it.
      if (decoded.info.mode === 'whole' && decoded.info.contentType) request.headers['content-type'] = decoded.info.contentType;
    }
    request.wireseal = exchange.info;
    const state: State = { exchange };
    request[STATE] = state;
    if (exchange.plan.kind !== 'none') {
      // A handler that writes to reply.raw itself (reply.hijack()) bypasses onSend:
      // the raw response is held and sealed the same way, or refused.
      interceptResponse(reply.raw, exchange, () => state.viaOnSend === true || state.problem === true);
    }
  };

  // Callback-style hooks: on routes without wireseal they cost one property
  // lookup and no promise. A failed request is answered here and `done` is
  // not called, so the handler never runs.
  const preValidation = (request: Req, reply: FastifyReply, done: (err?: Error) => void): void => {
    const route = (request.routeOptions.config as Config | undefined)?.[COMPILED];
    if (!route) {
      done();
      return;
    }
    const jsonType = request[JSON_SUBTYPE];
    if (jsonType !== undefined) request.headers['content-type'] = jsonType;
    const exchange = codec.exchange(route, headOf(request));
    const fail = (err: unknown): void => {
      sendProblem(request, reply, exchange.problem(err, 'request'));
    };
    try {
      const decision = exchange.inspect();
      if (decision.action !== 'payload') {
        // Text or bytes (a catch-all parser's output) are parsed there: the policy applies to the document.
        attach(request, reply, exchange, decision.action === 'fields' ? exchange.openFields(request.body, parseJson) : undefined);
        done();
        return;
      }
      exchange.open(request.body as string | Uint8Array, parseJson).then((decoded) => {
        attach(request, reply, exchange, decoded);
        done();
      }, fail);
    } catch (err) {
      fail(err);
    }
  };

  // Fields routes: the handler's document is sealed as Fastify serializes it, so the
  // response is serialized once (not serialized, parsed, sealed and serialized again).
  // The serializer runs after every preSerialization hook, on the final document; onSend
  // skips sealing only when it gets exactly the string this serializer returned.
  const usesDefaultSerializer = defaultSerializer();
  const preSerialization = (request: Req, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void): void => {
    const state = request[STATE];
    const exchange = state?.exchange;
    if (state && exchange && !state.problem && exchange.route.mode === 'fields' && exchange.plan.kind === 'fields' && usesDefaultSerializer(request, reply)) {
      reply.serializer((value: unknown): string => {
        try {
          const ct = reply.getHeader('content-type');
          const sealed = exchange.sealDocument(value, ct === undefined ? undefined : String(ct), reply.statusCode);
          if (sealed) return (state.sealedJson = JSON.stringify(sealed.doc));
        } catch {
          // onSend seals the serialized document instead, and answers the failure with a problem.
        }
        return JSON.stringify(value);
      });
    }
    done(null, payload);
  };

  const seal = async (reply: FastifyReply, state: State, exchange: Exchange, payload: unknown): Promise<unknown> => {
    try {
      const body = await payloadBytes(reply, payload);
      if (body === undefined) return payload; // not sendable: Fastify refuses it (FST_ERR_REP_INVALID_PAYLOAD_TYPE)
      const ct = reply.getHeader('content-type');
      const sealed = await exchange.seal(body, ct === undefined ? undefined : String(ct), reply.statusCode);
      if (!sealed) return body;
      reply.header('content-type', sealed.contentType);
      reply.removeHeader('content-length');
      // A validator computed over the plaintext would be an oracle for it.
      reply.removeHeader('etag');
      if (sealed.headers) reply.headers(sealed.headers);
      return sealed.body;
    } catch (err) {
      // Never send the plaintext: answer with a problem instead.
      const problem = exchange.problem(err, 'response');
      state.problem = true;
      for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
      reply.code(problem.status).headers(problem.headers);
      return problem.body;
    }
  };

  const onSend = (request: Req, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void): void => {
    const state = request[STATE];
    if (state) state.viaOnSend = true;
    const exchange = state?.exchange;
    if (!state || state.problem || !exchange || exchange.plan.kind === 'none' || payload === null || payload === undefined) {
      done(null, payload);
      return;
    }
    if (state.sealedJson !== undefined && payload === state.sealedJson) {
      reply.removeHeader('content-length');
      // A validator computed over the plaintext would be an oracle for it.
      reply.removeHeader('etag');
      done(null, payload);
      return;
    }
    seal(reply, state, exchange, payload).then((out) => done(null, out), (err: Error) => done(err));
  };

  // Instance-level hooks, in registration order: register wireseal before
  // plugins that must see plaintext bodies (auth on the body) or that must
  // see the sealed response (compression).
  fastify.addHook('preParsing', preParsing);
  fastify.addHook('preValidation', preValidation);
  fastify.addHook('preSerialization', preSerialization);
  fastify.addHook('onSend', onSend);

  fastify.addHook('onRoute', (routeOptions: FastifyRouteOptions) => {
    const cfg = routeOptions.config?.wireseal;
    if (!cfg) return;
    const route = codec.route({
      ...cfg,
      maxBodyBytes: cfg.maxBodyBytes ?? routeOptions.bodyLimit ?? options.maxBodyBytes ?? fastify.initialConfig.bodyLimit,
    });
    // Fastify enforces the limit while reading, before anything is parsed or opened.
    routeOptions.bodyLimit = route.maxBodyBytes;
    routeOptions.config = { ...routeOptions.config, [COMPILED]: route } as FastifyRouteOptions['config'];
    const userErrorHandler = routeOptions.errorHandler;
    routeOptions.errorHandler = function (this: FastifyInstance, error: FastifyError, request: FastifyRequest, reply: FastifyReply): unknown {
      const failure = fromFastifyError(error);
      if (failure) return sendProblem(request as Req, reply, codec.exchange(route, headOf(request)).problem(failure, 'request'));
      if (userErrorHandler) return userErrorHandler.call(this, error, request, reply);
      throw error; // on to the instance's error handler
    } as FastifyRouteOptions['errorHandler'];
  });
};

/**
 * The Fastify plugin. Register it before the routes it should see.
 * @example
 * await app.register(wiresealFastify, { keys });
 * app.post('/payments', { config: { wireseal: { mode: 'fields', policy: ['card.number'] } } }, async (req) => req.body);
 */
export const wiresealFastify: FastifyPluginAsync<WiresealFastifyOptions> = fp(plugin, { fastify: '5.x', name: '@wireseal/http' });
