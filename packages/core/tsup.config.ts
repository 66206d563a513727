import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  // Shared chunks keep one copy of the provider registry for both entries.
  splitting: true,
  target: 'es2022',
});
