// Benchmark: plaintext vs fields mode vs whole-payload mode on Fastify, the
// same handler, load from autocannon. Targets (issue #5): encrypted req/s at
// least 85% of plaintext, p99 added at most 1 ms.
//
// The server runs in a child process by default, so the load generator does
// not share the server's event loop; WIRESEAL_BENCH_INPROC=1 runs both in one
// process for comparison. Whole-payload tokens are sealed before the run (a
// fresh one per request: the server rejects replays), so the load generator
// does no crypto while measuring. Besides req/s and latency the table shows
// the server's CPU time per request, which the other tenants of a shared
// machine disturb less than throughput.
//
// Two phases per mode: saturation (10 connections: req/s and server CPU per
// request) and one connection in a closed loop (latency without queueing: at
// saturation p99 is mostly connections x service time, and autocannon's rate
// limit sends each second's quota in a burst, so it cannot give an unqueued
// latency either).
//
// WIRESEAL_BENCH_SECONDS: duration per mode and phase (default 10).
// WIRESEAL_BENCH_CONNECTIONS: concurrent connections (default 10).
// WIRESEAL_BENCH_LATENCY_CONNECTIONS: connections in the latency phase (default 1).
import autocannon from 'autocannon';
import type { Request as LoadRequest } from 'autocannon';
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KeySet, FieldPolicy, encryptFields, seal } from '@wireseal/core';
import { DIRECTION_CONTEXT_KEY } from '@wireseal/http';
import { POLICY, startBenchServer } from './server.ts';

const seconds = Number(process.env.WIRESEAL_BENCH_SECONDS ?? 10);
const inProcess = process.env.WIRESEAL_BENCH_INPROC === '1';
const connections = Number(process.env.WIRESEAL_BENCH_CONNECTIONS ?? 10);
const latencyConnections = Number(process.env.WIRESEAL_BENCH_LATENCY_CONNECTIONS ?? 1);
const keys = KeySet.generate({ kid: 'bench' });
const jwks = JSON.stringify(keys.toJwks());

const payment = {
  id: 'pay_01J9Z3K6X8',
  amount: 12999,
  currency: 'EUR',
  card: { number: '4111111111111111', cvv: '737', expiry: '03/30', holder: 'Ann Lee' },
  customer: { ssn: '078-05-1120', name: 'Ann Lee', email: 'ann@example.com' },
  items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }],
};
const plainBody = JSON.stringify(payment);
// Requests are bound to their direction, as the fetch client binds them (bindDirection).
const request = Object.freeze({ [DIRECTION_CONTEXT_KEY]: 'request' });
const fieldsBody = JSON.stringify(encryptFields(keys, payment, FieldPolicy.parse(POLICY), { context: request }));
const freshToken = (): string => seal(keys, plainBody, { cty: 'application/json', iat: true, context: request });

