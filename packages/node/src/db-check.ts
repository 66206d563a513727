import { blockHash, toHex, type BlockHeader } from '@safechain/core';
import { chainSpecOf, createConsensus } from '@safechain/consensus';
import { checkStoreIntegrity, type IntegrityProgress, type IntegrityProblem } from '@safechain/storage';
import { loadConfig, loadGenesis } from './data-dir.js';
import { openStore } from './stores.js';

/**
 * `safechain db check`: verifies a whole stored chain offline: hash links, Merkle roots, every transaction's
 * signature (stripped ones against their signed headers, full ones with their payloads), and every canonical block's
 * seal under the chain's consensus engine. Reports the first bad block.
 */

export type DbCheckProgress = IntegrityProgress | { readonly phase: 'seals'; readonly done: number; readonly height: number };

export type DbCheckReport =
  | { readonly ok: true; readonly tipHeight: number; readonly blocks: number; readonly transactions: number }
  | { readonly ok: false; readonly problem: IntegrityProblem | { readonly reason: 'bad-seal'; readonly hash: string; readonly height: number; readonly message: string } };

export async function checkDataDir(dataDir: string, onProgress?: (p: DbCheckProgress) => void): Promise<DbCheckReport> {
  const config = await loadConfig(dataDir);
  const genesis = await loadGenesis(dataDir);
  const consensus = createConsensus(chainSpecOf(genesis.header));
  const store = await openStore(config, dataDir);
  try {
    const integrity = await checkStoreIntegrity(store, onProgress, { verifyAllSignatures: true });
    if (!integrity.ok) return { ok: false, problem: integrity.problem };
    const stored0 = await store.getCanonicalHash(0);
    if (stored0 === undefined || toHex(stored0) !== toHex(blockHash(genesis.header))) {
      return { ok: false, problem: { reason: 'hash-mismatch', height: 0, message: 'the stored genesis is not the genesis of this data folder' } };
    }
    // Seals: each canonical block against its ancestors. `now` far ahead: a stored block is never "in the future".
    const window: BlockHeader[] = [genesis.header];
    for (let height = 1; height <= integrity.tipHeight; height++) {
      const hash = (await store.getCanonicalHash(height))!;
      const header = (await store.getBlockInfo(hash))!.header;
      const ancestors = window.slice(-consensus.ancestryDepth).reverse();
      const verdict = consensus.validateHeader(header, ancestors, Number.MAX_SAFE_INTEGER);
      if (verdict.status === 'invalid') {
        return { ok: false, problem: { reason: 'bad-seal', hash: toHex(hash), height, message: `${verdict.reason}: ${verdict.message}` } };
      }
      window.push(header);
      if (window.length > consensus.ancestryDepth + 1) window.shift();
      onProgress?.({ phase: 'seals', done: height, height });
    }
    return integrity;
  } finally {
    await store.close();
  }
}
