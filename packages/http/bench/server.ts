// The benchmark server: one Fastify instance, the same handler on three
// routes (plaintext, fields mode, whole-payload mode). run.ts starts it as a
// child process (or imports it for the in-process variant) and asks it for
// its CPU time over IPC.
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { KeySet } from '@wireseal/core';
import { MemoryReplayStore } from '@wireseal/http';
import { wiresealFastify } from '@wireseal/http/fastify';

export const POLICY = ['card.number', 'card.cvv', 'customer.ssn'];

/**
 * The replay cache is sized for the benchmark's rate (README: entries >=
 * peak req/s x (maxAge + skew)); the default 100,000 covers ~660 req/s.
 */
export const REPLAY_ENTRIES = 2_000_000;

export async function startBenchServer(jwks: string): Promise<{ app: FastifyInstance; port: number }> {
  const keys = KeySet.fromJwks(jwks);
  const app = Fastify({ logger: false });
  await app.register(wiresealFastify, { keys, replay: new MemoryReplayStore({ maxEntries: REPLAY_ENTRIES }) });
  // The same handler for every mode: echo the payment with a status.
  const handler = async (request: { body: unknown }) => {
    const p = request.body as { id: string; amount: number; currency: string; card: unknown; customer: unknown };
    return { id: p.id, status: 'accepted', amount: p.amount, currency: p.currency, card: p.card, customer: p.customer };
  };
  app.post('/plain', handler);
  app.post('/fields', { config: { wireseal: { mode: 'fields', policy: POLICY } } }, handler);
  app.post('/whole', { config: { wireseal: { mode: 'whole' } } }, handler);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as AddressInfo).port };
}

if (process.argv[2] === '--child') {
  const { port } = await startBenchServer(process.env.WIRESEAL_BENCH_JWKS ?? '');
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ cpu: u.user + u.system });
    }
  });
  process.send?.({ port });
  process.on('disconnect', () => process.exit(0));
}
