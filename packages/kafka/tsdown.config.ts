import { library } from '@wireseal-tooling/tsconfig/tsdown.js';

export default library({ entry: ['src/index.ts', 'src/platformatic.ts'] });
