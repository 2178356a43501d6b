/**
 * wireseal CLI, as a library: `run(argv)` does what the `wireseal` executable
 * does and returns the exit code. Use the executable from the shell; use this
 * to embed the same commands in a Node program.
 *
 * @module
 */
export { run } from './main.ts';
export { EXIT, CliError } from './errors.ts';
export type { CliErrorCode } from './errors.ts';
export type { Io } from './io.ts';
export { VERSION } from './version.ts';
