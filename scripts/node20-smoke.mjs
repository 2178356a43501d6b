// Runs the built core's smoke test on the machine's own Node (the oldest
// runtime we support, 20.19+), not on the project's Node 24.
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toolchain = path.join(root, '.toolchain');
const candidates = [process.env.WIRESEAL_SYSTEM_NODE, ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'node')), '/usr/bin/node', '/usr/local/bin/node']
  .filter((p) => p && !p.startsWith(toolchain) && !p.includes('node_modules') && existsSync(p));
const systemNode = candidates[0];
if (!systemNode) {
  console.error('node20-smoke: no system Node found outside .toolchain (set WIRESEAL_SYSTEM_NODE)');
  process.exit(1);
}
const version = execFileSync(systemNode, ['--version']).toString().trim();
const [major, minor] = version.slice(1).split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`node20-smoke: ${systemNode} is ${version}; the published packages need Node 20.19+`);
  process.exit(1);
}
if (!existsSync(path.join(root, 'packages/core/dist/index.js'))) {
  console.error('node20-smoke: packages/core/dist is missing: run `pnpm build` first (turbo test builds it)');
  process.exit(1);
}
console.log(`node20-smoke: built @wireseal/core on ${systemNode} ${version}`);
const r = spawnSync(systemNode, ['--test', '--test-reporter=spec', 'test-node/smoke.test.mjs'], { cwd: path.join(root, 'packages/core'), stdio: 'inherit' });
process.exit(r.status ?? 1);
