import { wiresealVitest } from '@wireseal-tooling/vitest-config';

export default wiresealVitest();
