import { it } from 'vitest';
import { KeySet, seal, open } from '@wireseal/core';
it('speed', () => {
  const k = KeySet.generate({ kid: 'a' });
  for (const alg of ['A256KW', 'dir'] as const) {
    const t0 = performance.now();
    for (let i = 0; i < 20000; i++) { const t = seal(k, 'p', { alg }); open(k, t); }
    const dt = performance.now() - t0;
    process.stdout.write(`${alg} ${(dt / 40000 * 1000).toFixed(1)} us/call\n`);
  }
});
