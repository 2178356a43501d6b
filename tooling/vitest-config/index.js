// Shared vitest settings: resolve workspace packages to their TypeScript
// sources (the "@wireseal/source" export condition) so tests need no build,
// and fail any test that writes to the console (a logged secret is a bug).
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const failOnConsole = fileURLToPath(new URL('./fail-on-console.js', import.meta.url));

/** @param {import('vitest/config').UserConfig['test']} [test] */
export function wiresealVitest(test = {}) {
  return defineConfig({
    resolve: { conditions: ['@wireseal/source'] },
    ssr: { resolve: { conditions: ['@wireseal/source'] } },
    test: {
      include: ['test/**/*.test.ts'],
      setupFiles: [failOnConsole],
      testTimeout: 30_000,
      hookTimeout: 120_000,
      reporters: process.env.CI ? ['default'] : ['default'],
      ...test,
    },
  });
}
