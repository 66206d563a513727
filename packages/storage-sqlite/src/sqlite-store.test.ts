import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreCompliance } from '@safechain/storage/testing';
import { SqliteStore } from './sqlite-store.js';

const dirs: string[] = [];
let current = '';

runStoreCompliance('sqlite', {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'safechain-sqlite-'));
    dirs.push(dir);
    current = join(dir, 'chain.db');
    return SqliteStore.open({ path: current });
  },
  async reopen() {
    return SqliteStore.open({ path: current });
  },
  async cleanup() {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  },
});

// The same suite with the id index moved in batches of 3 rows, a row per commit: every lookup then meets rows on
// both sides of the index, and batches that run across commits, reorgs and reopenings.
runStoreCompliance('sqlite, small index batches', {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'safechain-sqlite-'));
    dirs.push(dir);
    current = join(dir, 'chain.db');
    return SqliteStore.open({ path: current, indexBatchRows: 3 });
  },
  async reopen() {
    return SqliteStore.open({ path: current, indexBatchRows: 3 });
  },
  async cleanup() {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  },
});
