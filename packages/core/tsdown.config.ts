import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: ['src/index.ts', 'src/errors.ts', 'src/legacy.ts', 'src/internal.ts'],
  format: 'esm',
  platform: 'neutral',
  target: 'node20.19',
  dts: true,
  clean: true,
});
