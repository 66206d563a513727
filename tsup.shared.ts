import { defineConfig, type Options } from 'tsup';

/**
 * The one build every package shares: ESM with type declarations and source maps for Node 20. A package's own
 * tsup.config.ts names its entries and anything special about it.
 */
export function libraryBuild(entry: NonNullable<Options['entry']>, extra: Options = {}): ReturnType<typeof defineConfig> {
  return defineConfig({ entry, format: ['esm'], dts: true, sourcemap: true, clean: true, target: 'es2022', ...extra });
}

/** An app: one executable entry with a shebang, no declarations. */
export function appBuild(): ReturnType<typeof defineConfig> {
  return defineConfig({
    entry: ['src/main.ts'],
    format: ['esm'],
    sourcemap: true,
    clean: true,
    target: 'es2022',
    banner: { js: '#!/usr/bin/env node' },
  });
}
