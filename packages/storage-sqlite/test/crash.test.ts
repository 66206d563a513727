import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCrashRounds } from '@safechain/storage/testing';
import { afterAll, expect, it } from 'vitest';
import { SqliteStore } from '../src/index.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'safechain-sqlite-crash-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('keeps every reported commit, and nothing partial, through 20 kills with SIGKILL', async () => {
  const reports = await runCrashRounds({
    command: [process.execPath, '--conditions=@safechain/source', '--import', 'tsx', child],
    cwd: repoRoot,
    location: join(dir, 'chain.db'),
    // As the child: small id-index batches (the integrity check after each kill looks every transaction up).
    open: (path) => SqliteStore.open({ path, indexBatchRows: 50 }),
    rounds: 20,
  });
  expect(reports).toHaveLength(20);
  // The kills landed while the writer was committing, not only before it started.
  expect(reports.filter((r) => r.reported > 0).length).toBeGreaterThan(10);
  expect(reports[reports.length - 1]!.tipHeight).toBeGreaterThan(20);
});
