/**
 * Command specs and argument parsing on `node:util` parseArgs: one spec per
 * command gives its options, its `--help` text and its runner.
 */
import { parseArgs } from 'node:util';
import type { Io } from './io.ts';
import { usageError } from './errors.ts';

/** One option of a command. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given more than once (`--context a=1 --context b=2`). */
  multiple?: boolean;
  short?: string;
  /** Placeholder shown in help, e.g. `FILE`. */
  metavar?: string;
  help: string;
}

/** Parsed option values. */
export type Values = Record<string, string | boolean | string[] | undefined>;

/** What a command's runner receives. */
export interface CommandContext {
  values: Values;
  positionals: string[];
  io: Io;
}

/** A command: its help and its runner. */
export interface CommandSpec {
  /** Words after `wireseal`, e.g. `keyset add`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage lines, without the leading `wireseal `. */
  usage: string[];
  /** A paragraph or two for `--help`. */
  description?: string;
  options: Record<string, OptionSpec>;
  /** How many positionals are allowed. Default 0..0. */
  positionals?: { min: number; max: number };
  examples?: string[];
  /** Returns the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', help: 'Show this help and exit' };

/** Parses `args` for `spec`; `--help` returns null. */
export function parseCommand(spec: CommandSpec, args: string[]): { values: Values; positionals: string[] } | null {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, o] of Object.entries({ ...spec.options, help: HELP })) {
    options[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw usageError(`${(err as Error).message} (see: wireseal ${spec.name} --help)`);
    }
    throw err;
  }
  if (parsed.values.help === true) return null;
  const { min, max } = spec.positionals ?? { min: 0, max: 0 };
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    const got = parsed.positionals.length;
    throw usageError(
      max === 0
        ? `${spec.name} takes no positional arguments (got ${JSON.stringify(parsed.positionals[0])}; see: wireseal ${spec.name} --help)`
        : `${spec.name} takes ${min === max ? min : `${min} to ${max}`} positional argument${max === 1 ? '' : 's'}, got ${got} (see: wireseal ${spec.name} --help)`,
    );
  }
  return parsed;
}

/** The `--help` text of a command. */
export function commandHelp(spec: CommandSpec): string {
  const lines = spec.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}wireseal ${u}`);
  lines.push('', spec.summary);
  if (spec.description) lines.push('', spec.description);
  const rows = Object.entries({ ...spec.options, help: HELP }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.metavar ?? 'VALUE'}` : ''}`;
    return [flag, o.help + (o.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  lines.push('', 'Options:');
  for (const [flag, help] of rows) {
    lines.push(flag.length + 2 > width ? `  ${flag}\n  ${' '.repeat(width)}${help}` : `  ${flag.padEnd(width)}${help}`);
  }
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  lines.push('', 'Exit codes: 0 ok, 1 wireseal error, 2 usage error, 3 I/O error, 4 records rejected (scan: a --require-absent kid found), 130 interrupted (see the README).');
  return `${lines.join('\n')}\n`;
}

/** A string option's value (the last one if repeated), or undefined. */
export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) return v[v.length - 1];
  return typeof v === 'string' ? v : undefined;
}

/** A required string option. */
export function required(values: Values, name: string, command: string): string {
  const v = str(values, name);
  if (v === undefined || v === '') throw usageError(`${command} needs --${name} (see: wireseal ${command} --help)`);
  return v;
}

/** A boolean option. */
export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** A repeatable string option's values. */
export function list(values: Values, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** A positive number option (`--progress-interval 5`), or `fallback`. */
export function positiveNumber(values: Values, name: string, fallback: number): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw usageError(`--${name} must be a positive number (got ${JSON.stringify(v)})`);
  return n;
}

/** One of a fixed set of values, or `fallback`. */
export function choice<T extends string>(values: Values, name: string, allowed: readonly T[], fallback: T): T {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw usageError(`--${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}

/** `--context k=v` pairs as a frozen context (frozen: core caches its digest). Undefined when none. */
export function parseContext(pairs: string[]): Readonly<Record<string, string>> | undefined {
  if (pairs.length === 0) return undefined;
  const ctx: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError(`--context must be KEY=VALUE (got ${JSON.stringify(pair)})`);
    const key = pair.slice(0, eq);
    if (Object.prototype.hasOwnProperty.call(ctx, key)) throw usageError(`--context names "${key}" twice`);
    ctx[key] = pair.slice(eq + 1);
  }
  return Object.freeze({ ...ctx });
}

/** The `--context` option, shared by seal, open, fields and reencrypt. */
export const CONTEXT_OPTION: Record<string, OptionSpec> = {
  context: { type: 'string', multiple: true, metavar: 'K=V', help: 'Context bound into tokens as wsc (e.g. topic=payments); must match on open' },
};
