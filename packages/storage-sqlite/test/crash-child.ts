/**
 * The writer half of the crash test: opens the store named on the command line and commits blocks until killed.
 * Usage: crash-child.ts <database path> <round>
 */
import { runCrashWriter } from '@safechain/storage/crash';
import { SqliteStore } from '../src/index.js';

const [path, round] = process.argv.slice(2);
if (path === undefined || round === undefined) throw new Error('usage: crash-child.ts <database path> <round>');
const store = await SqliteStore.open({ path });
await runCrashWriter(store, { seed: Number(round) });
