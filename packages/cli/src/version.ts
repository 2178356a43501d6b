/** The CLI's version, from package.json (inlined by the build). */
import pkg from '../package.json' with { type: 'json' };

/** The `wireseal` version (`wireseal --version`). */
export const VERSION: string = pkg.version;
