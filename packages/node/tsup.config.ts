import { defineConfig } from 'tsup';

export default defineConfig({
  // The processing worker is its own entry: worker threads load it by file name (dist/processing-worker.js).
  entry: { index: 'src/index.ts', 'processing-worker': 'src/processing/worker.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
});
