// In-process loop over the bench server's routes with fastify.inject (no
// sockets, no load generator competing for the CPU): CPU µs per request per
// mode. With WIRESEAL_BENCH_BASE=<dir of another build of this package's
// dist> it runs the same routes on both builds in alternating rounds (A/B on a
// noisy machine). Run after `pnpm build`:
//   node bench/inject.ts [modes=plaintext,fields,whole] [requests=20000]
// ROUNDS (default 3); PROFILE=<file>: a CPU profile of one more round of the
// first mode (node:inspector, INTERVAL µs), read it with bench/top.ts.
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { KeySet } from '@wireseal/core';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { fieldsBodyFor, plainBody, wholeToken } from './fixtures.ts';
import { POLICY, REPLAY_ENTRIES } from './server.ts';

const modes = (process.argv[2] ?? 'plaintext,fields,whole').split(',');
const n = Number(process.argv[3] ?? 20000);
const rounds = Number(process.env.ROUNDS ?? 3);
const keys = KeySet.generate({ kid: 'bench' });
const fieldsBody = fieldsBodyFor(keys);

const handler = async (r: { body: unknown }) => {
  const p = r.body as { id: string; amount: number; currency: string; card: unknown; customer: unknown };
  return { id: p.id, status: 'accepted', amount: p.amount, currency: p.currency, card: p.card, customer: p.customer };
};
interface Build { name: string; app: FastifyInstance }
async function build(name: string, dir?: string): Promise<Build> {
  const http = (await (dir ? import(pathToFileURL(resolve(dir, 'index.js')).href) : import('@wireseal/http'))) as typeof import('@wireseal/http');
  const { wiresealFastify } = (await (dir ? import(pathToFileURL(resolve(dir, 'fastify.js')).href) : import('@wireseal/http/fastify'))) as typeof import('@wireseal/http/fastify');
  const app = Fastify({ logger: false });
  await app.register(wiresealFastify, { keys, replay: process.env.NOREPLAY ? false : new http.MemoryReplayStore({ maxEntries: REPLAY_ENTRIES }) });
  app.post('/plain', handler);
  app.post('/fields', { config: { wireseal: { mode: 'fields', policy: POLICY } } }, handler);
  app.post('/whole', { config: { wireseal: { mode: 'whole' } } }, handler);
  await app.ready();
  return { name, app };
}
const builds = [await build('current')];
if (process.env.WIRESEAL_BENCH_BASE) builds.unshift(await build('base', process.env.WIRESEAL_BENCH_BASE));

const tokens = modes.includes('whole') ? Array.from({ length: (n * (rounds + 2) + 5000) * builds.length }, () => wholeToken(keys)) : [];
let next = 0;
const opts = (mode: string) =>
  mode === 'whole'
    ? { method: 'POST' as const, url: '/whole', headers: { 'content-type': 'application/jose', accept: 'application/jose' }, payload: '' }
    : { method: 'POST' as const, url: mode === 'plaintext' ? '/plain' : '/fields', headers: { 'content-type': 'application/json', ...(mode === 'fields' ? { wireseal: '1' } : {}) }, payload: mode === 'plaintext' ? plainBody : fieldsBody };

async function run(app: FastifyInstance, mode: string, count: number): Promise<number> {
  const o = opts(mode);
  const c0 = process.cpuUsage();
  const conc = 10;
  let bad = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    for (let i = 0; i < count / conc; i++) {
      const res = await app.inject(mode === 'whole' ? { ...o, payload: tokens[next++]! } : o);
      if (res.statusCode !== 200) bad++;
    }
  }));
  if (bad) throw new Error(`${mode}: ${bad} failures`);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / count;
}
for (const b of builds) for (const m of modes) await run(b.app, m, Math.min(n, 5000)); // warm-up
const results = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  for (const m of modes) {
    for (const b of builds) results.set(`${b.name} ${m}`, [...(results.get(`${b.name} ${m}`) ?? []), await run(b.app, m, n)]);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
for (const b of builds) {
  const base = results.get(`${b.name} plaintext`);
  for (const m of modes) {
    const v = results.get(`${b.name} ${m}`)!;
    const ratio = base ? `  ratio ${(med(base) / med(v)).toFixed(2)}  added +${(med(v) - med(base)).toFixed(1)}` : '';
    process.stdout.write(`${b.name.padEnd(8)} ${m.padEnd(10)} ${med(v).toFixed(1).padStart(7)} µs/req (${v.map((x) => x.toFixed(1)).join(', ')})${ratio}\n`);
  }
}
// PROFILE=<file>: a CPU profile of one more round of the first mode on the current build.
if (process.env.PROFILE) {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: Number(process.env.INTERVAL ?? 500) });
  await session.post('Profiler.start');
  await run(builds.at(-1)!.app, modes[0]!, n);
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.PROFILE, JSON.stringify(profile));
  session.disconnect();
}
for (const b of builds) await b.app.close();
