/**
 * A small benchmark harness: warm up, then run the cases of a group in
 * interleaved rounds (case A, case B, ... then again), so drift in the load of
 * a shared machine hits every case alike. Each case reports the median
 * ops/s over the rounds; ratios are the median of the per-round ratios, so a
 * case is only ever compared with a peer measured seconds apart.
 */
import { performance } from 'node:perf_hooks';

/** One benchmark case: an operation, synchronous or async (awaited per call, as users would). */
export interface Case {
  readonly name: string;
  readonly fn: () => unknown;
  /** Units per call (e.g. bytes for a throughput case); ops/s is multiplied by it. Default 1. */
  readonly unitsPerCall?: number;
}

/**
 * A measured case, per round: ops/s (or units/s) of wall-clock time, and per
 * second of this process's CPU time (all threads: main, GC, libuv pool, so an
 * async peer's off-thread work counts). The CPU figure is what a loaded server
 * can sustain per core and barely moves when other processes compete for the
 * machine; the wall figure is what one sequential caller sees.
 */
export interface Measured {
  readonly name: string;
  readonly perRound: number[];
  readonly perRoundCpu: number[];
}

/** Options for {@link runGroup}. */
export interface GroupOptions {
  /** Rounds over all cases. */
  readonly rounds: number;
  /** Time per case per round, in milliseconds. */
  readonly msPerRound: number;
  /** Warm-up per case before the first round, in milliseconds. */
  readonly warmupMs: number;
  /** Called between cases (e.g. to run an external peer in the same round). */
  readonly onRound?: (round: number) => Promise<void> | void;
}

/** Last result of every case, kept reachable so no work can be optimised away. */
export const sink: { value: unknown } = { value: undefined };
/** Keeps a value alive so no work is optimised away. */
export function consume(value: unknown): void {
  sink.value = value;
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `fn` for about `ms` milliseconds; returns calls per wall-clock second and per CPU second. */
async function timeFor(fn: () => unknown, ms: number): Promise<{ wall: number; cpu: number }> {
  // One probe call decides sync vs async, and the batch size (~2 ms per batch).
  const probe = fn();
  const async = isPromise(probe);
  if (async) consume(await probe);
  let batch = 1;
  let calls = 0;
  const cpuStart = cpuMs();
  const start = performance.now();
  let now = start;
  const end = start + ms;
  while (now < end) {
    const t0 = now;
    if (async) {
      for (let i = 0; i < batch; i++) consume(await fn());
    } else {
      for (let i = 0; i < batch; i++) consume(fn());
    }
    calls += batch;
    now = performance.now();
    if (now - t0 < 2 && batch < 1 << 20) batch *= 2;
  }
  const cpu = cpuMs() - cpuStart;
  return { wall: (calls * 1000) / (now - start), cpu: (calls * 1000) / Math.max(cpu, 1e-3) };
}

/** Warms every case up, then runs `rounds` interleaved rounds. */
export async function runGroup(cases: readonly Case[], options: GroupOptions): Promise<Measured[]> {
  for (const c of cases) await timeFor(c.fn, options.warmupMs);
  const results = cases.map((c) => ({ name: c.name, perRound: [] as number[], perRoundCpu: [] as number[] }));
  for (let r = 0; r < options.rounds; r++) {
    // Alternate the order each round so no case always runs right after a GC-heavy one.
    const order = cases.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const c = cases[i]!;
      const ops = await timeFor(c.fn, options.msPerRound);
      results[i]!.perRound.push(ops.wall * (c.unitsPerCall ?? 1));
      results[i]!.perRoundCpu.push(ops.cpu * (c.unitsPerCall ?? 1));
    }
    await options.onRound?.(r);
  }
  return results;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median over rounds of `a[r] / b[r]`, on wall-clock (default) or CPU-time figures. */
export function ratio(a: Measured, b: Measured, clock: 'wall' | 'cpu' = 'wall'): number {
  const x = clock === 'wall' ? a.perRound : a.perRoundCpu;
  const y = clock === 'wall' ? b.perRound : b.perRoundCpu;
  const n = Math.min(x.length, y.length);
  const rs: number[] = [];
  for (let r = 0; r < n; r++) rs.push(x[r]! / y[r]!);
  return median(rs);
}

/** Spread of a case over its rounds: (max - min) / median, as a percentage. */
export function spread(m: Measured): number {
  const med = median(m.perRound);
  return ((Math.max(...m.perRound) - Math.min(...m.perRound)) / med) * 100;
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A markdown table. */
export function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Reads a positive number from the environment, or the default. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${JSON.stringify(raw)})`);
  return n;
}
