// Summarises a .cpuprofile: top self-time functions, in µs per request.
//   node bench/top.ts <dir-or-file> <requests> [top=40]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { selfTime } from './cpu-summary.ts';
import type { CpuProfile, ProfileNode as Node } from './cpu-summary.ts';
const [path = '.', reqs = '1', top = '40'] = process.argv.slice(2);
const file = statSync(path).isDirectory() ? `${path}/${readdirSync(path).filter((f) => f.endsWith('.cpuprofile')).sort().at(-1)}` : path;
const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const { byNode: self, byFunction: byFn } = selfTime(prof);
const total = Number(reqs);
const rows = [...byFn].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
process.stdout.write(`busy ${(rows.reduce((a, [, v]) => a + v, 0) / total).toFixed(1)} µs/req\n`);
for (const [k, v] of rows.slice(0, Number(top))) process.stdout.write(`${(v / total).toFixed(2).padStart(7)}  ${k}\n`);

// Groups (self time) and inclusive time of the named functions (INCL=regex).
const nodes = new Map<number, Node>(prof.nodes.map((x) => [x.id, x]));
const groupOf = (f: Node['callFrame']): string => {
  const u = f.url;
  const fn = f.functionName;
  if (fn === '(garbage collector)') return 'GC';
  if (/node:internal\/crypto|^$/.test(u) && /Cipher|update|final|setAAD|getAuthTag|createSecretKey|KeyObject|getKeyObjectSlots|randomFill|randomBytes|secureBuffer|createCipher/.test(fn)) return 'node:crypto (AES, keys)';
  if (u.includes('node:internal/crypto')) return 'node:crypto (AES, keys)';
  if (u.includes('packages/core')) return 'core (field walk, tokens, metrics)';
  if (u.includes('packages/http')) return 'http (codec, adapters)';
  if (u.includes('secure-json-parse') || fn === 'parse' || fn === 'stringify') return 'JSON parse/stringify';
  if (u.includes('light-my-request')) return 'inject (light-my-request)';
  if (u.includes('fastify') || u.includes('find-my-way') || u.includes('avvio')) return 'fastify';
  if (u.includes('node:inspector')) return 'profiler';
  if (/base64|utf8|latin1|ascii|hex/i.test(fn) || u.includes('node:buffer') || fn === 'createUnsafeBuffer') return 'Buffer/string conversions';
  if (u.startsWith('node:')) return 'node (http, streams, timers)';
  return 'other native';
};
const groups = new Map<string, number>();
for (const x of prof.nodes) {
  const t = self.get(x.id) ?? 0;
  if (!t || x.callFrame.functionName === '(idle)') continue;
  const g = groupOf(x.callFrame);
  groups.set(g, (groups.get(g) ?? 0) + t);
}
process.stdout.write('\ngroups (self time, µs/req):\n');
for (const [g, v] of [...groups].sort((a, b) => b[1] - a[1])) process.stdout.write(`${(v / total).toFixed(1).padStart(7)}  ${g}\n`);
if (process.env.INCL) {
  const re = new RegExp(process.env.INCL);
  const incl = new Map<string, number>();
  const sum = (id: number): number => { const x = nodes.get(id)!; return (self.get(id) ?? 0) + (x.children ?? []).reduce((a, c) => a + sum(c), 0); };
  // Outermost matching frames only, per name.
  const walk = (id: number, inside: Set<string>): void => {
    const x = nodes.get(id)!;
    const name = x.callFrame.functionName;
    let next = inside;
    if (re.test(name) && !inside.has(name)) { incl.set(name, (incl.get(name) ?? 0) + sum(id)); next = new Set(inside).add(name); }
    for (const c of x.children ?? []) walk(c, next);
  };
  walk(prof.nodes[0]!.id, new Set());
  process.stdout.write('\ninclusive (µs/req):\n');
  for (const [g, v] of [...incl].sort((a, b) => b[1] - a[1])) process.stdout.write(`${(v / total).toFixed(1).padStart(7)}  ${g}\n`);
}
