// Benchmark: `wireseal reencrypt` (the built executable, --jobs 1 and the
// default) against a named peer: the straightforward script an operator would
// write with @wireseal/core (readline, decryptFields + encryptFields, stream
// writes; no checkpoints, no rejects, no byte preservation). Same input, same
// machine, alternating runs; prints medians and ratios. Not a test.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FieldPolicy, KeySet, encryptFields } from '@wireseal/core';

const N = Number(process.env.WIRESEAL_BENCH_LINES ?? 20_000);
const ROUNDS = Number(process.env.WIRESEAL_BENCH_ROUNDS ?? 3);
const cli = fileURLToPath(import.meta.resolve('wireseal/package.json').replace('package.json', 'dist/cli.js'));
const dir = mkdtempSync(join(tmpdir(), 'wireseal-bench-'));
const p = (n: string): string => join(dir, n);

const old = KeySet.generate({ kid: 'old' });
const rotated = old.addKey({ kid: 'new' }).promote('new');
const policy = FieldPolicy.parse({ fields: ['card.number', 'customer.ssn', 'accounts[*].iban'] });
const ctx = Object.freeze({ tenant: 'acme' });
const lines: string[] = [];
for (let i = 0; i < N; i++) {
  const doc = { id: i, card: { number: `4111${String(i).padStart(12, '0')}`, brand: 'visa' }, customer: { ssn: '078-05-1120', name: `c${i}` }, accounts: [{ iban: `DE${i}` }], amount: i / 4 };
  lines.push(JSON.stringify(encryptFields(old, doc, policy, { context: ctx })));
}
writeFileSync(p('in.jsonl'), `${lines.join('\n')}\n`);
writeFileSync(p('keys.json'), JSON.stringify(rotated.toJwks()));
writeFileSync(p('policy.json'), JSON.stringify(policy.toJSON()));

const coreUrl = import.meta.resolve('@wireseal/core');
const peer = `
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { KeySet, FieldPolicy, decryptFields, encryptFields } from ${JSON.stringify(coreUrl)};
const keys = KeySet.fromJwks(readFileSync(${JSON.stringify(p('keys.json'))}, 'utf8'));
const policy = FieldPolicy.parse(readFileSync(${JSON.stringify(p('policy.json'))}, 'utf8'));
const context = Object.freeze({ tenant: 'acme' });
const out = createWriteStream(${JSON.stringify(p('peer.jsonl'))});
for await (const line of createInterface({ input: createReadStream(${JSON.stringify(p('in.jsonl'))}), crlfDelay: Infinity })) {
  if (!line) continue;
  const { doc } = decryptFields(keys, JSON.parse(line), policy, { mode: 'migrate', context });
  if (!out.write(JSON.stringify(encryptFields(keys, doc, policy, { context })) + '\\n')) await new Promise((r) => out.once('drain', r));
}
await new Promise((r) => out.end(r));
`;
writeFileSync(p('peer.mjs'), peer);

function time(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr.toString()}`);
  return performance.now() - t;
}
const base = [cli, 'reencrypt', '--policy', p('policy.json'), '--keyset', p('keys.json'), '--context', 'tenant=acme', '--in', p('in.jsonl'), '--progress', 'none', '--force'];
const runs: Record<string, number[]> = { peer: [], 'cli --jobs 1': [], 'cli (default jobs)': [] };
for (let r = 0; r < ROUNDS; r++) {
  runs.peer!.push(time([p('peer.mjs')]));
  runs['cli --jobs 1']!.push(time([...base, '--out', p('a.jsonl'), '--jobs', '1']));
  runs['cli (default jobs)']!.push(time([...base, '--out', p('b.jsonl')]));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const peerMs = median(runs.peer!);
console.log(`reencrypt ${N} JSONL records, 3 sealed fields each (${ROUNDS} rounds, medians, process start included)`);
for (const [name, xs] of Object.entries(runs)) {
  const ms = median(xs);
  console.log(`  ${name.padEnd(20)} ${ms.toFixed(0).padStart(6)} ms  ${Math.round((N / ms) * 1000).toLocaleString('en-US').padStart(7)} rec/s  ${(peerMs / ms).toFixed(2)}x peer`);
}
rmSync(dir, { recursive: true, force: true });
