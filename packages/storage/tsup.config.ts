import { libraryBuild } from '../../tsup.shared.js';

// The compliance suite and crash harness import vitest and fast-check: the user's test setup provides them.
export default libraryBuild(['src/index.ts', 'src/testing.ts', 'src/fixtures.ts', 'src/crash.ts'], { external: ['vitest', 'fast-check'] });
