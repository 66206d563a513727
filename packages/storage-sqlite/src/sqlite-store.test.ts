import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreCompliance } from '@safechain/storage/testing';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

const dirs: string[] = [];
let current = '';

/** The shared suite against stores opened with `options`. */
function compliance(name: string, options: Omit<SqliteStoreOptions, 'path'>): void {
  runStoreCompliance(name, {
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'safechain-sqlite-'));
      dirs.push(dir);
      current = join(dir, 'chain.db');
      return SqliteStore.open({ ...options, path: current });
    },
    async reopen() {
      return SqliteStore.open({ ...options, path: current });
    },
    async cleanup() {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  });
}

compliance('sqlite', {});
// Id index batches of 3 rows, a slice per commit: lookups then meet rows on both sides of the index, and batches that
// run across commits, reorgs and reopenings.
compliance('sqlite, small index batches', { indexBatchRows: 3 });
