// `pnpm bench`: runs every package's benchmark (turbo, one at a time, after
// building) and writes what they print, grouped by package, with machine info
// and the date, to docs/benchmarks.md. Benchmarks are not tests: they print
// ratios against named peers measured in the same run.
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = ['run', 'bench', '--concurrency=1', '--log-order=grouped', ...process.argv.slice(2)];
const child = spawn('turbo', args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
const sections = new Map();
let buffered = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  buffered += chunk.toString();
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^(\S+?):bench: ?(.*)$/.exec(line.replace(/\x1b\[[0-9;]*m/g, ''));
    if (!m) continue;
    const [, pkg, text] = m;
    if (!sections.has(pkg)) sections.set(pkg, []);
    sections.get(pkg).push(text);
  }
});
child.on('close', (code) => {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const out = [
    '# Benchmarks',
    '',
    'Written by `pnpm bench` (`./dev bench`); every figure is a ratio against a named peer measured in the same run on the same machine.',
    'Machines here are shared and noisy: compare ratios, not absolute numbers.',
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
    `- node: ${process.version}`,
    `- load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    '',
  ];
  for (const [pkg, lines] of sections) {
    // Drop pnpm's echo of the script line ("> pkg@x bench ...").
    // and turbo's own "cache bypass" notice.
    out.push(`## ${pkg}`, '', ...lines.filter((l) => !l.startsWith('> ') && !l.startsWith('cache bypass')), '');
  }
  mkdirSync(path.join(root, 'docs'), { recursive: true });
  if (sections.size > 0) writeFileSync(path.join(root, 'docs/benchmarks.md'), `${out.join('\n').replace(/\n{3,}/g, '\n\n')}\n`);
  process.exit(code ?? 1);
});
