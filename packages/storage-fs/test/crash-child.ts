/**
 * The writer half of the crash test: opens the store named on the command line and commits blocks until killed.
 * Small segments make the kills land around segment creation too.
 * Usage: crash-child.ts <store directory> <round>
 */
// `@safechain/storage/crash` is the published entry for this; the workspace type check maps only the `testing`
// subpath to source, and `testing` loads vitest, which a plain child process cannot. So: the source file itself.
import { runCrashWriter } from '../../storage/src/crash.js';
import { FsStore } from '../src/index.js';

const [dir, round] = process.argv.slice(2);
if (dir === undefined || round === undefined) throw new Error('usage: crash-child.ts <store directory> <round>');
const store = await FsStore.open({ dir, segmentBytes: 256 * 1024 });
await runCrashWriter(store, { seed: Number(round) });
