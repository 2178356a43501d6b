// Benchmark: plaintext vs fields mode vs whole-payload mode on Fastify, the
// same handler, load from autocannon. Targets (issue #5): encrypted req/s at
// least 85% of plaintext, p99 added at most 1 ms.
//
// The server runs in a child process by default, so the load generator (which
// also seals a fresh whole-payload token per request) does not share the
// server's event loop. WIRESEAL_BENCH_INPROC=1 runs both in one process for
// comparison. WIRESEAL_BENCH_SECONDS sets the duration per mode (default 10).
import autocannon from 'autocannon';
import type { Request as LoadRequest } from 'autocannon';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KeySet, FieldPolicy, encryptFields, seal } from '@wireseal/core';
import { POLICY, startBenchServer } from './server.ts';

const seconds = Number(process.env.WIRESEAL_BENCH_SECONDS ?? 10);
const inProcess = process.env.WIRESEAL_BENCH_INPROC === '1';
const connections = Number(process.env.WIRESEAL_BENCH_CONNECTIONS ?? 10);
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
const fieldsBody = JSON.stringify(encryptFields(keys, payment, FieldPolicy.parse(POLICY)));

async function startServer(): Promise<{ port: number; stop: () => Promise<void> }> {
  if (inProcess) {
    const { app, port } = await startBenchServer(jwks);
    return { port, stop: () => app.close() };
  }
  const child = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), ['--child'], {
    env: { ...process.env, WIRESEAL_BENCH_JWKS: jwks },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return {
    port,
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
  non2xx: number;
  errors: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function load(port: number, mode: string, duration: number): Promise<Row> {
  const url = `http://127.0.0.1:${port}`;
  const requests: LoadRequest[] =
    mode === 'whole'
      ? // A fresh token per request: the server rejects replays.
        [{ method: 'POST', path: '/whole', headers: { 'content-type': 'application/jose', accept: 'application/jose' }, setupRequest: (r) => ({ ...r, body: seal(keys, plainBody, { cty: 'application/json', iat: true }) }) }]
      : [{ method: 'POST', path: `/${mode === 'plaintext' ? 'plain' : 'fields'}`, headers: { 'content-type': 'application/json', ...(mode === 'fields' ? { wireseal: '1' } : {}) }, body: mode === 'plaintext' ? plainBody : fieldsBody }];
  const latencies: number[] = [];
  const instance = autocannon({ url, connections, pipelining: 1, duration, requests });
  instance.on('response', (_c, status, _b, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  const sorted = Float64Array.from(latencies).sort();
  return {
    mode,
    rps: result.requests.total / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const server = await startServer();
try {
  const modes = ['plaintext', 'fields', 'whole'];
  for (const mode of modes) await load(server.port, mode, 2); // warm-up (JIT, connections)
  const rows: Row[] = [];
  for (const mode of modes) rows.push(await load(server.port, mode, seconds));
  const base = rows[0]!;
  const fmt = (n: number, d = 2) => n.toFixed(d);
  const lines = [
    `@wireseal/http on Fastify, ${seconds}s per mode, ${connections} connections, server ${inProcess ? 'in the same process' : 'in a child process'}, Node ${process.version}`,
    '',
    '| mode | req/s | p50 ms | p99 ms | req/s vs plaintext | p99 added ms | non-2xx | errors | target |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  let allMet = true;
  for (const r of rows) {
    const ratio = r.rps / base.rps;
    const added = r.p99 - base.p99;
    const met = r === base ? '' : ratio >= 0.85 && added <= 1 && r.non2xx === 0 && r.errors === 0 ? 'met' : 'MISSED';
    if (met === 'MISSED') allMet = false;
    lines.push(`| ${r.mode} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r === base ? '1.00' : fmt(ratio)} | ${r === base ? '' : fmt(added)} | ${r.non2xx} | ${r.errors} | ${met} |`);
  }
  lines.push('', `targets (>= 0.85x plaintext req/s, <= +1 ms p99): ${allMet ? 'met' : 'MISSED'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await server.stop();
}
