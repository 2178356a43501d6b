/**
 * Runs the sample services as child processes, the way they would run in
 * production: each one `node src/main.ts` with its configuration in the
 * environment, printing one JSON line per event on stdout. The first
 * `{"event":"ready"}` line tells us where it listens. Everything a child
 * prints also goes to `<logDir>/<name>.log`. Each child is started with
 * `--import otel-child.ts`: an OpenTelemetry metrics SDK of its own, whose
 * summary it prints on SIGUSR2 ({@link Child.metrics}) or when it exits by itself.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MetricsSummary } from './metrics.ts';

/** One JSON event a child printed. */
export type ChildEvent = Record<string, unknown> & { event?: string };

/** A running child service. */
export interface Child {
  readonly name: string;
  /** The `ready` event (holds `url`). */
  readonly ready: ChildEvent;
  /** Every event so far. */
  readonly events: ChildEvent[];
  /** Resolves with the first event after index `from` that satisfies `match`. */
  waitFor(match: (e: ChildEvent) => boolean, from: number, timeoutMs?: number): Promise<ChildEvent>;
  /** What the child's own OpenTelemetry SDK collected so far (asked with SIGUSR2). */
  metrics(timeoutMs?: number): Promise<MetricsSummary>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Node's arguments for every child: the metrics SDK preload. */
const NODE_ARGS = ['--disable-warning=TimeoutNegativeWarning', '--import', pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'otel-child.ts')).href];

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** The entry script of a workspace app (`@wireseal-apps/<app>` → its `src/main.ts`). */
export function appMain(app: string): string {
  const pkg = fileURLToPath(import.meta.resolve(`@wireseal-apps/${app}/package.json`));
  return path.join(path.dirname(pkg), 'src', 'main.ts');
}

/** Runs a node script to completion; resolves with its exit code and JSON events. */
export async function runToEnd(name: string, script: string, args: string[], env: NodeJS.ProcessEnv, logDir: string): Promise<{ code: number; events: ChildEvent[] }> {
  const log = fs.createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a', mode: 0o600 });
  const child = spawn(process.execPath, [...NODE_ARGS, script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const events: ChildEvent[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    log.write(`${line}\n`);
    try {
      events.push(JSON.parse(line) as ChildEvent);
    } catch {
      /* not an event */
    }
  });
  child.stderr!.pipe(log, { end: false });
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  live.delete(child);
  log.end();
  return { code, events };
}

/** Starts a service and resolves once it printed its `ready` event. */
export async function startChild(name: string, script: string, env: NodeJS.ProcessEnv, logDir: string, timeoutMs = 60_000): Promise<Child> {
  const logFile = path.join(logDir, `${name}.log`);
  const log = fs.createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  const child = spawn(process.execPath, [...NODE_ARGS, script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const events: ChildEvent[] = [];
  const waiters = new Set<() => void>();
  let stderrTail = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    log.write(`${line}\n`);
    try {
      events.push(JSON.parse(line) as ChildEvent);
    } catch {
      return;
    }
    for (const w of [...waiters]) w();
  });
  child.stderr!.on('data', (d: Buffer) => {
    log.write(d);
    stderrTail = (stderrTail + d.toString('utf8')).slice(-2000);
  });
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => {
    live.delete(child);
    resolve(code ?? 1);
    for (const w of [...waiters]) w();
  }));
  let exitCode: number | undefined;
  void exited.then((c) => (exitCode = c));

  const waitFor = (match: (e: ChildEvent) => boolean, from: number, ms = timeoutMs): Promise<ChildEvent> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = events.slice(from).find(match);
        if (hit) return done(() => resolve(hit));
        if (exitCode !== undefined) return done(() => reject(new Error(`${name} exited (code ${exitCode}) before it was ready; last output:\n${stderrTail.trim() || '(none)'}\n(full log: ${logFile})`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${name}: no matching event within ${ms} ms (log: ${logFile})`))), ms);
      const done = (f: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });

  const ready = await waitFor((e) => e.event === 'ready', 0);
  return {
    name,
    ready,
    events,
    waitFor,
    async metrics(ms = 10_000) {
      const from = events.length;
      child.kill('SIGUSR2');
      return (await waitFor((e) => e.event === 'otel-metrics', from, ms)) as unknown as MetricsSummary;
    },
    async stop(graceMs = 15_000) {
      if (exitCode === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    },
  };
}
