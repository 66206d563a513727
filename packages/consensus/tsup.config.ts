import { libraryBuild } from '../../tsup.shared.js';

// The compliance suites import vitest and fast-check: the user's test setup provides them.
export default libraryBuild(['src/index.ts', 'src/testing.ts'], { external: ['vitest', 'fast-check'] });
