// `pnpm bench` (`./dev bench`): runs every package's benchmark (turbo, one at
// a time, after building) and writes what they print, grouped by package,
// with machine info and the date, to docs/benchmarks.md. Benchmarks are not
// tests: they print ratios against named peers measured in the same run.
//
// docs/benchmarks-summary.md (hand-written: before/after tables, profiles,
// floors) is copied in after the machine lines.
//
// A benchmark states each target on a line of its own:
//   WIRESEAL_TARGET {"section":…,"case":…,"vs":…,"measured":0.63,"target":0.5,"met":true,"judged":…,"config":…}
// Those lines are gathered into docs/benchmarks.json (one entry per target,
// for programs) and into the "Targets" table at the end of docs/benchmarks.md
// and of this script's output (for people); they are not repeated in the sections.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = ['run', 'bench', '--concurrency=1', '--log-order=grouped', ...process.argv.slice(2)];
const child = spawn('turbo', args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
const sections = new Map();
const targets = [];
const MARK = 'WIRESEAL_TARGET ';
let buffered = '';
child.stdout.on('data', (chunk) => {
  buffered += chunk.toString();
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^(\S+?):bench: ?(.*)$/.exec(line.replace(/\x1b\[[0-9;]*m/g, ''));
    if (m?.[2].startsWith(MARK)) {
      try {
        targets.push(targetEntry(m[1], JSON.parse(m[2].slice(MARK.length))));
      } catch {
        process.stderr.write(`bench: unreadable target line from ${m[1]}: ${m[2]}\n`);
      }
      continue;
    }
    process.stdout.write(`${line}\n`);
    if (!m) continue;
    const [, pkg, text] = m;
    if (!sections.has(pkg)) sections.set(pkg, []);
    sections.get(pkg).push(text);
  }
});

/**
 * One docs/benchmarks.json entry: `id` (a stable slug), `name` (what is compared with
 * what), `ratio` (the measured ratio, also as `measured`), `target`, `met`, and the rest
 * of what the benchmark said (section, judged, config, wall).
 */
function targetEntry(pkg, t) {
  const name = `${pkg}: ${t.case}${t.vs ? ` vs ${t.vs}` : ''}`;
  const id = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return { id, name, ratio: t.measured, target: t.target, met: t.met, package: pkg, ...t };
}

const cell = (v) => String(v ?? '—').replace(/\|/g, '\\|');
function targetTable() {
  const rows = [
    '| package | section | case | vs | measured | target | met? | configuration |',
    '| --- | --- | --- | --- | ---: | ---: | --- | --- |',
    ...targets.map((t) =>
      `| ${cell(t.package)} | ${cell(t.section)} | ${cell(t.case)} | ${cell(t.vs)} | ${typeof t.measured === 'number' ? t.measured.toFixed(2) : '—'} | ${cell(t.op ?? '≥')} ${t.target} | ${t.met ? 'yes' : 'NO'} | ${cell(t.config)} |`,
    ),
  ];
  const missed = targets.filter((t) => !t.met).length;
  return [...rows, '', missed === 0 ? `All ${targets.length} targets met.` : `${targets.length - missed} of ${targets.length} targets met; ${missed} missed.`];
}

child.on('close', (code) => {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const date = new Date().toISOString();
  const machine = `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`;
  const out = [
    '# Benchmarks',
    '',
    'Written by `pnpm bench` (`./dev bench`); every figure is a ratio against a named peer measured in the same run on the same machine.',
    'Machines here are shared and noisy: compare ratios, not absolute numbers. Targets are judged on CPU per operation; `docs/benchmarks.json` holds the same targets for programs.',
    '',
    `- date: ${date}`,
    `- machine: ${machine}`,
    `- node: ${process.version}`,
    `- load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    '',
  ];
  // The hand-written part (what changed and why, before/after tables, honest floors) is kept across runs.
  const summary = path.join(root, 'docs/benchmarks-summary.md');
  if (existsSync(summary)) out.push(readFileSync(summary, 'utf8').trim(), '');
  for (const [pkg, lines] of sections) {
    // Drop pnpm's echo of the script line ("> pkg@x bench ...").
    // and turbo's own "cache bypass" notice.
    out.push(`## ${pkg}`, '', ...lines.filter((l) => !l.startsWith('> ') && !l.startsWith('cache bypass')), '');
  }
  if (targets.length > 0) {
    const table = targetTable();
    out.push('## Targets', '', ...table, '');
    process.stdout.write(`\nTargets\n\n${table.join('\n')}\n`);
  }
  mkdirSync(path.join(root, 'docs'), { recursive: true });
  // Only a run of every package replaces the recorded figures (a filtered run, `./dev bench --filter X`, only prints).
  const filtered = process.argv.slice(2).some((a) => a.startsWith('--filter'));
  if (sections.size > 0 && !filtered) {
    writeFileSync(path.join(root, 'docs/benchmarks.md'), `${out.join('\n').replace(/\n{3,}/g, '\n\n')}\n`);
    writeFileSync(path.join(root, 'docs/benchmarks.json'), `${JSON.stringify({ date, machine, node: process.version, targets }, null, 2)}\n`);
  }
  process.exit(code ?? 1);
});
