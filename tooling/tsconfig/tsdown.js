// The build every published wireseal package shares (tsdown): ESM, .d.ts,
// Node 20.19+ as the target. A package's tsdown.config.ts names its entries
// (and anything of its own, such as the CLI's banner). Plain JS with no
// imports, so it loads from any package's config without a dependency here.

/**
 * @param {import('tsdown').UserConfig} options - the package's own settings (entry, platform, ...)
 * @returns {import('tsdown').UserConfig}
 */
export function library(options) {
  return { format: 'esm', platform: 'neutral', target: 'node20.19', dts: true, clean: true, ...options };
}
