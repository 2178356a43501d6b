/**
 * A wire tap: a plain HTTP proxy between checkout and payments-api that keeps
 * a copy of every request body as it crossed the wire (and the first
 * response), so the demo can show and scan exactly what was sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as it crossed the wire. */
export interface Captured {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A running tap. */
export interface Wiretap {
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: Captured[];
  /** The first response (status, headers, body). */
  firstResponse(): { status: number; headers: http.IncomingHttpHeaders; body: Buffer } | undefined;
  stop(): Promise<void>;
}

/** Starts a tap on a free loopback port that forwards everything to `target`. */
export async function startWiretap(target: string): Promise<Wiretap> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const requests: Captured[] = [];
  let first: { status: number; headers: http.IncomingHttpHeaders; body: Buffer } | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body });
      const { host: _host, connection: _c, ...headers } = req.headers;
      const out = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent }, (up) => {
        const parts: Buffer[] = [];
        up.on('data', (c: Buffer) => parts.push(c));
        up.on('end', () => {
          const answer = Buffer.concat(parts);
          first ??= { status: up.statusCode ?? 0, headers: up.headers, body: answer };
          const { connection: _uc, 'transfer-encoding': _te, ...back } = up.headers;
          res.writeHead(up.statusCode ?? 502, { ...back, 'content-length': answer.length }).end(answer);
        });
      });
      out.on('error', () => res.writeHead(502).end());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    firstResponse: () => first,
    async stop() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
