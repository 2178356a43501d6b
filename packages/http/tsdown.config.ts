import { library } from '@wireseal-tooling/tsconfig/tsdown.js';

export default library({ entry: ['src/index.ts', 'src/express.ts', 'src/fastify.ts', 'src/fetch.ts', 'src/codec.ts', 'src/redis.ts'] });
