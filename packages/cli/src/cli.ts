/**
 * The `wireseal` executable. The build adds the `#!/usr/bin/env node` line.
 *
 * @module
 */
import { run } from './main.ts';

// kafkajs 2.2.4 sets negative timeouts on Node 24 (kafkajs#1751, harmless): keep that warning off the operator's terminal.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (type === 'TimeoutNegativeWarning' || (warning instanceof Error && warning.name === 'TimeoutNegativeWarning')) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

const code = await run(process.argv.slice(2));
// Let stdout/stderr drain, then leave even if a client library left a handle open.
process.exitCode = code;
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
