// Runs the built core's smoke test on the machine's own Node (the oldest
// runtime we support, 20.19+), not on the project's Node 24; then imports the
// built @wireseal/kafka main entry there and seals and opens one record with
// it, with kafkajs and @platformatic/kafka refused at resolution (the main
// entry must not load a Kafka client at runtime; platformatic needs Node 22.22+).
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
if (r.status !== 0) process.exit(r.status ?? 1);

if (!existsSync(path.join(root, 'packages/kafka/dist/index.js'))) {
  console.error('node20-smoke: packages/kafka/dist is missing: run `pnpm build` first (turbo test builds it)');
  process.exit(1);
}
// A resolve hook (module.register, Node 20.6+) that refuses the Kafka clients: importing either fails the import.
const refuse = `export async function resolve(specifier, context, next) {
  if (/^(kafkajs|@platformatic\\/kafka)(\\/|$)/.test(specifier)) throw new Error('node20-smoke: ' + specifier + ' was imported');
  return next(specifier, context);
}`;
const dataUrl = (src) => `data:text/javascript,${encodeURIComponent(src)}`;
const preload = dataUrl(`import { register } from 'node:module'; register(${JSON.stringify(dataUrl(refuse))});`);
// Resolved from packages/kafka: its own name through its exports (dist), and @wireseal/core from its node_modules.
const check = `
import { createRequire } from 'node:module';
const { createKafkaCodec } = await import('@wireseal/kafka');
const { KeySet } = await import('@wireseal/core');
const codec = createKafkaCodec({ keys: KeySet.generate({ kid: 'k1' }), topics: { t: { mode: 'whole' } } });
const sealed = codec.encode('t', { key: 'a', value: 'hello' });
const outcome = codec.open(codec.topic('t'), { key: null, value: Buffer.from(sealed.value), headers: sealed.headers, offset: '0', timestamp: '0', attributes: 0 }, 0);
if (!outcome.ok || outcome.message.value.toString() !== 'hello') throw new Error('node20-smoke: @wireseal/kafka did not round-trip a record');
const cjs = Object.keys(createRequire(import.meta.url).cache).filter((k) => /[\\/](kafkajs|@platformatic[\\/]kafka)[\\/]/.test(k));
if (cjs.length) throw new Error('node20-smoke: a Kafka client was loaded: ' + cjs[0]);
console.log('node20-smoke: @wireseal/kafka loads, seals and opens without a Kafka client on ' + process.version);
`;
const k = spawnSync(systemNode, ['--import', preload, '--input-type=module', '-e', check], { cwd: path.join(root, 'packages/kafka'), stdio: 'inherit' });
process.exit(k.status ?? 1);
