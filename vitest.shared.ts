import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Tests run against each workspace package's TypeScript source, not its build, so `pnpm test` needs no build first.
 * `@safechain/core` resolves to its Node entry, as it does for a Node consumer of the published package.
 */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@safechain\/core$/, replacement: `${root}packages/core/src/node.ts` },
      { find: /^@safechain\/core\/portable$/, replacement: `${root}packages/core/src/index.ts` },
      { find: /^@safechain\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@safechain\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/$2.ts` },
    ],
  },
});
