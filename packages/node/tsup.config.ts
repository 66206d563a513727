import { libraryBuild } from '../../tsup.shared.js';

// The processing worker is its own entry: worker threads load it by file name (dist/processing-worker.js).
export default libraryBuild({ index: 'src/index.ts', 'processing-worker': 'src/processing/worker.ts' });
