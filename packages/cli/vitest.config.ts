import { wiresealVitest } from '@wireseal-tooling/vitest-config';

export default wiresealVitest({ globalSetup: ['test/global-setup.ts'] });
