import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreCompliance } from '@safechain/storage/testing';
import { FsStore } from './fs-store.js';

const dirs: string[] = [];
let current = '';

runStoreCompliance('fs', {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'safechain-fs-'));
    dirs.push(dir);
    current = join(dir, 'store');
    return FsStore.open({ dir: current });
  },
  async reopen() {
    return FsStore.open({ dir: current });
  },
  async cleanup() {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  },
});

// The same contract with tiny segments, so commits roll over to new files all the time.
runStoreCompliance('fs with 4 KiB segments', {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'safechain-fs-'));
    dirs.push(dir);
    current = join(dir, 'store');
    return FsStore.open({ dir: current, segmentBytes: 4096 });
  },
  async reopen() {
    return FsStore.open({ dir: current, segmentBytes: 4096 });
  },
  async cleanup() {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  },
}, { modelRuns: 10 });
