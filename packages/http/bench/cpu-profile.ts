// Profiles the bench server (server.ts, child process, `--cpu-prof`) under
// load in one mode, then prints the top self-time functions and a grouped
// breakdown (µs per request). Run after `pnpm build`:
//   node bench/cpu-profile.ts fields|whole|plaintext [seconds] [outdir]
import autocannon from 'autocannon';
import type { Request as LoadRequest } from 'autocannon';
import { fork } from 'node:child_process';
import { readFileSync, readdirSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KeySet } from '@wireseal/core';
import { selfTime } from './cpu-summary.ts';
import type { CpuProfile } from './cpu-summary.ts';
import { fieldsBodyFor, plainBody, wholeToken } from './fixtures.ts';

const mode = process.argv[2] ?? 'fields';
const seconds = Number(process.argv[3] ?? 8);
const dir = process.argv[4] ?? `/tmp/wireseal-prof-${mode}`;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const keys = KeySet.generate({ kid: 'bench' });
const fieldsBody = fieldsBodyFor(keys);
const tokens = mode === 'whole' ? Array.from({ length: 15000 * seconds }, () => wholeToken(keys)) : [];
let next = 0;

const child = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), ['--child'], {
  execArgv: [...process.execArgv, ...(process.env.EXEC_ARGS ? process.env.EXEC_ARGS.split(' ') : ['--cpu-prof', `--cpu-prof-dir=${dir}`])],
  env: { ...process.env, WIRESEAL_BENCH_JWKS: JSON.stringify(keys.toJwks()), WIRESEAL_BENCH_REDIS_URL: '' },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', (m) => resolve(m as { port: number })));
const req: LoadRequest =
  mode === 'whole'
    ? { method: 'POST' as const, path: '/whole', headers: { 'content-type': 'application/jose', accept: 'application/jose' }, setupRequest: (r) => ({ ...r, body: tokens[next++] ?? tokens[0]! }) }
    : { method: 'POST' as const, path: mode === 'plaintext' ? '/plain' : '/fields', headers: { 'content-type': 'application/json', ...(mode === 'fields' ? { wireseal: '1' } : {}) }, body: mode === 'plaintext' ? plainBody : fieldsBody };
const result = await autocannon({ url: `http://127.0.0.1:${port}`, connections: 10, duration: seconds, requests: [req] });
const total = result.requests.total;
await new Promise<void>((resolve) => {
  child.once('exit', () => resolve());
  child.disconnect();
});
process.stdout.write(`${mode}: ${total} requests, non2xx ${result.non2xx}\n`);

if (process.env.EXEC_ARGS) process.exit(0);
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
const { byFunction: byFn } = selfTime(JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as CpuProfile);
const idle = [...byFn].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
const rows = [...byFn].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
const busy = rows.reduce((a, [, v]) => a + v, 0);
process.stdout.write(`busy ${(busy / total).toFixed(1)} µs/req (idle ${(idle / total).toFixed(1)})\n`);
for (const [k, v] of rows.slice(0, Number(process.env.TOP ?? 45))) process.stdout.write(`${(v / total).toFixed(2).padStart(7)}  ${k}\n`);
