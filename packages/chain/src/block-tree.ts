import {
  assertBlockHeader,
  assertBytes,
  assertTxHeader,
  blockHash,
  checkBlockBody,
  compareBytes,
  createProofBundle,
  equalBytes,
  InvalidArgumentError,
  MAX_BLOCK_TRANSACTIONS,
  MerkleTree,
  toHex,
  verifyBlockSignatures,
  verifyTransaction,
  ZERO_HASH,
  type Block,
  type BlockHeader,
  type ProofBundle,
  type Transaction,
} from '@safechain/core';
import type { Consensus, EquivocationEvidence } from '@safechain/consensus';
import {
  canonicalHeights,
  type BlockWrite,
  type ChainStore,
  type Commit,
  type PendingTransaction,
  type RetentionFilter,
  type StoredBlockInfo,
  type StoredTransaction,
} from '@safechain/storage';
import { ChainStateError, GenesisMismatchError, InvalidGenesisError } from './errors.js';
import { Emitter } from './events.js';
import { Mutex, storeLock } from './lock.js';
import { BlockPool, type HeldBlock } from './pool.js';
import { blockSize } from './size.js';
import type { TransactionVerifier } from './verify.js';

/**
 * The Block Tree (paper §II-B, Figure 5): every valid block this node knows, arranged by parent links, with the
 * canonical chain chosen by the consensus engine's work, forks kept, and orphans held until their parent arrives.
 *
 * Canonical chain rule: the chain whose tip has the most total work (sum of `consensus.work` from genesis to the
 * tip). Between tips of equal total work the one with the lexicographically lower block hash wins, so every node that
 * knows the same blocks picks the same tip whatever order they arrived in. The canonical chain never moves away
 * from a block for which `consensus.isFinal` is true: a heavier branch that would abandon one is stored as a fork
 * and never adopted.
 *
 * Everything arriving through `addBlock` is untrusted. Checks run cheapest first and a bad block is answered with an
 * `invalid` result carrying a stable reason code; `addBlock` throws only when the store or the injected verifier
 * fails, never because of the block.
 *
 * Memory holds the headers of the recent blocks (`recentWindow` heights below the tip, forks included), the orphan
 * and future pools (bounded by count and bytes), and nothing of transactions; everything older is read from the
 * store on demand.
 */

/** The tip of the canonical chain. */
export interface ChainTip {
  readonly hash: Uint8Array;
  readonly height: number;
  readonly header: BlockHeader;
  /** Sum of the work of every block from genesis to the tip. */
  readonly totalWork: bigint;
}

/**
 * Why a block was refused. Stable codes, safe to branch on and to count in metrics:
 * - `malformed`: a header or transaction field has the wrong type or is out of range;
 * - `too-many-transactions`, `too-large`: above the tree's `maxBlockTransactions` / `maxBlockBytes`;
 * - `unexpected-genesis`: a height-0 block that is not this chain's genesis;
 * - `bad-height`: height is not the parent's height + 1;
 * - `tx-count-mismatch`, `merkle-root-mismatch`: the body does not match the header;
 * - `duplicate-in-block`: the same transaction twice in the block;
 * - `wrong-chain`: a transaction signed for another chain (another genesis hash);
 * - `consensus`: the consensus engine refused the header (`consensusReason` says why);
 * - `duplicate-transaction`: a transaction already in the block's own ancestry (see `addBlock`);
 * - `bad-transaction-signature`: a transaction's signature does not verify, or its payload does not match the
 *   signed payload hash.
 */
export type InvalidBlockReason =
  | 'malformed'
  | 'too-many-transactions'
  | 'too-large'
  | 'unexpected-genesis'
  | 'bad-height'
  | 'tx-count-mismatch'
  | 'merkle-root-mismatch'
  | 'duplicate-in-block'
  | 'wrong-chain'
  | 'consensus'
  | 'duplicate-transaction'
  | 'bad-transaction-signature';

/** A move of the canonical chain away from blocks it held. */
export interface ReorgEvent {
  /** The last block both chains share. */
  readonly forkPoint: { readonly hash: Uint8Array; readonly height: number };
  /** Blocks that left the canonical chain, ascending height. */
  readonly abandoned: readonly StoredBlockInfo[];
  /** Blocks that joined it, ascending height; the last is the new tip. */
  readonly adopted: readonly StoredBlockInfo[];
  /**
   * Transactions of abandoned blocks that are in no adopted block, in chain order, as stored (a transaction the
   * retention filter stripped comes back stripped). They were put back into the store's pending set in the same
   * commit that moved the chain; a Mempool following the tree takes them back in memory.
   */
  readonly returned: readonly PendingTransaction[];
}

/**
 * `checkCandidate`'s answer: whether this node may add its seal to a block that is still gathering seals. `reason` is
 * an `InvalidBlockReason`, `not-on-tip` (the block does not extend this node's canonical tip), `duplicate` (the block
 * is already stored) or `future` (its timestamp is ahead of this node's clock).
 */
export type CandidateVerdict =
  | { readonly valid: true; readonly hash: Uint8Array }
  | { readonly valid: false; readonly reason: InvalidBlockReason | 'not-on-tip' | 'duplicate' | 'future'; readonly message: string };

