import { toHex, transactionId, type Block, type BlockHeader, type Transaction } from '@safechain/core';
import { MempoolFullError, type BlockTree, type Mempool } from '@safechain/chain';
import type { RetentionFilter } from '@safechain/storage';
import type { BlockVerdict, ChainTip, LedgerAdapter, TransactionVerdict } from '@safechain/p2p';
import type { KnownValidTransactions } from './verifier.js';

/** Ids of transactions that joined the canonical chain lately: flooded copies arriving after their block. */
class RecentlyCommitted {
  readonly #ids = new Set<string>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(ids: readonly Uint8Array[]): void {
    for (const id of ids) {
      this.#ids.add(toHex(id));
      if (this.#ids.size > this.#limit) this.#ids.delete(this.#ids.values().next().value!);
    }
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }
}

/**
 * The node's side of the local network: the p2p package reaches the Block Tree and the Mempool only through this.
 * Peers' transactions are verified on the worker pool before they enter the mempool (the mempool itself does not
 * verify: local records are signed by this node). Blocks may overtake the flooded copies of their transactions (the
 * network hands blocks over first): those copies are answered `ignored` without being verified again.
 */
export function createLedgerAdapter(parts: {
  readonly tree: BlockTree;
  readonly mempool: Mempool;
  readonly known: KnownValidTransactions;
  readonly verify: (txs: readonly Transaction[]) => Promise<readonly boolean[]>;
  /** Which payloads this node keeps: the others are not fetched from peers for the blocks it receives. */
  readonly retention?: RetentionFilter;
}): LedgerAdapter {
  const { tree, mempool, known, verify, retention } = parts;
  const committed = new RecentlyCommitted(200_000);
  tree.on('tip:changed', (e) => committed.add(e.included));
  return {
    chainId: tree.chainId,
    tip(): ChainTip {
      const tip = tree.tip;
      return { height: tip.height, hash: tip.hash, totalWork: tip.totalWork };
    },
    async headersFrom(height: number, max: number): Promise<readonly BlockHeader[]> {
      const headers: BlockHeader[] = [];
      for (let h = height; h < height + max; h++) {
        const hash = await tree.getCanonicalHash(h);
        if (hash === undefined) break;
        const header = await tree.getHeader(hash);
        if (header === undefined) break;
        headers.push(header);
      }
      return headers;
    },
    async hasBlock(hash: Uint8Array): Promise<boolean> {
      return (await tree.getBlockInfo(hash)) !== undefined;
    },
    getBlock: (hash: Uint8Array): Promise<Block | undefined> => tree.getBlock(hash),
    async getTransaction(id: Uint8Array): Promise<Transaction | undefined> {
      const pending = mempool.get(id);
      if (pending?.payload !== undefined) return pending;
      const stored = await tree.getTransaction(id);
      return stored?.transaction.payload === undefined ? undefined : stored.transaction;
    },
    async acceptBlock(block: Block): Promise<BlockVerdict> {
      const result = await tree.addBlock(block);
      switch (result.status) {
        case 'canonical':
        case 'fork':
          return 'accepted';
        case 'orphan':
          return 'orphan';
        case 'invalid':
          return 'invalid';
        default:
          return 'ignored';
      }
    },
    async acceptTransactions(txs: readonly Transaction[]): Promise<readonly TransactionVerdict[]> {
      const verdicts: TransactionVerdict[] = new Array<TransactionVerdict>(txs.length).fill('ignored');
      const fresh: Transaction[] = [];
      const freshIndex: number[] = [];
      txs.forEach((tx, i) => {
        const id = transactionId(tx);
        if (!mempool.has(id) && !committed.has(toHex(id))) {
          fresh.push(tx);
          freshIndex.push(i);
        }
      });
      if (fresh.length === 0) return verdicts;
      const valid = await verify(fresh);
      const good: Transaction[] = [];
      const goodIndex: number[] = [];
      fresh.forEach((tx, j) => {
        if (valid[j] === true) {
          good.push(tx);
          goodIndex.push(freshIndex[j]!);
        } else {
          verdicts[freshIndex[j]!] = 'invalid';
        }
      });
      if (good.length === 0) return verdicts;
      try {
        const report = await mempool.add(good);
        report.outcomes.forEach((o, k) => {
          verdicts[goodIndex[k]!] = o.status === 'added' ? 'accepted' : o.status === 'invalid' ? 'invalid' : 'ignored';
          if (o.status === 'added') known.remember([o.id]);
        });
      } catch (error) {
        // A full mempool is backpressure, not the peer's fault: the transactions come again with the block.
        if (!(error instanceof MempoolFullError)) throw error;
      }
      return verdicts;
    },
    ...(retention === undefined ? {} : { wantsPayload: (tx: Transaction): boolean => retention.keeps(tx) }),
    pendingTransactions: (max: number): readonly Transaction[] => mempool.take({ maxCount: Math.max(1, max), maxBytes: 64 * 1024 * 1024 }),
  };
}
