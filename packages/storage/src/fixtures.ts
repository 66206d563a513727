import {
  blockHash,
  blockTransactionIds,
  buildBlock,
  createTransaction,
  NodeKey,
  sha256,
  stripTransaction,
  utf8,
  type Block,
  type BlockHeader,
  type Transaction,
} from '@safechain/core';
import type { BlockWrite, StoredBlockInfo } from './store.js';

/**
 * Real chains for store tests and benchmarks: transactions signed by a node key, blocks built by `@safechain/core`
 * with true Merkle roots and hash links, so a store filled from here passes `checkStoreIntegrity`. Everything is
 * derived from a seed, so a failing property test replays exactly.
 */

/** The first block timestamp and transaction creation time of every fixture chain. */
export const FIXTURE_EPOCH = 1_700_000_000_000;

/** Where a new block attaches: a block about to be written, a stored one, or `null` for a genesis block. */
export type ParentBlock = BlockWrite | StoredBlockInfo | null;

export interface FixtureBlockOptions {
  /** Defaults to the parent's timestamp + 1000 (genesis: FIXTURE_EPOCH). */
  readonly timestamp?: number;
  /** Makes siblings with the same transactions distinct (different hashes). */
  readonly salt?: number;
  /** Defaults to 1. */
  readonly difficulty?: bigint;
}

/** The BlockWrite of `block`: its hash, transaction ids and `totalWork`. */
export function blockWriteOf(block: Block, totalWork: bigint): BlockWrite {
  return { hash: blockHash(block.header), block, ids: blockTransactionIds(block), totalWork };
}

function parentHeader(parent: BlockWrite | StoredBlockInfo): BlockHeader {
  return 'block' in parent ? parent.block.header : parent.header;
}

/** A signing node and its chain: makes transactions and blocks. */
export class ChainFixture {
  readonly key: NodeKey;
  readonly chainId: Uint8Array;
  #sequence = 0;

  /** `seed` picks the node key and chain id; equal seeds give equal transactions and blocks. */
  constructor(seed: number | string = 1) {
    this.key = NodeKey.fromSeed(sha256(utf8(`safechain fixture key ${seed}`)));
    this.chainId = sha256(utf8(`safechain fixture chain ${seed}`));
  }

  /** The next transaction: a signed record of `payloadBytes` bytes derived from its sequence number. */
  transaction(payloadBytes = 48): Transaction {
    const sequence = this.#sequence++;
    const payload = new Uint8Array(payloadBytes);
    let x = (sequence + 1) * 2654435761;
    for (let i = 0; i < payloadBytes; i++) {
      x = (x ^ (x << 13) ^ (x >>> 17) ^ (x << 5)) >>> 0;
      payload[i] = x & 0xff;
    }
    return createTransaction(
      {
        chainId: this.chainId,
        payload,
        sequence,
        createdAt: FIXTURE_EPOCH + sequence,
        contentType: sequence % 2 === 0 ? 'application/json' : 'text/csv',
        source: `machine-${sequence % 3}`,
        traceCodes: [`batch-${sequence % 5}`],
      },
      this.key,
    );
  }

  /** `count` new transactions; every `strippedEvery`-th one (1-based; 0 for none) in stripped form. */
  transactions(count: number, payloadBytes = 48, strippedEvery = 0): Transaction[] {
    return Array.from({ length: count }, (_, i) => {
      const tx = this.transaction(payloadBytes);
      return strippedEvery > 0 && (i + 1) % strippedEvery === 0 ? stripTransaction(tx) : tx;
    });
  }

  /** A block on `parent` holding `transactions` in order, ready to commit. */
  block(parent: ParentBlock, transactions: readonly Transaction[], options: FixtureBlockOptions = {}): BlockWrite {
    const header = parent === null ? null : parentHeader(parent);
    const salt = options.salt ?? 0;
    const block = buildBlock({
      parent: header,
      transactions,
      timestamp: options.timestamp ?? (header === null ? FIXTURE_EPOCH : header.timestamp + 1000),
      difficulty: options.difficulty ?? 1n,
      extraData: salt === 0 ? new Uint8Array(0) : utf8(`salt ${salt}`),
    });
    const parentWork = parent === null ? 0n : parent.totalWork;
    return blockWriteOf(block, parentWork + block.header.difficulty);
  }

  /** A chain of `length` blocks from genesis, each with `txPerBlock` new transactions. */
  chain(length: number, txPerBlock = 2, payloadBytes = 48): BlockWrite[] {
    const out: BlockWrite[] = [];
    for (let i = 0; i < length; i++) out.push(this.block(out[i - 1] ?? null, this.transactions(txPerBlock, payloadBytes)));
    return out;
  }
}
