/**
 * The dispatcher: finds the command, prints help, runs it, and turns every
 * failure into one `error CODE: message` line and a stable exit code.
 */
import type { CommandSpec } from './args.ts';
import { commandHelp, parseCommand } from './args.ts';
import { fieldsCommands } from './commands/fields.ts';
import { inspect } from './commands/inspect.ts';
import { keygen } from './commands/keygen.ts';
import { keysetCommands } from './commands/keyset.ts';
import { reencrypt } from './commands/reencrypt.ts';
import { scan } from './commands/scan.ts';
import { sealCommands } from './commands/seal.ts';
import { secretsCommands } from './commands/secrets.ts';
import { EXIT, describeError, usageError } from './errors.ts';
import type { Io } from './io.ts';
import { processIo, write } from './io.ts';
import { VERSION } from './version.ts';

/** Every command, in help order. */
export const COMMANDS: readonly CommandSpec[] = [keygen, ...keysetCommands, ...sealCommands, inspect, ...fieldsCommands, reencrypt, scan, ...secretsCommands];

const GROUPS = new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!));

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'Usage: wireseal <command> [options]      wireseal <command> --help',
    '',
    'Keys, rotation, inspection and bulk re-encryption for wireseal (JWE field and payload encryption).',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Key sets come from --keyset FILE, --keyset-env VAR, --secret-id ID (AWS Secrets Manager), or WIRESEAL_KEYSET;',
    'policies with audiences take a keyring: --keyring FILE and/or --audience NAME=FILE.',
    'Exit codes: 0 ok, 1 wireseal error, 2 usage error, 3 I/O error, 4 records rejected (scan: a --require-absent kid found), 130 interrupted.',
    '',
  ].join('\n');
}

function groupHelp(group: string): string {
  const cmds = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  const width = Math.max(...cmds.map((c) => c.name.length)) + 2;
  return [`Usage: wireseal ${group} <${cmds.map((c) => c.name.split(' ')[1]).join('|')}> [options]`, '', ...cmds.map((c) => `  ${c.name.padEnd(width)}${c.summary}`), ''].join('\n');
}

function find(argv: string[]): { spec: CommandSpec; rest: string[] } | { help: string; exit: number; toStderr: boolean } {
  const [first, second] = argv;
  if (first === undefined) return { help: topHelp(), exit: EXIT.USAGE, toStderr: true };
  if (first === '--help' || first === '-h' || first === 'help') {
    if (second !== undefined) return find([...argv.slice(1), '--help']);
    return { help: topHelp(), exit: EXIT.OK, toStderr: false };
  }
  if (first === '--version' || first === '-v') return { help: `${VERSION}\n`, exit: EXIT.OK, toStderr: false };
  if (GROUPS.has(first)) {
    if (second === undefined || second === '--help' || second === '-h') {
      return { help: groupHelp(first), exit: second === undefined ? EXIT.USAGE : EXIT.OK, toStderr: second === undefined };
    }
    const spec = COMMANDS.find((c) => c.name === `${first} ${second}`);
    if (!spec) throw usageError(`unknown command "${first} ${second}" (see: wireseal ${first} --help)`);
    return { spec, rest: argv.slice(2) };
  }
  const spec = COMMANDS.find((c) => c.name === first);
  if (!spec) throw usageError(`unknown command "${first}" (see: wireseal --help)`);
  return { spec, rest: argv.slice(1) };
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and returns
 * the exit code. Never throws: errors are printed on `io.stderr` as
 * `error CODE: message`.
 * @example
 * const code = await run(['keyset', 'list', '--keyset', 'keys.json']);
 */
export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  try {
    const found = find([...argv]);
    if ('help' in found) {
      await write(found.toStderr ? io.stderr : io.stdout, found.help);
      return found.exit;
    }
    const parsed = parseCommand(found.spec, found.rest);
    if (parsed === null) {
      await write(io.stdout, commandHelp(found.spec));
      return EXIT.OK;
    }
    return await found.spec.run({ values: parsed.values, positionals: parsed.positionals, io });
  } catch (err) {
    const { exitCode, line } = describeError(err);
    try {
      await write(io.stderr, `${line}\n`);
    } catch {
      /* stderr is gone: the exit code still tells */
    }
    return exitCode;
  }
}
