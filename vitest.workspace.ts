import { defineWorkspace } from 'vitest/config';

/**
 * Two projects: unit tests beside the code, and integration tests that start real processes and servers.
 * Integration tests run in forked processes so a crashing child or a native addon cannot take the runner down.
 */
export default defineWorkspace([
  {
    extends: './vitest.shared.ts',
    test: {
      name: 'unit',
      include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
      testTimeout: 30_000,
    },
  },
  {
    extends: './vitest.shared.ts',
    test: {
      name: 'integration',
      include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
      pool: 'forks',
      testTimeout: 120_000,
      hookTimeout: 120_000,
    },
  },
]);
