/**
 * The `wireseal` executable. The build adds the `#!/usr/bin/env node` line.
 *
 * @module
 */
import { run } from './main.ts';

const code = await run(process.argv.slice(2));
// Let stdout/stderr drain, then leave even if a client library left a handle open.
process.exitCode = code;
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
