import type { UserConfig } from 'tsdown';
/** The shared build of a published wireseal package, with its own settings on top. */
export declare function library(options: UserConfig): UserConfig;
