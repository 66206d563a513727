/**
 * The writer half of the crash test: opens the store named on the command line and commits blocks until killed.
 * Usage: crash-child.ts <database path> <round>
 */
// `@safechain/storage/crash` is the published entry for this; the workspace type check maps only the `testing`
// subpath to source, and `testing` loads vitest, which a plain child process cannot. So: the source file itself.
import { runCrashWriter } from '../../storage/src/crash.js';
import { SqliteStore } from '../src/index.js';

const [path, round] = process.argv.slice(2);
if (path === undefined || round === undefined) throw new Error('usage: crash-child.ts <database path> <round>');
// Small id-index batches: the kills also land while rows are being moved into the index across commits.
const store = await SqliteStore.open({ path, indexBatchRows: 50 });
await runCrashWriter(store, { seed: Number(round) });
