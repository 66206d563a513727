import type { Block, BlockHeader, Transaction } from '@safechain/core';

/**
 * The generic store behind the Block Tree (the paper: "a generic interface for storing block headers, merkle trees
 * and transactions; each company can either use the supplied file system database or integrate their own storage
 * solution"). Adapters implement `ChainStore` and prove it by running the compliance suite
 * (`@safechain/storage/testing`).
 *
 * Contract every adapter keeps:
 * - `commit` is atomic and durable: when its promise resolves, everything in it survives a crash (power loss
 *   included, as far as the OS honours fsync); when the process dies before that, none of it is visible.
 * - Stored values are returned as they were given: blocks with their transactions in the stored form (full or
 *   stripped, as the retention filter chose before `commit`), byte for byte.
 * - Lookups by block hash, canonical height and transaction id take near-constant time.
 * - Keys are the 32-byte hashes as given; the store never recomputes them and is not a validator. It checks only what
 *   keeps its own indexes sound (`planCommit` in commit.ts, shared by every adapter): a canonical update leaves no
 *   gap, names stored blocks only, and puts each block at its header's height; a block sent again is ignored (the
 *   first write wins). A commit that fails these checks throws before anything changes.
 * - A transaction id appears at most once on a valid canonical chain; if the chain handed a store one twice, which of
 *   the two `getTransaction` returns is not specified.
 * - Data read back from disk is untrusted: adapters verify checksums and throw StoreCorruptError on damage.
 */

/** A block as the Block Tree knows it. */
export interface StoredBlockInfo {
  readonly hash: Uint8Array;
  readonly header: BlockHeader;
  /** Sum of the work of every block from genesis to this one, inclusive. */
  readonly totalWork: bigint;
}

/** Where a transaction sits on the canonical chain. */
export interface TransactionLocation {
  readonly blockHash: Uint8Array;
  readonly height: number;
  /** Position in the block: the Merkle leaf index. */
  readonly index: number;
}

export interface StoredTransaction extends TransactionLocation {
  readonly id: Uint8Array;
  /** Full or stripped, as stored. */
  readonly transaction: Transaction;
}

/** A transaction waiting in the mempool. */
export interface PendingTransaction {
  readonly id: Uint8Array;
  readonly transaction: Transaction;
}

/** One block to store. */
export interface BlockWrite {
  readonly hash: Uint8Array;
  /** The block, its transactions already shaped by the retention filter (full or stripped). */
  readonly block: Block;
  /** The transaction ids (Merkle leaves), in block order: always all of them, whatever was stripped. */
  readonly ids: readonly Uint8Array[];
  readonly totalWork: bigint;
}

/** A move of the canonical chain: heights from `fromHeight` upward now hold `hashes`, the last being the tip. */
export interface CanonicalUpdate {
  /** The first height that changes: the fork point's height + 1, or the new tip's height on a plain extension. */
  readonly fromHeight: number;
  /** Hashes of the new canonical blocks at `fromHeight`, `fromHeight + 1`, ...; every one already stored. */
  readonly hashes: readonly Uint8Array[];
}

/** Everything one atomic, durable write holds. Any part may be empty. */
export interface Commit {
  readonly blocks?: readonly BlockWrite[];
  /** Applied after `blocks`; canonical entries above the new tip are removed. */
  readonly canonical?: CanonicalUpdate;
  /** Mempool entries to add (durable before a source is acknowledged). */
  readonly pendingAdd?: readonly PendingTransaction[];
  /** Mempool entries to drop (included in a block, or evicted). */
  readonly pendingRemove?: readonly Uint8Array[];
  /** Chain metadata to set (node identity, sequence counters, configuration fingerprints). */
  readonly meta?: readonly (readonly [string, Uint8Array])[];
}

export interface CanonicalTip {
  readonly hash: Uint8Array;
  readonly height: number;
}

export interface ChainStore {
  /** Adapter name for logs and metrics: `memory`, `sqlite`, `fs`. */
  readonly kind: string;

  /**
   * Applies `commit` atomically and durably.
   * @throws StoreClosedError; InvalidArgumentError (malformed commit) and StoreConsistencyError (see above), both
   *   before anything is written; StoreFullError (size limit or disk full; nothing applied); StoreIOError (the disk
   *   failed); StoreCorruptError.
   */
  commit(commit: Commit): Promise<void>;

  hasBlock(hash: Uint8Array): Promise<boolean>;
  getBlockInfo(hash: Uint8Array): Promise<StoredBlockInfo | undefined>;
  /** The block with its transactions in stored form. */
  getBlock(hash: Uint8Array): Promise<Block | undefined>;
  /** All transaction ids of a block, in order (the Merkle leaves), even of stripped transactions. */
  getLeaves(hash: Uint8Array): Promise<readonly Uint8Array[] | undefined>;
  /** Every stored block, fork or canonical, in ascending height (ties in any order), from `fromHeight`. */
  blockInfos(fromHeight?: number): AsyncIterable<StoredBlockInfo>;

  getCanonicalHash(height: number): Promise<Uint8Array | undefined>;
  getTip(): Promise<CanonicalTip | undefined>;
  /** A transaction on the canonical chain, by id. Transactions only on forks are not found. */
  getTransaction(id: Uint8Array): Promise<StoredTransaction | undefined>;
  /**
   * For each id, the height of the canonical block holding it, or undefined: `getTransaction(id)?.height` for many
   * ids at once, without reading or decoding the transactions (checks for duplicates run this for every transaction
   * a node takes in). Optional: `canonicalHeights` in this package falls back to `getTransaction` for stores without it.
   */
  canonicalHeights?(ids: readonly Uint8Array[]): Promise<(number | undefined)[]>;

  /** Every mempool entry, oldest first. Re-adding an entry keeps its place and replaces its transaction. */
  pending(): AsyncIterable<PendingTransaction>;

  getMeta(key: string): Promise<Uint8Array | undefined>;

  /** Bytes the store occupies on disk (0 for memory), for metrics and limits. */
  sizeBytes(): Promise<number>;

  /** Flushes and releases the store. Later calls throw StoreClosedError. Idempotent. */
  close(): Promise<void>;
}
