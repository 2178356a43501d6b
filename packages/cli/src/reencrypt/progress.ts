/**
 * Progress of a long job on stderr: on a terminal a single-line bar with rate
 * and ETA redrawn in place (`\r`, at most 10 times a second); otherwise a
 * plain line every `intervalMs`, so logs stay readable.
 */
import type { Writable } from 'node:stream';

/** How progress is shown. `auto` = `bar` on a terminal, else `lines`. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

/** A progress snapshot. */
export interface ProgressState {
  /** Records done so far (all runs, for a resumed job). */
  records: number;
  /** Units done and total for the percentage and ETA (input bytes, or Kafka messages). */
  done: number;
  total: number | undefined;
  failed: number;
}

const fmt = new Intl.NumberFormat('en-US');

/** `1:02:03`, `2:03` or `7s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** Renders and throttles progress output. */
export class Progress {
  readonly #out: Writable;
  readonly #mode: 'bar' | 'lines' | 'none';
  readonly #intervalMs: number;
  readonly #label: string;
  readonly #startedAt = Date.now();
  #startRecords = 0;
  #startDone = 0;
  #last = 0;
  #drawn = false;

  /**
   * @param out - stderr
   * @param mode - resolved against `isTTY` when `auto`
   * @param intervalMs - time between plain lines
   */
  constructor(out: Writable, mode: ProgressMode, isTTY: boolean, intervalMs: number, label: string) {
    this.#out = out;
    this.#mode = mode === 'auto' ? (isTTY ? 'bar' : 'lines') : mode;
    this.#intervalMs = intervalMs;
    this.#label = label;
    this.#last = Date.now();
  }

  /** The mode in use. */
  get mode(): 'bar' | 'lines' | 'none' {
    return this.#mode;
  }

  /** Where this run starts (a resumed job has work done already; rates count this run only). */
  begin(state: ProgressState): void {
    this.#startRecords = state.records;
    this.#startDone = state.done;
    if (this.#mode === 'bar') this.#draw(state);
  }

  /** Reports progress; draws only when due. Cheap to call often. */
  update(state: ProgressState): void {
    if (this.#mode === 'none') return;
    const now = Date.now();
    if (now - this.#last < (this.#mode === 'bar' ? 100 : this.#intervalMs)) return;
    this.#last = now;
    if (this.#mode === 'bar') this.#draw(state);
    else this.#out.write(`${this.#label}: ${this.#text(state)}\n`);
  }

  /** Clears the bar (the summary follows on its own line). */
  end(): void {
    if (this.#mode === 'bar' && this.#drawn) this.#out.write('\r\x1b[K');
    this.#drawn = false;
  }

  #rates(state: ProgressState): { rate: number; eta: number | undefined; pct: number | undefined } {
    const secs = Math.max((Date.now() - this.#startedAt) / 1000, 1e-3);
    const rate = (state.records - this.#startRecords) / secs;
    const doneRate = (state.done - this.#startDone) / secs;
    const total = state.total;
    const pct = total === undefined ? undefined : total === 0 ? 100 : Math.min(100, (100 * state.done) / total);
    const eta = total === undefined || doneRate <= 0 ? undefined : (total - state.done) / doneRate;
    return { rate, eta, pct };
  }

  #text(state: ProgressState): string {
    const { rate, eta, pct } = this.#rates(state);
    const parts = [`${fmt.format(state.records)} records${pct === undefined ? '' : ` (${pct.toFixed(1)}%)`}`, `${fmt.format(Math.round(rate))} rec/s`];
    if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
    if (state.failed > 0) parts.push(`${fmt.format(state.failed)} failed`);
    return parts.join(', ');
  }

  #draw(state: ProgressState): void {
    const { rate, eta, pct } = this.#rates(state);
    const width = 24;
    const filled = pct === undefined ? 0 : Math.round((pct / 100) * width);
    const bar = pct === undefined ? '' : `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(1).padStart(5)}% `;
    const failed = state.failed > 0 ? `  ${fmt.format(state.failed)} failed` : '';
    this.#out.write(`\r${bar}${fmt.format(state.records)} records  ${fmt.format(Math.round(rate))} rec/s  ETA ${eta === undefined ? '?' : formatDuration(eta)}${failed}\x1b[K`);
    this.#drawn = true;
  }
}

/** Formats a count for summaries. */
export function count(n: number): string {
  return fmt.format(n);
}
