import { library } from '@wireseal-tooling/tsconfig/tsdown.js';

export default library({
  // reencrypt-worker.js must sit next to the chunk that starts it (dist/), under this fixed name.
  entry: { index: 'src/index.ts', cli: 'src/cli.ts', 'reencrypt-worker': 'src/reencrypt/worker.ts' },
  platform: 'node',
  fixedExtension: false, // .js and .d.ts, as package.json's exports and bin say
  // The executable gets its shebang line; "bin" in package.json points at dist/cli.js.
  banner: ({ fileName }: { fileName: string }) => (fileName === 'cli.js' ? '#!/usr/bin/env node' : undefined),
});
