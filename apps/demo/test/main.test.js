import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

test('the demo prints sealed fields and a clean round trip', () => {
  const out = execFileSync(process.execPath, ['src/main.ts'], { encoding: 'utf8' });
  assert.match(out, /"number": "eyJ/);
  assert.match(out, /Round trip identical: true; card number visible on the wire: false/);
  assert.doesNotMatch(out, /4111111111111111/);
});
