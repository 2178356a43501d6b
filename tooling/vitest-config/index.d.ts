import type { UserConfig } from 'vitest/config';
/** Shared vitest config: resolves workspace packages to src, fails tests that log. */
export declare function wiresealVitest(test?: UserConfig['test']): UserConfig;
