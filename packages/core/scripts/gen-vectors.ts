/**
 * Writes test/vectors/wireseal-vectors.json, or with --check exits 1 when the
 * checked-in file is not exactly what the generator produces.
 *
 *   node --conditions=@wireseal/source scripts/gen-vectors.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { vectorsText } from './vectors.ts';

const file = fileURLToPath(new URL('../test/vectors/wireseal-vectors.json', import.meta.url));
const text = vectorsText('node');
if (vectorsText('noble') !== text) {
  process.stderr.write('gen-vectors: the node and noble engines produced different vectors\n');
  process.exit(1);
}
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing file: reported below
  }
  if (current !== text) {
    process.stderr.write(`gen-vectors: ${file} is out of date; run: node --conditions=@wireseal/source scripts/gen-vectors.ts\n`);
    process.exit(1);
  }
  process.stdout.write('gen-vectors: vectors are current\n');
} else {
  writeFileSync(file, text);
  process.stdout.write(`gen-vectors: wrote ${file} (${text.length} bytes)\n`);
}
