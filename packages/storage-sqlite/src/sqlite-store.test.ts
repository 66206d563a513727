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