export type AddBlockResult =
  | {
      readonly status: 'canonical';
      readonly hash: Uint8Array;
      readonly height: number;
      readonly totalWork: bigint;
      /** Set when adopting the block moved the chain away from blocks it held. */
      readonly reorg: ReorgEvent | null;
    }
  | {
      readonly status: 'fork';
      readonly hash: Uint8Array;
      readonly height: number;
      readonly totalWork: bigint;
      /** True when the block's branch would win on work but would abandon a final block. */
      readonly finalityBlocked: boolean;
    }
  | {
      readonly status: 'orphan';
      readonly hash: Uint8Array;
      readonly height: number;
      readonly parentHash: Uint8Array;
      /** False when the block alone exceeds the orphan pool's bounds and was dropped. */
      readonly held: boolean;
    }
  | {
      readonly status: 'future';
      readonly hash: Uint8Array;
      readonly height: number;
      /** When the consensus engine will judge it again (`retryFuture`). */
      readonly retryAt: number;
      /** False when the block alone exceeds the pool's bounds and was dropped. */
      readonly held: boolean;
    }
  | { readonly status: 'duplicate'; readonly hash: Uint8Array; readonly height: number }
  | {
      readonly status: 'invalid';
      /** Null when the header is too malformed to hash. */
      readonly hash: Uint8Array | null;
      readonly height: number | null;
      readonly reason: InvalidBlockReason;
      readonly message: string;
      /** The consensus engine's own reason, for `consensus`. */
      readonly consensusReason?: string;
    };

export type InvalidBlockResult = Extract<AddBlockResult, { status: 'invalid' }>;

export interface BlockAddedEvent {
  readonly hash: Uint8Array;
  readonly height: number;
  readonly status: 'canonical' | 'fork';
  /** The block as stored (after the retention filter). */
  readonly block: Block;
  readonly totalWork: bigint;
}

export interface TipChangedEvent {
  readonly previous: ChainTip;
  readonly tip: ChainTip;
  /** Ids of every transaction in the blocks that joined the canonical chain: no longer pending. */
  readonly included: readonly Uint8Array[];
  /** Transactions of abandoned blocks that went back to the pending set (empty unless a reorg happened). */
  readonly returned: readonly PendingTransaction[];
}

export interface BlockTreeEvents {
  /** A valid block was stored, canonical or on a fork. */
  'block:added': BlockAddedEvent;
  /** The canonical tip moved (extension or reorg). The Mempool follows this event. */
  'tip:changed': TipChangedEvent;
  /** The canonical chain abandoned blocks. Emitted before the matching `tip:changed`. */
  reorg: ReorgEvent;
  /** A block whose parent is unknown is held; `evicted` lists orphans pushed out to make room. */
  'orphan:added': {
    readonly hash: Uint8Array;
    readonly height: number;
    readonly parentHash: Uint8Array;
    readonly evicted: readonly Uint8Array[];
  };
  /** The consensus engine judged a block early; it is held until `retryAt`. */
  'future:added': { readonly hash: Uint8Array; readonly height: number; readonly retryAt: number };
  /** A block was refused. */
  'block:rejected': InvalidBlockResult;
  /** The consensus engine found evidence of misbehaviour (a validator signing two blocks at one height). */
  equivocation: EquivocationEvidence;
}

export interface BlockTreeOptions {
  readonly store: ChainStore;
  readonly consensus: Consensus;
  /** This chain's genesis block: stored into an empty store, compared with the stored one otherwise. */
  readonly genesis: Block;
  /** Shapes blocks before they are stored (stripping transactions this node does not keep). Default: keep all. */
  readonly retention?: RetentionFilter;
  /** The local clock in milliseconds, for the consensus engine's timestamp rules. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Verifies transaction signatures in bulk (worker threads, say). Default: `verifyTransaction` inline, which also
   * names the failing check in the rejection message.
   */
  readonly verifyTransactions?: TransactionVerifier;
  /** Orphans held at most. Default 1024. The future-block pool has the same bounds, counted separately. */
  readonly maxOrphans?: number;
  /** Bytes of orphans held at most. Default 64 MiB. */
  readonly maxOrphanBytes?: number;
  /** Largest block accepted, in encoded bytes. Default 256 MiB. */
  readonly maxBlockBytes?: number;
  /** Most transactions in a block accepted. Default and maximum: core's MAX_BLOCK_TRANSACTIONS. */
  readonly maxBlockTransactions?: number;
  /** Heights below the tip whose headers stay in memory. Default 1024; at least the engine's ancestry depth. */
  readonly recentWindow?: number;
}

interface TreeNode {
  readonly hash: Uint8Array;
  readonly key: string;
  readonly header: BlockHeader;
  readonly totalWork: bigint;
}

interface Ancestry {
  /** The highest block of the parent's ancestry that is canonical. */
  readonly forkPoint: TreeNode;
  /** Blocks above the fork point up to and including the parent, ascending. Empty when the parent is canonical. */
  readonly branch: readonly TreeNode[];
  /** Transaction ids of each branch block, in `branch` order. */
  readonly branchIds: readonly (readonly Uint8Array[])[];
}

const DEFAULT_MAX_ORPHANS = 1024;
const DEFAULT_MAX_ORPHAN_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_BLOCK_BYTES = 256 * 1024 * 1024;
const DEFAULT_RECENT_WINDOW = 1024;
const MAX_EQUIVOCATIONS_KEPT = 1024;
const MERKLE_CACHE_SIZE = 8;

