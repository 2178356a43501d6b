// Tests run the built executable, so build it (and the workspace packages it
// imports at run time) when dist/ is missing or older than the sources. Under
// turbo, `test` already depends on `build`, and this finds nothing to do.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function ensureBuilt(pkg: string, output: string): void {
  const dir = join(packagesDir, pkg);
  const out = join(dir, output);
  if (existsSync(out) && statSync(out).mtimeMs >= newestSource(join(dir, 'src'))) return;
  execFileSync('pnpm', ['run', 'build'], { cwd: dir, stdio: 'ignore' });
}

export default function setup(): void {
  ensureBuilt('core', 'dist/index.js');
  ensureBuilt('aws-secrets', 'dist/index.js');
  ensureBuilt('cli', 'dist/cli.js');
}
