import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreIOError } from '@safechain/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { WalSyncer } from './wal-sync.js';

describe('WalSyncer', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('resolves callers that ask while a sync runs in the order they asked', async () => {
    dir = await mkdtemp(join(tmpdir(), 'safechain-wal-'));
    await writeFile(join(dir, 'chain.db-wal'), 'frames');
    const syncer = new WalSyncer(join(dir, 'chain.db'));
    const order: number[] = [];
    const first = syncer.sync().then(() => order.push(1));
    const second = syncer.sync().then(() => order.push(2));
    const third = syncer.sync().then(() => order.push(3));
    await Promise.all([first, second, third]);
    expect(order).toEqual([1, 2, 3]);
    await syncer.close();
  });

  it('fails with StoreIOError when the log cannot be synced, and keeps failing after', async () => {
    dir = await mkdtemp(join(tmpdir(), 'safechain-wal-'));
    const syncer = new WalSyncer(join(dir, 'missing.db'));
    await expect(syncer.sync()).rejects.toBeInstanceOf(StoreIOError);
    await writeFile(join(dir, 'missing.db-wal'), 'frames');
    await expect(syncer.sync()).rejects.toThrow(/write-ahead log/);
    await syncer.close();
  });
});
