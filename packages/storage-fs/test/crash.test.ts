import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCrashRounds } from '@safechain/storage/testing';
import { afterAll, expect, it } from 'vitest';
import { FsStore, type FsRecoveryReport } from '../src/index.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'safechain-fs-crash-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('keeps every reported commit, and nothing partial, through 20 kills with SIGKILL', async () => {
  const location = join(dir, 'store');
  const recoveries: FsRecoveryReport[] = [];
  const reports = await runCrashRounds({
    command: [process.execPath, '--conditions=@safechain/source', '--import', 'tsx', child],
    cwd: repoRoot,
    location,
    open: async (path) => {
      const store = await FsStore.open({ dir: path, segmentBytes: 256 * 1024 });
      recoveries.push(store.recovery);
      return store;
    },
    rounds: 20,
  });
  expect(reports).toHaveLength(20);
  // The kills landed while the writer was committing, not only before it started.
  expect(reports.filter((r) => r.reported > 0).length).toBeGreaterThan(10);
  expect(reports[reports.length - 1]!.tipHeight).toBeGreaterThan(20);
  // The writer rolled over to new segment files along the way.
  expect(readdirSync(location).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(1);
  expect(recoveries.map((r) => r.groups)).toEqual([...recoveries.map((r) => r.groups)].sort((a, b) => a - b));
});
