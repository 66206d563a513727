import { join } from 'node:path';
import { MemoryStore, type ChainStore } from '@safechain/storage';
import { SqliteStore } from '@safechain/storage-sqlite';
import { FsStore } from '@safechain/storage-fs';
import type { NodeConfig } from './config.js';

/** Opens the store a configuration names, inside the data folder's `chain/`. */
export async function openStore(config: NodeConfig, dataDir: string): Promise<ChainStore> {
  const maxBytes = config.store.maxBytes ?? undefined;
  const limit = maxBytes !== undefined ? { maxBytes } : {};
  switch (config.store.kind) {
    case 'sqlite':
      return SqliteStore.open({ path: join(dataDir, 'chain', 'chain.sqlite'), ...limit });
    case 'fs':
      return FsStore.open({ dir: join(dataDir, 'chain', 'fs'), ...limit });
    case 'memory':
      return new MemoryStore();
  }
}
