// Shared by the gateway's tests: a loopback upstream for the gateway to forward to, and the
// teardown of a test's gateway, upstream and temporary directory. Not a test file itself
// (node --test runs test/**/*.test.ts).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Gateway } from '@wireseal-apps/gateway';

/** A request as a recording upstream saw it. */
export interface Hit { url: string; body: Buffer }

/** An HTTP server on 127.0.0.1 (a free port) with this handler, and its base URL. */
export async function listenUpstream(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** An upstream that pushes each request's URL and body to `hits` and answers 200 {"ok":true}. */
export function recordingUpstream(hits: Hit[]): Promise<{ server: http.Server; url: string }> {
  return listenUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ url: req.url ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
}

/** Stops the gateway, closes the upstream and removes the directory, each only if it was set up. */
export async function tearDown(gateway: Gateway | undefined, upstream: http.Server | undefined, dir: string | undefined): Promise<void> {
  await gateway?.stop();
  if (upstream) await new Promise<void>((r) => upstream.close(() => r()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
