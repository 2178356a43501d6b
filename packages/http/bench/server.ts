// The benchmark server: one Fastify instance, the same handler on three
// routes (plaintext, fields mode, whole-payload mode). run.ts starts it as a
// child process (or imports it for the in-process variant) and asks it for
// its CPU time over IPC. Given a Redis URL, a second Fastify instance in the
// same process serves the same whole-payload route with a RedisReplayStore
// (the first keeps its MemoryReplayStore), so the two stores are compared on
// one server process.
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { KeySet } from '@wireseal/core';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// WIRESEAL_BENCH_HTTP=<directory of another build of this package's dist>: serve with
// that build instead (before/after comparisons: copy dist away, change, rebuild).
const other = process.env.WIRESEAL_BENCH_HTTP;
const load = async <T>(entry: string, name: string): Promise<T> =>
  (await (other ? import(pathToFileURL(resolve(other, `${entry}.js`)).href) : import(name))) as T;
const { MemoryReplayStore } = await load<typeof import('@wireseal/http')>('index', '@wireseal/http');
const { wiresealFastify } = await load<typeof import('@wireseal/http/fastify')>('fastify', '@wireseal/http/fastify');
const { RedisReplayStore } = await load<typeof import('@wireseal/http/redis')>('redis', '@wireseal/http/redis');

export const POLICY = ['card.number', 'card.cvv', 'customer.ssn'];

/**
 * The replay cache is sized for the benchmark's rate (README: entries >=
 * peak req/s x (maxAge + skew)); the default 100,000 covers ~660 req/s.
 */
export const REPLAY_ENTRIES = 2_000_000;

/** The running bench server(s). */
export interface BenchServer {
  port: number;
  /** The whole-payload route with the Redis replay store, when a Redis URL was given. */
  redisPort?: number;
  close(): Promise<void>;
}

// The same handler for every mode: echo the payment with a status.
const handler = async (request: { body: unknown }) => {
  const p = request.body as { id: string; amount: number; currency: string; card: unknown; customer: unknown };
  return { id: p.id, status: 'accepted', amount: p.amount, currency: p.currency, card: p.card, customer: p.customer };
};

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

export async function startBenchServer(jwks: string, redisUrl?: string): Promise<BenchServer> {
  const keys = KeySet.fromJwks(jwks);
  const app = Fastify({ logger: false });
  await app.register(wiresealFastify, { keys, replay: new MemoryReplayStore({ maxEntries: REPLAY_ENTRIES }) });
  app.post('/plain', handler);
  app.post('/fields', { config: { wireseal: { mode: 'fields', policy: POLICY } } }, handler);
  app.post('/whole', { config: { wireseal: { mode: 'whole' } } }, handler);
  const port = await listen(app);
  if (redisUrl === undefined) return { port, close: () => app.close() };
  const replay = new RedisReplayStore({ url: redisUrl, keyPrefix: 'wireseal-bench:replay:' });
  await replay.ready();
  const redisApp = Fastify({ logger: false });
  await redisApp.register(wiresealFastify, { keys, replay });
  redisApp.post('/whole', { config: { wireseal: { mode: 'whole' } } }, handler);
  const redisPort = await listen(redisApp);
  return {
    port,
    redisPort,
    close: async () => {
      await Promise.all([app.close(), redisApp.close()]);
      await replay.close();
    },
  };
}

if (process.argv[2] === '--child') {
  const { port, redisPort } = await startBenchServer(process.env.WIRESEAL_BENCH_JWKS ?? '', process.env.WIRESEAL_BENCH_REDIS_URL || undefined);
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ cpu: u.user + u.system, user: u.user });
    }
  });
  process.send?.({ port, redisPort });
  process.on('disconnect', () => process.exit(0));
}
