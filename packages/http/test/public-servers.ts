// Real Express and Fastify servers on loopback with the public-key profiles
// (JWE to a server key, HPKE) next to the shared-key profile, and the keys
// of both sides. Used by public-*.test.ts and hpke*.test.ts.
import { KeySet } from '@wireseal/core';
import { PrivateKeySet, PublicKeySet, hpke, publicKeyJose, sharedKeyJose } from '@wireseal/http';
import type { PayloadProfile, WiresealRequestInfo } from '@wireseal/http';
import { serveExpress, serveFastify } from './support/servers.ts';
import type { Running, TestRoutes } from './support/servers.ts';

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

export const PUBLIC_ROUTES: TestRoutes = {
  partner: { method: 'POST', path: '/partner', mode: 'whole', profiles: [pub, hp] },
  partnerOptional: { method: 'POST', path: '/partner-optional', mode: 'whole', encryption: 'optional', profiles: [pub, hp] },
  partnerReport: { method: 'GET', path: '/partner-report', mode: 'whole', profiles: [hp, pub] },
  partnerSmall: { method: 'POST', path: '/partner-small', mode: 'whole', maxBodyBytes: 2048, profiles: [pub, hp] },
  partnerCtx: { method: 'POST', path: '/partner-ctx', mode: 'whole', context: { route: 'partner-ctx' }, responseContext: { route: 'partner-ctx', dir: 'response' }, profiles: [pub, hp] },
  rsaOnly: { method: 'POST', path: '/rsa-only', mode: 'whole', profiles: [pubRsaOnly] },
  internal: { method: 'POST', path: '/internal', mode: 'whole' },
  mixed: { method: 'POST', path: '/mixed', mode: 'whole', profiles: [shared, pub] },
};

/** A server with the public-key routes (the same shape as the shared-key test servers). */
export type PublicServer = Running;

function answer(path: string, body: unknown, contentType: string | undefined, info: WiresealRequestInfo | undefined): unknown {
  const got = body instanceof Uint8Array ? { bytes: Buffer.from(body).toString('base64') } : body;
  return { handledBy: path, got: got ?? null, receivedType: contentType ?? null, sealed: info?.sealed ?? null, profile: info?.profileName ?? null };
}

const setup = { routes: PUBLIC_ROUTES, adapter: { keys: sharedKeys, profiles }, answer };
export const startPublicExpress = (): Promise<PublicServer> => serveExpress(setup);
export const startPublicFastify = (): Promise<PublicServer> => serveFastify(setup);

export const SERVERS = [
  ['express', startPublicExpress],
  ['fastify', startPublicFastify],
] as const;
