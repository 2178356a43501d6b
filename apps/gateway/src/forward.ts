/**
 * Forwarding to upstreams with node:http / node:https: bytes in, bytes out,
 * no decompression or re-encoding on the way, so a service with payload
 * encryption off passes through exactly what the client and upstream sent.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) a proxy never forwards. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Copies headers without hop-by-hop ones (and those named in `connection`) and without `drop`. */
export function forwardableHeaders(headers: IncomingHttpHeaders, drop: readonly string[] = []): OutgoingHttpHeaders {
  const named = new Set(String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean));
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || drop.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };

/** The upstream URL for a request path: upstream base path + the path after the prefix + the query. */
export function upstreamUrl(upstream: URL, routePrefix: string, pathAndQuery: string): URL {
  const q = pathAndQuery.indexOf('?');
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const rest = path.slice(routePrefix.length);
  const url = new URL(upstream);
  url.pathname = `${upstream.pathname.replace(/\/$/, '')}${rest}` || '/';
  url.search = q < 0 ? '' : pathAndQuery.slice(q);
  return url;
}

/** Sends a request upstream; `body` is bytes or a stream piped as it comes. Resolves with the response head. */
export function sendUpstream(url: URL, method: string, headers: OutgoingHttpHeaders, body: Uint8Array | IncomingMessage | undefined, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method, headers, agent: url.protocol === 'https:' ? agents.https : agents.http, timeout: timeoutMs });
    req.once('response', resolve);
    req.once('timeout', () => req.destroy(new Error('upstream timed out')));
    req.once('error', reject);
    if (body === undefined) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else {
      body.pipe(req);
      body.once('error', (err) => req.destroy(err));
    }
  });
}

/** Reads a stream into one buffer, failing once it exceeds `limit` bytes. */
export async function readAll(stream: NodeJS.ReadableStream, limit: number, onLimit: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > limit) throw onLimit();
    chunks.push(b);
  }
  return Buffer.concat(chunks, size);
}
