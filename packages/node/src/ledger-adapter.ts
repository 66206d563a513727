import { toHex, transactionId, type Block, type BlockHeader, type Transaction } from '@safechain/core';
import { MempoolFullError, type BlockTree, type Mempool } from '@safechain/chain';
import type { RetentionFilter } from '@safechain/storage';
import { SeenCache, type BlockVerdict, type ChainTip, type LedgerAdapter, type PeerRef, type TransactionVerdict } from '@safechain/p2p';
import type { KnownValidTransactions } from './verifier.js';

/**
 * Verifications running on the worker pool, by transaction id: a block that arrives while the transactions it
 * holds are still being verified for the mempool (the network hands blocks over without waiting for that) waits for
 * those verdicts instead of verifying the same signatures a second time. A verdict is shared only for the very same
 * payload array (the id does not cover the payload), and forgotten once it is in.
 */
export class InFlightVerifications {
  readonly #running = new Map<string, { readonly payload: Uint8Array | undefined; readonly verdict: Promise<boolean> }>();
  readonly #verify: (txs: readonly Transaction[]) => Promise<readonly boolean[]>;

  constructor(verify: (txs: readonly Transaction[]) => Promise<readonly boolean[]>) {
    this.#verify = verify;
  }

  /** Verdicts for `txs` (ids computed when not given), one verification per transaction not already running. */
  async verify(txs: readonly Transaction[], ids?: readonly Uint8Array[]): Promise<boolean[]> {
    const keys = txs.map((tx, i) => toHex(ids?.[i] ?? transactionId(tx)));
    const verdicts: Promise<boolean>[] = new Array<Promise<boolean>>(txs.length);
    const fresh: Transaction[] = [];
    const freshAt: number[] = [];
    txs.forEach((tx, i) => {
      const running = this.#running.get(keys[i]!);
      if (running !== undefined && running.payload === tx.payload) verdicts[i] = running.verdict;
      else {
        fresh.push(tx);
        freshAt.push(i);
      }
    });
    if (fresh.length > 0) {
      const batch = this.#verify(fresh);
      freshAt.forEach((i, j) => {
        const key = keys[i]!;
        const verdict = batch.then((v) => v[j] === true);
        const entry = { payload: txs[i]!.payload, verdict };
        this.#running.set(key, entry);
        verdicts[i] = verdict;
        const forget = (): void => {
          if (this.#running.get(key) === entry) this.#running.delete(key);
        };
        verdict.then(forget, forget);
      });
    }
    return Promise.all(verdicts);
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
  readonly verify: (txs: readonly Transaction[], ids?: readonly Uint8Array[]) => Promise<readonly boolean[]>;
  /** Which payloads this node keeps: the others are not fetched from peers for the blocks it receives. */
  readonly retention?: RetentionFilter;
  /** A validator's seal for a block another validator is gathering seals for (poa, threshold above one). */
  readonly cosign?: (block: Block) => Promise<Uint8Array | undefined>;
}): LedgerAdapter {
  const { tree, mempool, known, verify, retention, cosign } = parts;
  // Ids of transactions that joined the canonical chain lately: flooded copies arriving after their block.
  const committed = new SeenCache(200_000);
  tree.on('tip:changed', (e) => {
    for (const id of e.included) committed.add(toHex(id));
  });
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
    async acceptTransactions(txs: readonly Transaction[], _from: unknown, ids?: readonly Uint8Array[]): Promise<readonly TransactionVerdict[]> {
      const verdicts: TransactionVerdict[] = new Array<TransactionVerdict>(txs.length).fill('ignored');
      const fresh: Transaction[] = [];
      const freshIds: Uint8Array[] = [];
      const freshIndex: number[] = [];
      txs.forEach((tx, i) => {
        // A record enters the mempool with its payload: a stripped copy (the protocol allows them) would keep a
        // block's full data from full and archive nodes once it took the id's place.
        if (tx.payload === undefined) return;
        const id = ids?.[i] ?? transactionId(tx);
        if (!mempool.has(id) && !committed.has(toHex(id))) {
          fresh.push(tx);
          freshIds.push(id);
          freshIndex.push(i);
        }
      });
      if (fresh.length === 0) return verdicts;
      const valid = await verify(fresh, freshIds);
      const good: Transaction[] = [];
      const goodIds: Uint8Array[] = [];
      const goodIndex: number[] = [];
      fresh.forEach((tx, j) => {
        if (valid[j] === true) {
          good.push(tx);
          goodIds.push(freshIds[j]!);
          goodIndex.push(freshIndex[j]!);
        } else {
          verdicts[freshIndex[j]!] = 'invalid';
        }
      });
      if (good.length === 0) return verdicts;
      try {
        // Held in memory only: the origin keeps each of them durably until a block takes it in, and offers its
        // pending transactions again when a link comes back, so a crash here loses nothing acknowledged, and the
        // network does not write every record into every node's pending set only to write it again with its block.
        const report = await mempool.add(good, { ids: goodIds, durable: false });
        report.outcomes.forEach((o, k) => {
          verdicts[goodIndex[k]!] = o.status === 'added' ? 'accepted' : o.status === 'invalid' ? 'invalid' : 'ignored';
          // The worker checked this very payload array against the signed header: a block that carries it (the
          // network restores stripped payloads from the mempool) need not hash it again.
          if (o.status === 'added') known.remember([o.id], [good[k]!.payload]);
        });
      } catch (error) {
        // A full mempool is backpressure, not the peer's fault: they come again, announced by their origin while
        // they stay pending there, or with their block.
        if (!(error instanceof MempoolFullError)) throw error;
        for (const i of goodIndex) verdicts[i] = 'busy';
      }
      return verdicts;
    },
    ...(retention === undefined ? {} : { wantsPayload: (tx: Transaction): boolean => retention.keeps(tx) }),
    ...(cosign === undefined
      ? {}
      : {
          // Only the proposer itself asks for seals (its key is in the header's extra data): anyone else could make
          // this node verify whole blocks for nothing.
          cosign: async (block: Block, from: PeerRef): Promise<Uint8Array | undefined> =>
            block.header.extraData.length === 32 && toHex(block.header.extraData) === from.key.toLowerCase() ? cosign(block) : undefined,
        }),
    pendingTransactions: (max: number): readonly Transaction[] => mempool.take({ maxCount: Math.max(1, max), maxBytes: 64 * 1024 * 1024 }),
  };
}
