import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: ['src/index.ts', 'src/express.ts', 'src/fastify.ts', 'src/fetch.ts'],
  format: 'esm',
  platform: 'neutral',
  target: 'node20.19',
  dts: true,
  clean: true,
});
