// Any console output from code under test fails the test: library code must
// report through hooks, never log (and never log key material).
import { afterEach, beforeEach } from 'vitest';

const methods = ['log', 'info', 'warn', 'error', 'debug'];
let calls = [];
const originals = {};

beforeEach(() => {
  calls = [];
  for (const m of methods) {
    originals[m] = console[m];
    console[m] = (...args) => { calls.push(`${m}: ${args.map(String).join(' ').slice(0, 200)}`); };
  }
});

afterEach(() => {
  for (const m of methods) console[m] = originals[m];
  if (calls.length > 0 && !process.env.WIRESEAL_ALLOW_CONSOLE) {
    const seen = calls.join('\n');
    calls = [];
    throw new Error(`test wrote to the console (library code must not log):\n${seen}`);
  }
});
