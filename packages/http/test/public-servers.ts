// Real Express and Fastify servers on loopback with the public-key profiles
// (JWE to a server key, HPKE) next to the shared-key profile, and the keys
// of both sides. Used by public-*.test.ts and hpke*.test.ts.
import express from 'express';
import Fastify from 'fastify';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeySet } from '@wireseal/core';
import { PrivateKeySet, PublicKeySet, hpke, publicKeyJose, sharedKeyJose } from '@wireseal/http';
import type { PayloadProfile, RouteOptions } from '@wireseal/http';
import { wiresealMiddleware, wiresealInfo } from '@wireseal/http/express';
import { wiresealFastify } from '@wireseal/http/fastify';

/** The server's key pairs: RSA, P-256, and two X25519 keys (HPKE rotation: 2027 is the new one). */
export const serverKeys = PrivateKeySet.generate({ kid: 'srv-rsa', type: 'RSA', bits: 2048 })
  .concat(PrivateKeySet.generate({ kid: 'srv-ec', type: 'P-256' }))
  .concat(PrivateKeySet.generate({ kid: 'srv-x-2027', type: 'X25519' }))
  .concat(PrivateKeySet.generate({ kid: 'srv-x-2026', type: 'X25519' }));
/** What partners get: the server's public keys. */
export const serverPublic = PublicKeySet.of(serverKeys);

/** Client key pairs (the partners' side) and the server's registry of their public keys. */
export const clientKeys = {
  rsa: PrivateKeySet.generate({ kid: 'acme-rsa', type: 'RSA', bits: 2048 }),
  ec: PrivateKeySet.generate({ kid: 'acme-ec', type: 'P-256' }),
  x: PrivateKeySet.generate({ kid: 'acme-x', type: 'X25519' }),
  beta: PrivateKeySet.generate({ kid: 'beta-x', type: 'X25519' }),
};
export const registry = PublicKeySet.of(clientKeys.rsa.concat(clientKeys.ec).concat(clientKeys.x).concat(clientKeys.beta));

/** The internal services' shared key set. */
export const sharedKeys = KeySet.generate({ kid: 'shared-1' });

export const shared = sharedKeyJose();
export const pub = publicKeyJose({ keys: serverKeys, clients: registry });
export const pubRsaOnly = publicKeyJose({ keys: serverKeys, clients: registry, algorithms: ['RSA-OAEP-256'] });
export const hp = hpke({ keys: serverKeys, clients: registry });
export const profiles: PayloadProfile[] = [shared, pub, pubRsaOnly, hp];

export const PUBLIC_ROUTES: Record<string, RouteOptions & { method: 'GET' | 'POST'; path: string }> = {
  partner: { method: 'POST', path: '/partner', mode: 'whole', profiles: [pub, hp] },
  partnerOptional: { method: 'POST', path: '/partner-optional', mode: 'whole', encryption: 'optional', profiles: [pub, hp] },
  partnerReport: { method: 'GET', path: '/partner-report', mode: 'whole', profiles: [hp, pub] },
  partnerSmall: { method: 'POST', path: '/partner-small', mode: 'whole', maxBodyBytes: 2048, profiles: [pub, hp] },
  partnerCtx: { method: 'POST', path: '/partner-ctx', mode: 'whole', context: { route: 'partner-ctx' }, responseContext: { route: 'partner-ctx', dir: 'response' }, profiles: [pub, hp] },
  rsaOnly: { method: 'POST', path: '/rsa-only', mode: 'whole', profiles: [pubRsaOnly] },
  internal: { method: 'POST', path: '/internal', mode: 'whole' },
  mixed: { method: 'POST', path: '/mixed', mode: 'whole', profiles: [shared, pub] },
};

export interface PublicServer {
  name: 'express' | 'fastify';
  url: string;
  calls: Map<string, number>;
  failures: Array<{ code: string; status: number; phase: string }>;
  close(): Promise<void>;
}

function answer(path: string, body: unknown, contentType: string | undefined, info: { sealed?: boolean; profileName?: string } | null | undefined): unknown {
  const got = body instanceof Uint8Array ? { bytes: Buffer.from(body).toString('base64') } : body;
  return { handledBy: path, got: got ?? null, receivedType: contentType ?? null, sealed: info?.sealed ?? null, profile: info?.profileName ?? null };
}

export async function startPublicExpress(): Promise<PublicServer> {
  const calls = new Map<string, number>();
  const failures: PublicServer['failures'] = [];
  const ws = wiresealMiddleware({ keys: sharedKeys, profiles, onError: (_e, i) => failures.push({ code: i.code, status: i.status, phase: i.phase }) });
  const app = express();
  for (const r of Object.values(PUBLIC_ROUTES)) {
    const { method, path, ...options } = r;
    const handler = (req: express.Request, res: express.Response): void => {
      calls.set(path, (calls.get(path) ?? 0) + 1);
      res.json(answer(path, req.body, req.headers['content-type'], wiresealInfo(req)));
    };
    if (method === 'GET') app.get(path, ws.route(options), handler);
    else app.post(path, ws.route(options), express.json(), express.text(), handler);
  }
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name: 'express',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    failures,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function startPublicFastify(): Promise<PublicServer> {
  const calls = new Map<string, number>();
  const failures: PublicServer['failures'] = [];
  const app = Fastify({ logger: false });
  await app.register(wiresealFastify, { keys: sharedKeys, profiles, onError: (_e, i) => failures.push({ code: i.code, status: i.status, phase: i.phase }) });
  for (const r of Object.values(PUBLIC_ROUTES)) {
    const { method, path, ...options } = r;
    app.route({
      method,
      url: path,
      config: { wireseal: options },
      handler: async (request) => {
        calls.set(path, (calls.get(path) ?? 0) + 1);
        return answer(path, request.body, request.headers['content-type'], request.wireseal);
      },
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    name: 'fastify',
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    calls,
    failures,
    close: () => app.close(),
  };
}

export const SERVERS = [
  ['express', startPublicExpress],
  ['fastify', startPublicFastify],
] as const;
