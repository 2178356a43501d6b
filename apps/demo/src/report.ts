/**
 * Output helpers: a header per step, indented detail lines, a small table,
 * and PASS/FAIL checks collected for the verdict.
 */

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: string, s: string): string => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
/** Bold text on a terminal. */
export const bold = (s: string): string => paint('1', s);
/** Dimmed text on a terminal. */
export const dim = (s: string): string => paint('2', s);
const green = (s: string): string => paint('32', s);
const red = (s: string): string => paint('31', s);

/** Prints a line. */
export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** A step header with the time since the demo started. */
export function step(title: string, sinceStartMs: number): void {
  say();
  say(`${bold(`▸ ${title}`)} ${dim(`(${(sinceStartMs / 1000).toFixed(1)} s)`)}`);
}

/** An indented detail line. */
export function detail(line: string): void {
  say(`    ${line}`);
}

/** A section header for the samples. */
export function section(title: string): void {
  say();
  say(bold(`── ${title} ${'─'.repeat(Math.max(3, 76 - title.length))}`));
}

/** Prints rows as an aligned two- or three-column table. */
export function table(rows: ReadonlyArray<readonly [string, string | number, string?]>): void {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => String(r[1]).length));
  for (const [label, value, note] of rows) say(`    ${label.padEnd(w0)}  ${String(value).padStart(w1)}${note ? `  ${dim(note)}` : ''}`);
}

/** One verified claim. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** Collects checks and prints each as it is made. */
export class Checks {
  readonly all: Check[] = [];

  /** Records and prints a check. */
  add(name: string, ok: boolean, detailText: string): boolean {
    this.all.push({ name, ok, detail: detailText });
    say(`    ${ok ? green('PASS') : red('FAIL')}  ${detailText}`);
    return ok;
  }

  get failed(): Check[] {
    return this.all.filter((c) => !c.ok);
  }
}

/** Indents a multi-line block. */
export function block(text: string, indent = '    '): void {
  for (const line of text.split('\n')) say(`${indent}${line}`);
}

/** Prints a table with a header row; numeric columns (`right`) are right-aligned. */
export function grid(header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>, right: ReadonlySet<number> = new Set()): void {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  say(`    ${dim(line(cells[0]!))}`);
  for (const r of cells.slice(1)) say(`    ${line(r)}`);
}
