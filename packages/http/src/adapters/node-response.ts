/**
 * Buffers a Node `ServerResponse` so its body can be sealed before anything
 * is sent. `writeHead`, `write`, `flushHeaders` and `end` are intercepted
 * (so it works under Express's `res.json`/`res.send` and plain `node:http`
 * handlers alike); on `end` the body is sealed and sent with a new
 * `Content-Type` and `Content-Length`. If sealing fails, a problem response
 * goes out instead: plaintext is never sent on a sealed route.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Exchange } from '../codec/exchange.ts';

type Callback = (err?: Error | null) => void;
type Chunk = Uint8Array | string;

function toBytes(chunk: Chunk, encoding?: BufferEncoding): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : chunk;
}

function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (headers === undefined || headers === null) return;
  if (Array.isArray(headers)) {
    // Either [[name, value], ...] or a flat [name, value, name, value, ...].
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const [name, value] of headers as Array<[string, string]>) res.setHeader(name, value);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(String(headers[i]), headers[i + 1] as string);
    }
    return;
  }
  for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
    if (value !== undefined) res.setHeader(name, value);
  }
}

/**
 * Intercepts `res` until its `end`; then seals the buffered body with the
 * exchange (or answers its `problem(err, 'response')` when sealing throws:
 * then the body is dropped and the problem goes out instead). This is where
 * every body a handler writes (`send`, `json`, `end`, `write`, piped streams)
 * is held back.
 * @param passThrough - when it returns true, calls go straight to `res` (the
 * Fastify adapter: its own send path already sealed the body in onSend)
 */
export function interceptResponse(res: ServerResponse, exchange: Pick<Exchange, 'seal' | 'problem'>, passThrough?: () => boolean): void {
  const orig = { writeHead: res.writeHead, write: res.write, end: res.end, flushHeaders: res.flushHeaders };
  const chunks: Uint8Array[] = [];
  let ended = false;
  let flushing = false;
  const direct = (): boolean => flushing || (passThrough !== undefined && passThrough());

  // After the sealed body is handed on, every method passes straight through
  // (the methods are not restored: wrappers installed after this one stay intact).
  res.writeHead = function writeHead(this: ServerResponse, status: number, reason?: unknown, headers?: unknown): ServerResponse {
    if (direct()) return (orig.writeHead as (...a: unknown[]) => ServerResponse).apply(this, [status, reason, headers].filter((a) => a !== undefined));
    this.statusCode = status;
    if (typeof reason === 'string') this.statusMessage = reason;
    else headers = reason;
    applyHeaders(this, headers);
    return this;
  } as ServerResponse['writeHead'];

  res.flushHeaders = function flushHeaders(this: ServerResponse): void {
    // Deferred until the body is sealed: the headers change then.
    if (direct()) orig.flushHeaders.call(this);
  };

  res.write = function write(this: ServerResponse, chunk: Chunk, encoding?: unknown, cb?: unknown): boolean {
    if (direct()) return (orig.write as (...a: unknown[]) => boolean).apply(this, [chunk, encoding, cb].filter((a) => a !== undefined));
    const callback = (typeof encoding === 'function' ? encoding : cb) as Callback | undefined;
    if (chunk !== undefined && chunk !== null) chunks.push(toBytes(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined));
    if (callback) queueMicrotask(() => callback());
    return true;
  } as ServerResponse['write'];

  res.end = function end(this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown): ServerResponse {
    if (direct()) return (orig.end as (...a: unknown[]) => ServerResponse).apply(this, [chunk, encoding, cb].filter((a) => a !== undefined));
    let callback: Callback | undefined;
    if (typeof chunk === 'function') {
      callback = chunk as Callback;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      callback = encoding as Callback;
      encoding = undefined;
    } else {
      callback = cb as Callback | undefined;
    }
    if (ended) return this;
    ended = true;
    if (chunk !== undefined && chunk !== null) chunks.push(toBytes(chunk as Chunk, encoding as BufferEncoding | undefined));
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const send = (payload: Uint8Array | string): void => {
      flushing = true;
      (orig.end as (chunk: unknown, cb?: Callback) => ServerResponse).call(res, payload, callback);
    };
    if (this.req?.method === 'HEAD') {
      send(body);
      return this;
    }
    const ct = this.getHeader('content-type');
    exchange.seal(body, ct === undefined ? undefined : String(ct), this.statusCode).then(
      (sealed) => {
        if (sealed) {
          res.setHeader('content-type', sealed.contentType);
          res.setHeader('content-length', typeof sealed.body === 'string' ? Buffer.byteLength(sealed.body) : sealed.body.length);
          // A validator computed over the plaintext would be an oracle for it.
          res.removeHeader('etag');
          res.removeHeader('content-md5');
          for (const [name, value] of Object.entries(sealed.headers ?? {})) res.setHeader(name, value);
        }
        send(sealed ? sealed.body : body);
      },
      (err: unknown) => {
        const problem = exchange.problem(err, 'response');
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        res.statusCode = problem.status;
        for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
        res.setHeader('content-length', Buffer.byteLength(problem.body));
        send(problem.body);
      },
    );
    return this;
  } as ServerResponse['end'];
}
