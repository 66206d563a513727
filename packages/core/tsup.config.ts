import { libraryBuild } from '../../tsup.shared.js';

// Shared chunks keep one copy of the provider registry for both entries.
export default libraryBuild(['src/index.ts', 'src/node.ts'], { splitting: true });