function positiveInteger(value: unknown, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(`${name}: expected an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}

/** True when `a` is a better tip than `b`: more total work, or equal work and the lower hash. */
function betterTip(a: TreeNode, b: TreeNode): boolean {
  if (a.totalWork !== b.totalWork) return a.totalWork > b.totalWork;
  return compareBytes(a.hash, b.hash) < 0;
}

function info(node: TreeNode): StoredBlockInfo {
  return { hash: node.hash, header: node.header, totalWork: node.totalWork };
}

function tipOf(node: TreeNode): ChainTip {
  return { hash: node.hash, height: node.header.height, header: node.header, totalWork: node.totalWork };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class BlockTree extends Emitter<BlockTreeEvents> {
  readonly #store: ChainStore;
  readonly #consensus: Consensus;
  readonly #retention: RetentionFilter | undefined;
  readonly #now: () => number;
  readonly #verify: TransactionVerifier | undefined;
  readonly #maxBlockBytes: number;
  readonly #maxBlockTransactions: number;
  readonly #window: number;
  readonly #genesis: Block;
  readonly #genesisHash: Uint8Array;
  readonly #orphans: BlockPool;
  readonly #future: BlockPool;
  readonly #mutex = new Mutex();
  /** True while `checkCandidate` runs (under the mutex): its rejections are answers, not events. */
  #quiet = false;
  readonly #nodes = new Map<string, TreeNode>();
  readonly #canonical = new Map<number, string>();
  readonly #equivocations: EquivocationEvidence[] = [];
  readonly #merkleCache = new Map<string, MerkleTree>();
  #tip!: TreeNode;
  /** Height of the highest canonical block known to be final; -1 when none is. */
  #finalHeight = -1;
  #prunedAt = 0;

  private constructor(options: BlockTreeOptions) {
    super();
    this.#store = options.store;
    this.#consensus = options.consensus;
    this.#retention = options.retention;
    this.#now = options.now ?? Date.now;
    this.#verify = options.verifyTransactions;
    this.#maxBlockBytes = positiveInteger(options.maxBlockBytes, 'maxBlockBytes', DEFAULT_MAX_BLOCK_BYTES);
    this.#maxBlockTransactions = positiveInteger(
      options.maxBlockTransactions,
      'maxBlockTransactions',
      MAX_BLOCK_TRANSACTIONS,
      MAX_BLOCK_TRANSACTIONS,
    );
    const window = positiveInteger(options.recentWindow, 'recentWindow', DEFAULT_RECENT_WINDOW);
    this.#window = Math.max(window, options.consensus.ancestryDepth + 1);
    const maxOrphans = positiveInteger(options.maxOrphans, 'maxOrphans', DEFAULT_MAX_ORPHANS);
    const maxOrphanBytes = positiveInteger(options.maxOrphanBytes, 'maxOrphanBytes', DEFAULT_MAX_ORPHAN_BYTES);
    this.#orphans = new BlockPool(maxOrphans, maxOrphanBytes);
    this.#future = new BlockPool(maxOrphans, maxOrphanBytes);
    this.#genesis = options.genesis;
    this.#genesisHash = blockHash(options.genesis.header);
  }

  /**
   * Opens the tree over `store`. On an empty store it validates and stores `genesis`; otherwise it checks that the
   * stored genesis is `genesis` and loads the headers of the recent heights (forks included) and the canonical tip,
   * without reading transactions.
   * @throws InvalidArgumentError on bad options; InvalidGenesisError when `genesis` is not a genesis block;
   *   GenesisMismatchError when the store holds another chain; ChainStateError when the stored chain is broken;
   *   the store's errors.
   */
  static async open(options: BlockTreeOptions): Promise<BlockTree> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options: expected an object');
    if (typeof options.store?.commit !== 'function') throw new InvalidArgumentError('store: expected a ChainStore');
    if (typeof options.consensus?.validateHeader !== 'function') {
      throw new InvalidArgumentError('consensus: expected a Consensus engine');
    }
    if (typeof options.genesis !== 'object' || options.genesis === null) {
      throw new InvalidArgumentError('genesis: expected a Block');
    }
    try {
      assertBlockHeader(options.genesis.header);
    } catch (error) {
      throw new InvalidGenesisError(`genesis header: ${errorMessage(error)}`, { cause: error });
    }
    const tree = new BlockTree(options);
    await tree.#load();
    return tree;
  }

  async #load(): Promise<void> {
    const tip = await this.#store.getTip();
    if (tip === undefined) {
      await this.#storeGenesis();
      return;
    }
    const storedGenesis = await this.#store.getCanonicalHash(0);
    if (storedGenesis === undefined || !equalBytes(storedGenesis, this.#genesisHash)) {
      throw new GenesisMismatchError(
        `the store holds chain ${storedGenesis === undefined ? '(none)' : toHex(storedGenesis)}, ` +
          `this node is configured for ${toHex(this.#genesisHash)}`,
      );
    }
    const floor = Math.max(0, tip.height - this.#window);
    for await (const stored of this.#store.blockInfos(floor)) {
      const key = toHex(stored.hash);
      this.#nodes.set(key, { hash: stored.hash, key, header: stored.header, totalWork: stored.totalWork });
    }
    const tipNode = this.#nodes.get(toHex(tip.hash));
    if (tipNode === undefined) throw new ChainStateError(`the canonical tip ${toHex(tip.hash)} is not stored`);
    let node: TreeNode | undefined = tipNode;
    while (node !== undefined) {
      this.#canonical.set(node.header.height, node.key);
      if (this.#finalHeight < 0 && this.#consensus.isFinal(node.header)) this.#finalHeight = node.header.height;
      if (node.header.height === floor) break;
      const parentKey = toHex(node.header.previousHash);
      node = this.#nodes.get(parentKey);
      if (node === undefined) throw new ChainStateError(`canonical block ${parentKey} is missing from the store`);
    }
    this.#tip = tipNode;
    this.#prunedAt = tipNode.header.height;
    // Warm the engine's memory of recent headers, so equivocation across a restart is still detected.
    const recent = [...this.#nodes.values()].sort((a, b) => a.header.height - b.header.height);
    for (const n of recent) if (n.header.height > 0) this.#keepEvidence(this.#consensus.observe(n.header));
  }

  async #storeGenesis(): Promise<void> {
    const genesis = this.#genesis;
    const header = genesis.header;
    if (header.height !== 0 || !equalBytes(header.previousHash, ZERO_HASH)) {
      throw new InvalidGenesisError('genesis must have height 0 and a previous hash of 32 zero bytes');
    }
    if (!Array.isArray(genesis.data)) throw new InvalidGenesisError('genesis data: expected an array of transactions');
    const body = checkBlockBody(genesis);
    if (!body.valid) throw new InvalidGenesisError(`genesis body: ${body.message}`);
    const node: TreeNode = {
      hash: this.#genesisHash,
      key: toHex(this.#genesisHash),
      header,
      totalWork: this.#consensus.work(header),
    };
    const write: BlockWrite = {
      hash: node.hash,
      block: this.#shape(genesis),
      ids: body.ids,
      totalWork: node.totalWork,
    };
    await storeLock(this.#store).run(() =>
      this.#store.commit({ blocks: [write], canonical: { fromHeight: 0, hashes: [node.hash] } }),
    );
    this.#nodes.set(node.key, node);
    this.#canonical.set(0, node.key);
    this.#tip = node;
    if (this.#consensus.isFinal(header)) this.#finalHeight = 0;
  }

  /** Genesis hash: the chain id every transaction of this chain names. */
  get genesisHash(): Uint8Array {
    return this.#genesisHash.slice();
  }

  /** Same as `genesisHash`: the id transactions carry in `header.chainId`. */
  get chainId(): Uint8Array {
    return this.#genesisHash.slice();
  }

  /** The canonical tip. */
  get tip(): ChainTip {
    return tipOf(this.#tip);
  }

  /** Total work of the canonical chain. */
  get totalWork(): bigint {
    return this.#tip.totalWork;
  }

  /** Orphans held, waiting for their parents. */
  get orphanCount(): number {
    return this.#orphans.size;
  }

  /** Future blocks held, waiting for their time. */
  get futureCount(): number {
    return this.#future.size;
  }

  /** Equivocation evidence seen since open (the most recent 1024). */
  get equivocations(): readonly EquivocationEvidence[] {
    return [...this.#equivocations];
  }

  /** When the earliest held future block is due; drive `retryFuture` with a timer set to it. */
  nextFutureRetryAt(): number | undefined {
    return this.#future.earliestRetryAt();
  }

  /**
   * Adds a block received from a peer or made by this node's producer. Checks, cheapest first: field types and
   * limits; already known (`duplicate`); height 0 that is not genesis; parent known (else held as `orphan`, and
   * tried again when the parent is added); height = parent + 1; transaction count, no transaction twice, Merkle
   * root; every transaction of this chain; the consensus engine's verdict on the header with its ancestors (a
   * `future` verdict holds the block for `retryFuture`); no transaction already in the block's ancestry; every
   * transaction's signature (stripped ones included).
   *
   * "Already in the ancestry" means on the canonical chain at or below the fork point, or in a fork block between
   * the fork point and the parent. A transaction canonical only above the fork point is not in this block's history:
   * competing blocks that include the same pending transactions are both valid, which is what lets a fork replace
   * the chain at all.
   *
   * Adoption: one atomic store commit holds the block, the canonical move, the removal of every included
   * transaction from the pending set and, on a reorg, the return of abandoned transactions to it.
   *
   * Calls run one at a time in call order. Never throws for a bad block.
   * @throws the store's errors (nothing of the block is then stored or emitted), and a rejection of the injected
   *   `verifyTransactions`.
   */
  addBlock(block: Block): Promise<AddBlockResult> {
    return this.#mutex.run(() => this.#addWithOrphans(block));
  }

  /**
   * Checks a block that is still gathering seals (proof of authority with a threshold above one) before this node
   * adds its own, without storing it: it must extend the canonical tip and pass every rule `addBlock` applies, except
   * that too few seals is accepted (the seals it has must be valid). Transactions may come stripped: their
   * signatures and ids are checked here, their payloads when the sealed block arrives. Rejections are not emitted as
   * `block:rejected`. Runs in turn with `addBlock`.
   * @throws as `addBlock`.
   */
  checkCandidate(block: Block): Promise<CandidateVerdict> {
    return this.#mutex.run(async () => {
      this.#quiet = true;
      try {
        return await this.#checkCandidate(block);
      } finally {
        this.#quiet = false;
      }
    });
  }

  async #checkCandidate(block: Block): Promise<CandidateVerdict> {
    const no = (reason: InvalidBlockReason | 'not-on-tip' | 'duplicate' | 'future', message: string): CandidateVerdict => ({ valid: false, reason, message });
    const structure = this.#checkStructure(block);
    if ('status' in structure) return no(structure.reason, structure.message);
    const { hash } = structure;
    const header = block.header;
    if (await this.#store.hasBlock(hash)) return no('duplicate', 'the block is already stored');
    const parent = this.#tip;
    if (!equalBytes(header.previousHash, parent.hash) || header.height !== parent.header.height + 1) {
      return no('not-on-tip', `height ${header.height} on ${toHex(header.previousHash)}; the tip is ${parent.header.height} ${parent.key}`);
    }
    const judged = await this.#judge(block, hash, parent, true);
    if (judged.status === 'invalid') return no(judged.reason, judged.message);
    if (judged.status === 'future') return no('future', `timestamp ${header.timestamp} is ahead of this node's clock`);
    return { valid: true, hash };
  }

  /**
   * Judges every held future block whose time has come again; returns their results in order of arrival.
   * @throws as `addBlock`.
   */
  retryFuture(): Promise<AddBlockResult[]> {
    return this.#mutex.run(async () => {
      const results: AddBlockResult[] = [];
      for (const held of this.#future.takeDue(this.#now())) results.push(await this.#addWithOrphans(held.block));
      return results;
    });
  }

  async #addWithOrphans(block: Block): Promise<AddBlockResult> {
    const result = await this.#add(block);
    if (result.status !== 'canonical' && result.status !== 'fork') return result;
    const queue: string[] = [toHex(result.hash)];
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      for (const child of this.#orphans.takeChildren(key)) {
        const childResult = await this.#add(child.block);
        if (childResult.status === 'canonical' || childResult.status === 'fork') queue.push(child.key);
      }
    }
    return result;
  }

  #reject(
    hash: Uint8Array | null,
    height: number | null,
    reason: InvalidBlockReason,
    message: string,
    consensusReason?: string,
  ): InvalidBlockResult {
    const result: InvalidBlockResult =
      consensusReason === undefined
        ? { status: 'invalid', hash, height, reason, message }
        : { status: 'invalid', hash, height, reason, message, consensusReason };
    if (!this.#quiet) this.emit('block:rejected', result);
    return result;
  }

  /**
   * Field types and limits, before anything else is computed. Returns a rejection, or the block's hash and encoded
   * size.
   */
  #checkStructure(block: Block): InvalidBlockResult | { readonly hash: Uint8Array; readonly bytes: number } {
    if (typeof block !== 'object' || block === null) return this.#reject(null, null, 'malformed', 'block: expected an object');
    try {
      assertBlockHeader(block.header);
    } catch (error) {
      return this.#reject(null, null, 'malformed', `header: ${errorMessage(error)}`);
    }
    const height = block.header.height;
    const hash = blockHash(block.header);
    if (!Array.isArray(block.data)) return this.#reject(hash, height, 'malformed', 'data: expected an array of transactions');
    if (block.data.length > this.#maxBlockTransactions) {
      return this.#reject(
        hash,
        height,
        'too-many-transactions',
        `${block.data.length} transactions; at most ${this.#maxBlockTransactions} accepted`,
      );
    }
    for (let i = 0; i < block.data.length; i++) {
      const tx: Transaction = block.data[i]!;
      try {
        if (typeof tx !== 'object' || tx === null) throw new InvalidArgumentError('expected an object');
        assertTxHeader(tx.header);
        assertBytes(tx.signature, 'signature', 64);
        if (tx.payload !== undefined) assertBytes(tx.payload, 'payload', tx.header.payloadSize);
      } catch (error) {
        return this.#reject(hash, height, 'malformed', `transaction ${i}: ${errorMessage(error)}`);
      }
    }
    const bytes = blockSize(block);
    if (bytes > this.#maxBlockBytes) {
      return this.#reject(hash, height, 'too-large', `${bytes} bytes; at most ${this.#maxBlockBytes} accepted`);
    }
    return { hash, bytes };
  }

  async #add(block: Block): Promise<AddBlockResult> {
    const structure = this.#checkStructure(block);
    if ('status' in structure) return structure;
    const { hash, bytes } = structure;
    const header = block.header;
    const height = header.height;
    const key = toHex(hash);

    if (this.#nodes.has(key) || this.#orphans.has(key) || this.#future.has(key) || (await this.#store.hasBlock(hash))) {
      return { status: 'duplicate', hash, height };
    }
    if (height === 0) return this.#reject(hash, height, 'unexpected-genesis', 'a height-0 block that is not this chain\'s genesis');

    const parent = await this.#node(header.previousHash);
    if (parent === undefined) return this.#holdOrphan(block, hash, key, bytes);
    if (height !== parent.header.height + 1) {
      return this.#reject(hash, height, 'bad-height', `height ${height} on a parent of height ${parent.header.height}`);
    }

    const judged = await this.#judge(block, hash, parent, false);
    if (judged.status === 'invalid') return judged;
    if (judged.status === 'future') return this.#holdFuture(block, hash, key, bytes, judged.retryAt);
    return this.#accept(block, hash, key, parent, judged.ids, judged.ancestry);
  }

  /**
   * The rules of a block on a known parent, cheapest first: body (count, duplicates within, Merkle root), chain of
   * every transaction, the engine's verdict on the header, no transaction already in the ancestry, signatures. With
   * `sealsPending` (a block still gathering seals) too few seals passes, the seals it has being verified instead.
   */
  async #judge(
    block: Block,
    hash: Uint8Array,
    parent: TreeNode,
    sealsPending: boolean,
  ): Promise<InvalidBlockResult | { readonly status: 'future'; readonly retryAt: number } | { readonly status: 'valid'; readonly ids: readonly Uint8Array[]; readonly ancestry: Ancestry }> {
    const header = block.header;
    const height = header.height;
    const body = checkBlockBody(block);
    if (!body.valid) {
      const reason = body.reason === 'duplicate-transaction' ? 'duplicate-in-block' : body.reason;
      return this.#reject(hash, height, reason, body.message);
    }
    for (let i = 0; i < block.data.length; i++) {
      if (!equalBytes(block.data[i]!.header.chainId, this.#genesisHash)) {
        return this.#reject(hash, height, 'wrong-chain', `transaction ${i} belongs to chain ${toHex(block.data[i]!.header.chainId)}`);
      }
    }

    const ancestors = await this.#ancestorsFrom(parent, Math.min(this.#consensus.ancestryDepth, parent.header.height + 1));
    let verdict;
    try {
      verdict = this.#consensus.validateHeader(header, ancestors, this.#now());
    } catch (error) {
      // The interface says engines never throw on a decoded header; if one does, refuse the block, not the node.
      return this.#reject(hash, height, 'consensus', `consensus engine failed: ${errorMessage(error)}`, 'engine-error');
    }
    if (verdict.status === 'future') return { status: 'future', retryAt: verdict.retryAt };
    if (verdict.status === 'invalid') {
      // The engine stops at too few seals before it checks them: a block still gathering seals has them checked here.
      if (!sealsPending || verdict.reason !== 'below-threshold') return this.#reject(hash, height, 'consensus', verdict.message, verdict.reason);
      const seals = verifyBlockSignatures(header);
      if (!seals.valid) return this.#reject(hash, height, 'consensus', seals.message, 'bad-seal');
    }

    const ancestry = await this.#ancestry(parent);
    const duplicate = await this.#findDuplicate(body.ids, ancestry);
    if (duplicate !== undefined) {
      return this.#reject(hash, height, 'duplicate-transaction', `transaction ${duplicate} is already in this block's chain`);
    }

    const signatures = await this.#verifySignatures(block.data, body.ids);
    if (signatures !== undefined) return this.#reject(hash, height, 'bad-transaction-signature', signatures);
    return { status: 'valid', ids: body.ids, ancestry };
  }

  #holdOrphan(block: Block, hash: Uint8Array, key: string, bytes: number): AddBlockResult {
    const height = block.header.height;
    const parentHash = block.header.previousHash;
    const entry: HeldBlock = { hash, key, parentKey: toHex(parentHash), block, bytes, retryAt: 0 };
    const evicted = this.#orphans.add(entry);
    if (evicted === null) return { status: 'orphan', hash, height, parentHash, held: false };
    this.emit('orphan:added', { hash, height, parentHash, evicted: evicted.map((e) => e.hash) });
    return { status: 'orphan', hash, height, parentHash, held: true };
  }

  #holdFuture(block: Block, hash: Uint8Array, key: string, bytes: number, retryAt: number): AddBlockResult {
    const height = block.header.height;
    const entry: HeldBlock = { hash, key, parentKey: toHex(block.header.previousHash), block, bytes, retryAt };
    const held = this.#future.add(entry) !== null;
    if (held) this.emit('future:added', { hash, height, retryAt });
    return { status: 'future', hash, height, retryAt, held };
  }

  /** Returns a message naming the first failing transaction, or undefined when all verify. */
  async #verifySignatures(transactions: readonly Transaction[], ids: readonly Uint8Array[]): Promise<string | undefined> {
    if (transactions.length === 0) return undefined;
    if (this.#verify === undefined) {
      for (let i = 0; i < transactions.length; i++) {
        const verdict = verifyTransaction(transactions[i]!);
        if (!verdict.valid) return `transaction ${i}: ${verdict.message}`;
      }
      return undefined;
    }
    const verdicts = await this.#verify(transactions, ids);
    if (!Array.isArray(verdicts) || verdicts.length !== transactions.length) {
      throw new InvalidArgumentError(
        `verifyTransactions: expected ${transactions.length} verdicts, got ${Array.isArray(verdicts) ? verdicts.length : typeof verdicts}`,
      );
    }
    const failed = verdicts.indexOf(false);
    return failed < 0 ? undefined : `transaction ${failed}: signature or payload does not verify`;
  }

  /** The hex id of the first transaction already in the ancestry described, if any. */
  async #findDuplicate(ids: readonly Uint8Array[], ancestry: Ancestry): Promise<string | undefined> {
    let onBranch: Set<string> | undefined;
    if (ancestry.branch.length > 0) {
      onBranch = new Set();
      for (const blockIds of ancestry.branchIds) for (const id of blockIds) onBranch.add(toHex(id));
    }
    const forkHeight = ancestry.forkPoint.header.height;
    if (onBranch !== undefined) for (const id of ids) if (onBranch.has(toHex(id))) return toHex(id);
    const heights = await canonicalHeights(this.#store, ids);
    const at = heights.findIndex((height) => height !== undefined && height <= forkHeight);
    return at < 0 ? undefined : toHex(ids[at]!);
  }

  async #accept(
    block: Block,
    hash: Uint8Array,
    key: string,
    parent: TreeNode,
    ids: readonly Uint8Array[],
    ancestry: Ancestry,
  ): Promise<AddBlockResult> {
    const header = block.header;
    const node: TreeNode = { hash, key, header, totalWork: parent.totalWork + this.#consensus.work(header) };
    const stored = this.#shape(block);
    const write: BlockWrite = { hash, block: stored, ids, totalWork: node.totalWork };
    const previous = this.#tip;

    let commit: Commit;
    let adopted: TreeNode[] = [];
    let included: Uint8Array[] = [];
    let reorg: ReorgEvent | null = null;
    let finalityBlocked = false;

    if (parent.key === previous.key) {
      adopted = [node];
      included = [...ids];
      commit = { blocks: [write], canonical: { fromHeight: header.height, hashes: [hash] }, pendingRemove: included };
    } else if (betterTip(node, previous)) {
      const plan = await this.#planReorg(node, ids, ancestry);
      if (plan === null) {
        finalityBlocked = true;
        commit = { blocks: [write] };
      } else {
        adopted = [...ancestry.branch, node];
        included = plan.included;
        reorg = plan.event;
        commit = {
          blocks: [write],
          canonical: { fromHeight: ancestry.forkPoint.header.height + 1, hashes: adopted.map((n) => n.hash) },
          pendingRemove: included,
          pendingAdd: plan.event.returned,
        };
      }
    } else {
      commit = { blocks: [write] };
    }

    const canonical = adopted.length > 0;
    await storeLock(this.#store).run(async () => {
      await this.#store.commit(commit);
      // Committed: now the in-memory view follows, and listeners (the Mempool) see the change before any other
      // writer of the store gets the lock.
      this.#nodes.set(key, node);
      if (canonical) {
        for (let h = previous.header.height; h > node.header.height; h--) this.#canonical.delete(h);
        for (const n of adopted) {
          this.#canonical.set(n.header.height, n.key);
          if (n.header.height > this.#finalHeight && this.#consensus.isFinal(n.header)) this.#finalHeight = n.header.height;
        }
        this.#tip = node;
      }
      this.emit('block:added', { hash, height: header.height, status: canonical ? 'canonical' : 'fork', block: stored, totalWork: node.totalWork });
      if (reorg !== null) this.emit('reorg', reorg);
      if (canonical) {
        this.emit('tip:changed', { previous: tipOf(previous), tip: tipOf(node), included, returned: reorg?.returned ?? [] });
      }
    });
    this.#keepEvidence(this.#consensus.observe(header));
    if (canonical) this.#prune();

    return canonical
      ? { status: 'canonical', hash, height: header.height, totalWork: node.totalWork, reorg }
      : { status: 'fork', hash, height: header.height, totalWork: node.totalWork, finalityBlocked };
  }

  /**
   * What adopting `node` (better than the tip, not its child) takes: the blocks it abandons, the transactions that
   * go back to pending. Null when an abandoned block is final.
   */
  async #planReorg(
    node: TreeNode,
    ids: readonly Uint8Array[],
    ancestry: Ancestry,
  ): Promise<{ readonly event: ReorgEvent; readonly included: Uint8Array[] } | null> {
    const forkHeight = ancestry.forkPoint.header.height;
    if (forkHeight < this.#finalHeight) return null;
    const abandoned: TreeNode[] = [];
    for (let h = forkHeight + 1; h <= this.#tip.header.height; h++) {
      const hash = await this.#canonicalHashAt(h);
      const n = hash === undefined ? undefined : await this.#node(hash);
      if (n === undefined) throw new ChainStateError(`canonical block at height ${h} is missing from the store`);
      if (this.#consensus.isFinal(n.header)) return null;
      abandoned.push(n);
    }
    const included: Uint8Array[] = [];
    for (const blockIds of ancestry.branchIds) included.push(...blockIds);
    included.push(...ids);
    const adoptedIds = new Set(included.map(toHex));
    const returned: PendingTransaction[] = [];
    for (const n of abandoned) {
      const [stored, leaves] = await Promise.all([this.#store.getBlock(n.hash), this.#store.getLeaves(n.hash)]);
      if (stored === undefined || leaves === undefined) throw new ChainStateError(`block ${n.key} is missing from the store`);
      leaves.forEach((id, i) => {
        const transaction = stored.data[i];
        if (transaction !== undefined && !adoptedIds.has(toHex(id))) returned.push({ id, transaction });
      });
    }
    return {
      included,
      event: {
        forkPoint: { hash: ancestry.forkPoint.hash, height: forkHeight },
        abandoned: abandoned.map(info),
        adopted: [...ancestry.branch, node].map(info),
        returned,
      },
    };
  }

  #shape(block: Block): Block {
    return this.#retention === undefined ? block : this.#retention.apply(block);
  }

  #keepEvidence(evidence: readonly EquivocationEvidence[]): void {
    for (const e of evidence) {
      this.#equivocations.push(e);
      if (this.#equivocations.length > MAX_EQUIVOCATIONS_KEPT) this.#equivocations.shift();
      this.emit('equivocation', e);
    }
  }

  /** Drops headers that fell out of the recent window; they stay readable from the store. */
  #prune(): void {
    const height = this.#tip.header.height;
    if (height - this.#prunedAt < Math.max(16, this.#window >> 3)) return;
    this.#prunedAt = height;
    const floor = height - this.#window;
    for (const [key, n] of this.#nodes) if (n.header.height < floor && key !== this.#tip.key) this.#nodes.delete(key);
    for (const h of this.#canonical.keys()) if (h < floor) this.#canonical.delete(h);
  }

  async #node(hash: Uint8Array): Promise<TreeNode | undefined> {
    const key = toHex(hash);
    const cached = this.#nodes.get(key);
    if (cached !== undefined) return cached;
    const stored = await this.#store.getBlockInfo(hash);
    if (stored === undefined) return undefined;
    const node: TreeNode = { hash: stored.hash, key, header: stored.header, totalWork: stored.totalWork };
    if (node.header.height >= this.#tip.header.height - this.#window) this.#nodes.set(key, node);
    return node;
  }

  async #canonicalHashAt(height: number): Promise<Uint8Array | undefined> {
    const key = this.#canonical.get(height);
    if (key !== undefined) return this.#nodes.get(key)?.hash ?? this.#store.getCanonicalHash(height);
    if (height > this.#tip.header.height) return undefined;
    return this.#store.getCanonicalHash(height);
  }

  async #isCanonical(node: TreeNode): Promise<boolean> {
    const height = node.header.height;
    if (height > this.#tip.header.height) return false;
    const key = this.#canonical.get(height);
    if (key !== undefined) return key === node.key;
    const hash = await this.#store.getCanonicalHash(height);
    return hash !== undefined && equalBytes(hash, node.hash);
  }

  /** Up to `count` headers starting at `node` and walking to its parents. */
  async #ancestorsFrom(node: TreeNode, count: number): Promise<BlockHeader[]> {
    const headers: BlockHeader[] = [];
    let n: TreeNode | undefined = node;
    while (n !== undefined && headers.length < count) {
      headers.push(n.header);
      if (n.header.height === 0) break;
      n = await this.#node(n.header.previousHash);
      if (n === undefined) throw new ChainStateError(`an ancestor of block ${node.key} is missing from the store`);
    }
    return headers;
  }

  async #ancestry(parent: TreeNode): Promise<Ancestry> {
    const branch: TreeNode[] = [];
    let n = parent;
    while (!(await this.#isCanonical(n))) {
      branch.push(n);
      const up = await this.#node(n.header.previousHash);
      if (up === undefined) throw new ChainStateError(`an ancestor of block ${n.key} is missing from the store`);
      n = up;
    }
    branch.reverse();
    const branchIds: (readonly Uint8Array[])[] = [];
    for (const b of branch) {
      const leaves = await this.#store.getLeaves(b.hash);
      if (leaves === undefined) throw new ChainStateError(`the leaves of block ${b.key} are missing from the store`);
      branchIds.push(leaves);
    }
    return { forkPoint: n, branch, branchIds };
  }

  // ---- Lookups -------------------------------------------------------------------------------------------------

  /** Header and total work of a stored block (canonical or fork). @throws InvalidArgumentError on a non-hash */
  async getBlockInfo(hash: Uint8Array): Promise<StoredBlockInfo | undefined> {
    assertBytes(hash, 'hash', 32);
    const node = await this.#node(hash);
    return node === undefined ? undefined : info(node);
  }

  /** Header of a stored block. @throws InvalidArgumentError on a non-hash */
  async getHeader(hash: Uint8Array): Promise<BlockHeader | undefined> {
    return (await this.getBlockInfo(hash))?.header;
  }

  /** A stored block with its transactions as stored (full or stripped). @throws InvalidArgumentError on a non-hash */
  async getBlock(hash: Uint8Array): Promise<Block | undefined> {
    assertBytes(hash, 'hash', 32);
    return this.#store.getBlock(hash);
  }

  /** Hash of the canonical block at `height`. @throws InvalidArgumentError on a non-integer height */
  async getCanonicalHash(height: number): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new InvalidArgumentError(`height: expected a non-negative integer, got ${String(height)}`);
    }
    return this.#canonicalHashAt(height);
  }

  /** True when the block `hash` is on the canonical chain. @throws InvalidArgumentError on a non-hash */
  async isCanonical(hash: Uint8Array): Promise<boolean> {
    assertBytes(hash, 'hash', 32);
    const node = await this.#node(hash);
    return node !== undefined && this.#isCanonical(node);
  }

  /**
   * Up to `count` headers of the block `hash` and its ancestors, the block first: what a consensus engine takes as
   * `ancestors` for a child of `hash`. @throws InvalidArgumentError; ChainStateError when an ancestor is missing
   */
  async getAncestors(hash: Uint8Array, count: number): Promise<BlockHeader[]> {
    assertBytes(hash, 'hash', 32);
    if (!Number.isSafeInteger(count) || count < 0) throw new InvalidArgumentError(`count: expected a non-negative integer`);
    const node = await this.#node(hash);
    return node === undefined ? [] : this.#ancestorsFrom(node, count);
  }

  /** A transaction on the canonical chain: block hash, height, index and the transaction as stored. */
  async getTransaction(id: Uint8Array): Promise<StoredTransaction | undefined> {
    assertBytes(id, 'id', 32);
    return this.#store.getTransaction(id);
  }

  /** True when the transaction `id` is on the canonical chain. */
  async hasTransaction(id: Uint8Array): Promise<boolean> {
    assertBytes(id, 'id', 32);
    return (await this.hasTransactions([id]))[0] === true;
  }

  /** For each id, whether it is on the canonical chain; one store query for all (see `canonicalHeights`). */
  async hasTransactions(ids: readonly Uint8Array[]): Promise<boolean[]> {
    ids.forEach((id, i) => assertBytes(id, `ids[${i}]`, 32));
    return (await canonicalHeights(this.#store, ids)).map((height) => height !== undefined);
  }

  /**
   * A proof bundle for a canonical transaction (core's `verifyProof` checks it offline), or undefined while it is in
   * no canonical block. A transaction stored stripped yields a bundle without payload.
   * @throws InvalidArgumentError on a non-id; ChainStateError when the store's block and index disagree.
   */
  async proofFor(id: Uint8Array, options: { readonly withoutPayload?: boolean } = {}): Promise<ProofBundle | undefined> {
    const located = await this.getTransaction(id);
    if (located === undefined) return undefined;
    const key = toHex(located.blockHash);
    let tree = this.#merkleCache.get(key);
    if (tree === undefined) {
      const leaves = await this.#store.getLeaves(located.blockHash);
      if (leaves === undefined) throw new ChainStateError(`the leaves of block ${key} are missing from the store`);
      tree = MerkleTree.build(leaves);
      this.#merkleCache.set(key, tree);
      if (this.#merkleCache.size > MERKLE_CACHE_SIZE) this.#merkleCache.delete(this.#merkleCache.keys().next().value!);
    }
    const stored = await this.getBlockInfo(located.blockHash);
    if (stored === undefined) throw new ChainStateError(`block ${key} is missing from the store`);
    if (!equalBytes(tree.root, stored.header.merkleRoot) || located.index >= tree.size) {
      throw new ChainStateError(`the stored leaves of block ${key} do not match its Merkle root`);
    }
    return createProofBundle({
      transaction: located.transaction,
      header: stored.header,
      index: located.index,
      path: tree.proof(located.index),
      ...(options.withoutPayload === true ? { withoutPayload: true } : {}),
    });
  }
}