interface Server {
  port: number;
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(): Promise<Server> {
  if (inProcess) {
    const { app, port } = await startBenchServer(jwks);
    return { port, cpu: async () => { const u = process.cpuUsage(); return u.user + u.system; }, stop: () => app.close() };
  }
  const child: ChildProcess = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), ['--child'], {
    env: { ...process.env, WIRESEAL_BENCH_JWKS: jwks },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return {
    port,
    cpu: () =>
      new Promise<number>((resolve) => {
        child.once('message', (m) => resolve((m as { cpu: number }).cpu));
        child.send('cpu');
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

interface Row {
  mode: string;
  rps: number;
  p50: number;
  p99: number;
  cpuPerReq: number;
  non2xx: number;
  errors: number;
}

interface Measured {
  mode: string;
  saturated: Row;
  fixedRate: Row;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

interface Pool {
  tokens: string[];
  next: number;
}

async function load(server: Server, mode: string, duration: number, pool: Pool = { tokens: [], next: 0 }, conns = connections): Promise<Row> {
  const requests: LoadRequest[] =
    mode === 'whole'
      ? [
          {
            method: 'POST',
            path: '/whole',
            headers: { 'content-type': 'application/jose', accept: 'application/jose' },
            // Pre-sealed tokens first; seal on the fly only if they run out.
            setupRequest: (r) => ({ ...r, body: pool.tokens[pool.next++] ?? freshToken() }),
          },
        ]
      : [
          {
            method: 'POST',
            path: mode === 'plaintext' ? '/plain' : '/fields',
            headers: { 'content-type': 'application/json', ...(mode === 'fields' ? { wireseal: '1' } : {}) },
            body: mode === 'plaintext' ? plainBody : fieldsBody,
          },
        ];
  const latencies: number[] = [];
  const cpuBefore = await server.cpu();
  const instance = autocannon({ url: `http://127.0.0.1:${server.port}`, connections: conns, pipelining: 1, duration, requests });
  instance.on('response', (_c, status, _b, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  const cpu = (await server.cpu()) - cpuBefore;
  const sorted = Float64Array.from(latencies).sort();
  return {
    mode,
    rps: result.requests.total / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuPerReq: cpu / Math.max(1, result.requests.total),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const server = await startServer();
try {
  // Warm-up (JIT, connections); the plaintext warm-up also sizes the token pool.
  const warm = await load(server, 'plaintext', 2);
  await load(server, 'fields', 2);
  await load(server, 'whole', 2);
  const pool: Pool = { tokens: Array.from({ length: Math.ceil(warm.rps * seconds * 1.5) + 1000 }, freshToken), next: 0 };

  const results: Measured[] = [];
  for (const mode of ['plaintext', 'fields', 'whole']) {
    const saturated = await load(server, mode, seconds, pool);
    const fixedRate = await load(server, mode, seconds, pool, latencyConnections);
    results.push({ mode, saturated, fixedRate });
  }
  const base = results[0]!;
  const fmt = (n: number, d = 2): string => n.toFixed(d);
  const lines = [
    `@wireseal/http on Fastify: ${seconds}s per mode and phase, ${connections} connections, server ${inProcess ? 'in the same process as autocannon' : 'in a child process'}, Node ${process.version}`,
    '',
    `| mode | req/s | vs plaintext | server CPU µs/req | CPU added | p50 ms, ${latencyConnections} conn | p99 ms, ${latencyConnections} conn | p99 added | p99 ms saturated | errors | target |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  let allMet = true;
  for (const m of results) {
    const isBase = m === base;
    const ratio = m.saturated.rps / base.saturated.rps;
    const added = m.fixedRate.p99 - base.fixedRate.p99;
    const errors = m.saturated.non2xx + m.saturated.errors + m.fixedRate.non2xx + m.fixedRate.errors;
    const met = isBase ? '' : ratio >= 0.85 && added <= 1 && errors === 0 ? 'met' : 'MISSED';
    if (met === 'MISSED') allMet = false;
    lines.push(
      `| ${m.mode} | ${fmt(m.saturated.rps, 0)} | ${isBase ? '1.00' : fmt(ratio)} | ${fmt(m.saturated.cpuPerReq, 1)} | ${isBase ? '' : `+${fmt(m.saturated.cpuPerReq - base.saturated.cpuPerReq, 1)}`} | ${fmt(m.fixedRate.p50)} | ${fmt(m.fixedRate.p99)} | ${isBase ? '' : `${added >= 0 ? '+' : ''}${fmt(added)}`} | ${fmt(m.saturated.p99)} | ${errors} | ${met} |`,
    );
  }
  lines.push('', `targets (req/s >= 0.85x plaintext at saturation, p99 <= +1 ms with ${latencyConnections} connection(s), no errors): ${allMet ? 'met' : 'MISSED'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await server.stop();
}
await (await import('./profiles.ts')).benchProfiles(); // public-key profiles vs jose / @hpke/core (issue #6)
