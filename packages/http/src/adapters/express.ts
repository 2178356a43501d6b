/**
 * Connect-style middleware `(req, res, next)` for Express and plain
 * `node:http`. It reads the raw body itself (with the route's limit), opens
 * it, sets `req.body` to the plaintext and seals the response on its way out.
 * A request that fails gets an RFC 9457 problem and `next` is never called,
 * so the handler never runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpCodecOptions } from '../codec/codec.ts';
import { HttpCodec } from '../codec/codec.ts';
import type { DecodedRequest, WiresealRequestInfo } from '../codec/exchange.ts';
import type { ProblemResponse } from '../codec/problem.ts';
import type { CompiledRoute, RouteOptions, RouteTable } from '../codec/route.ts';
import { routeMatcher } from '../codec/route.ts';
import type { RequestHead } from '../media/media.ts';
import { readBody } from './node-body.ts';
import { interceptResponse } from './node-response.ts';

/** A connect-style middleware; Express accepts it as a `RequestHandler`. */
export type WiresealHandler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** Options for {@link wiresealMiddleware}: the codec options (`keys`, `profiles`, `replay`, limits, hooks). */
export interface WiresealMiddlewareOptions extends HttpCodecOptions {
  /** Use this codec (shared replay cache with other adapters) instead of building one from the options. */
  codec?: HttpCodec;
}

/** Middleware factories sharing one codec (and so one replay cache). */
export interface WiresealMiddleware {
  /** Middleware for one route: `app.post('/payments', ws.route({ mode: 'fields', policy }), handler)`. */
  route(options: RouteOptions): WiresealHandler;
  /** Middleware that looks the request up in a table of `"METHOD /path"` keys; other requests pass untouched. */
  routes(table: RouteTable): WiresealHandler;
  /** The codec behind the middleware. */
  readonly codec: HttpCodec;
}

const INFO = Symbol.for('@wireseal/http.info');

type Req = IncomingMessage & { body?: unknown; _body?: boolean; originalUrl?: string; [INFO]?: WiresealRequestInfo };

/** How the request was protected (what `req.wireseal` also holds), or undefined on unprotected routes. */
export function wiresealInfo(req: IncomingMessage): WiresealRequestInfo | undefined {
  return (req as Req)[INFO];
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

function headOf(req: Req): RequestHead {
  return { method: (req.method ?? 'GET').toUpperCase(), path: pathOf(req.originalUrl ?? req.url), headers: req.headers };
}

function sendProblem(res: ServerResponse, problem: ProblemResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = problem.status;
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.setHeader('content-length', Buffer.byteLength(problem.body));
  // The unread rest of a rejected body is not worth keeping the connection for.
  if (problem.status === 413 || !(res.req as IncomingMessage | undefined)?.complete) res.setHeader('connection', 'close');
  res.end(problem.body);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The body an earlier body parser already consumed, as the codec wants it. */
function alreadyParsed(req: Req): unknown {
  return req._body === true || req.readableEnded ? req.body : undefined;
}

async function handle(codec: HttpCodec, route: CompiledRoute, req: Req, res: ServerResponse, next: (err?: unknown) => void): Promise<void> {
  const exchange = codec.exchange(route, headOf(req));
  let decoded: DecodedRequest | undefined;
  try {
    const decision = exchange.inspect();
    if (decision.action !== 'pass') {
      const earlier = alreadyParsed(req);
      if (earlier !== undefined && decision.action === 'fields' && typeof earlier === 'object') {
        decoded = exchange.openFields(earlier);
      } else {
        const body =
          typeof earlier === 'string' || earlier instanceof Uint8Array
            ? earlier
            : req.readableEnded
              ? new Uint8Array(0) // consumed by something that left no body behind: nothing to open
              : await readBody(req, decision.limit);
        decoded = await exchange.open(body);
      }
    }
  } catch (err) {
    sendProblem(res, exchange.problem(err, 'request'));
    return;
  }
  if (decoded) {
    req.body = decoded.body instanceof Uint8Array ? asBuffer(decoded.body) : decoded.body;
    req._body = true; // body-parser convention: the body is read
    if (decoded.info.mode === 'whole' && decoded.info.contentType) {
      // The handler sees the request as a plaintext client would have sent it.
      req.headers['content-type'] = decoded.info.contentType;
      req.headers['content-length'] = String(decoded.plaintext?.length ?? 0);
    }
  }
  req[INFO] = exchange.info;
  (req as { wireseal?: WiresealRequestInfo }).wireseal = exchange.info;
  if (exchange.plan.kind !== 'none') interceptResponse(res, exchange);
  next();
}

/**
 * Builds middleware factories for Express or `node:http`.
 * @example
 * const ws = wiresealMiddleware({ keys });
 * app.post('/payments', ws.route({ mode: 'fields', policy: ['card.number'] }), (req, res) => res.json(req.body));
 * @throws WiresealError `ERR_POLICY_INVALID` when a route's options are invalid (at start-up)
 */
export function wiresealMiddleware(options: WiresealMiddlewareOptions): WiresealMiddleware {
  const codec = options.codec ?? new HttpCodec(options);
  const make = (route: CompiledRoute): WiresealHandler => (req, res, next) => {
    handle(codec, route, req as Req, res, next).catch(next);
  };
  return {
    codec,
    route(routeOptions) {
      return make(codec.route(routeOptions));
    },
    routes(table) {
      const match = routeMatcher(table, (o: RouteOptions) => make(codec.route(o)));
      return (req, res, next) => {
        const mw = match(req.method ?? 'GET', pathOf((req as Req).originalUrl ?? req.url));
        if (mw) mw(req, res, next);
        else next();
      };
    },
  };
}
