import { buildBlock, InvalidArgumentError, type Block, type BlockHeader, type Ed25519Signer, type Transaction } from '@safechain/core';
import type { Consensus } from '@safechain/consensus';
import type { AddBlockResult, BlockTree } from './block-tree.js';
import { Emitter } from './events.js';
import type { Mempool } from './mempool.js';

/**
 * The Block Producer (paper §II-A): cuts blocks from the mempool on the canonical tip, has the consensus engine
 * prepare and seal them, and hands them to the Block Tree like any block from a peer.
 *
 * A block is cut every `blockIntervalMs`, or as soon as the mempool holds `maxBlockTransactions` transactions or
 * `maxBlockBytes` bytes (checked on each mempool add). Productions never overlap. Empty blocks are cut only when
 * `emptyBlocks` is set (a steady heartbeat for entanglement, say).
 */

export interface BlockProducerOptions {
  readonly tree: BlockTree;
  readonly mempool: Mempool;
  readonly consensus: Consensus;
  /** The node key: the producer identity the engine checks, and the sealing key. */
  readonly key: Ed25519Signer;
  /** Time between cuts in milliseconds. Default 1000. */
  readonly blockIntervalMs?: number;
  /**
   * Bound on the encoded bytes of a block's transactions (the header adds a few hundred bytes and its seals).
   * Default 16 MiB. A single larger transaction still goes alone into a block.
   */
  readonly maxBlockBytes?: number;
  /** Most transactions in a block. Default 10 000. */
  readonly maxBlockTransactions?: number;
  /** Cut blocks without transactions. Default false. */
  readonly emptyBlocks?: boolean;
  /** The clock for block timestamps, in milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Gathers further seals before the block is added (proof of authority with a threshold above one: the node asks
   * other validators over the network). Receives the header this node sealed and the block's transactions; resolves
   * with the header carrying enough seals, or with a whole other block to add instead (a block this node proposed
   * at the same height before a restart: a validator must finish that one, not seal a second). Must honour `signal`.
   */
  readonly collectSeals?: (header: BlockHeader, signal: AbortSignal, transactions: readonly Transaction[]) => Promise<BlockHeader | Block>;
}

export interface BlockProducerEvents {
  /** A block this node made was added to the tree (canonical, or a fork when the tip moved meanwhile). */
  'block:produced': { readonly block: Block; readonly result: AddBlockResult };
  /** A production failed: the tree refused the block, or the store, engine or seal collection failed. */
  'production:failed': { readonly error: unknown; readonly result?: AddBlockResult };
}

const DEFAULT_INTERVAL_MS = 1000;
const DEFAULT_MAX_BLOCK_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_BLOCK_TRANSACTIONS = 10_000;

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name}: expected a positive integer, got ${String(value)}`);
  }
  return value;
}

function isAbort(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof Error && error.name === 'AbortError');
}

export class BlockProducer extends Emitter<BlockProducerEvents> {
  readonly #tree: BlockTree;
  readonly #mempool: Mempool;
  readonly #consensus: Consensus;
  readonly #key: Ed25519Signer;
  readonly #intervalMs: number;
  readonly #maxBlockBytes: number;
  readonly #maxBlockTransactions: number;
  readonly #emptyBlocks: boolean;
  readonly #now: () => number;
  readonly #collectSeals: BlockProducerOptions['collectSeals'];
  #current: Promise<Block | null> | undefined;
  #abort: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | undefined;
  #started = false;
  /** When the last production started (Date.now()): the next timed cut is one interval after it. */
  #lastCutAt = 0;

  /** @throws InvalidArgumentError on bad options. */
  constructor(options: BlockProducerOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options: expected an object');
    if (options.tree === undefined || options.mempool === undefined || options.consensus === undefined) {
      throw new InvalidArgumentError('tree, mempool and consensus are required');
    }
    if (!(options.key?.publicKey instanceof Uint8Array) || typeof options.key.sign !== 'function') {
      throw new InvalidArgumentError('key: expected a NodeKey');
    }
    this.#tree = options.tree;
    this.#mempool = options.mempool;
    this.#consensus = options.consensus;
    this.#key = options.key;
    this.#intervalMs = positiveInteger(options.blockIntervalMs, 'blockIntervalMs', DEFAULT_INTERVAL_MS);
    this.#maxBlockBytes = positiveInteger(options.maxBlockBytes, 'maxBlockBytes', DEFAULT_MAX_BLOCK_BYTES);
    this.#maxBlockTransactions = positiveInteger(options.maxBlockTransactions, 'maxBlockTransactions', DEFAULT_MAX_BLOCK_TRANSACTIONS);
    this.#emptyBlocks = options.emptyBlocks ?? false;
    this.#now = options.now ?? Date.now;
    this.#collectSeals = options.collectSeals;
  }

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#started;
  }

  /** Starts cutting blocks on the interval and on mempool size. Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#unsubscribe = this.#mempool.on('transactions:added', () => {
      if (this.#full()) this.#trigger();
    });
    this.#lastCutAt = Date.now();
    this.#schedule();
    if (this.#full()) this.#trigger();
  }

  /**
   * Stops the timer, aborts a seal in progress and waits until the current production has settled. A block already
   * handed to the tree is committed or not as the tree decides; nothing is left half done. Idempotent.
   */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#abort?.abort();
    await this.#current?.catch(() => undefined);
  }

  /**
   * Cuts one block now: the pending transactions that fit, on the canonical tip, prepared and sealed by the engine,
   * added to the tree. Resolves with the block when the tree added it (canonical or fork), or null when there was
   * nothing to cut, it is not this node's turn (`prepareHeader` answered null), the seal was aborted by `stop()`, or
   * the tree refused it (`production:failed` says why). A call while a production runs returns that production.
   * @throws the store's errors and the engine's or seal collection's failures other than an abort.
   */
  produce(): Promise<Block | null> {
    if (this.#current !== undefined) return this.#current;
    const abort = new AbortController();
    this.#abort = abort;
    const current = this.#produce(abort.signal).finally(() => {
      if (this.#current === current) this.#current = undefined;
    });
    this.#current = current;
    return current;
  }

  async #produce(signal: AbortSignal): Promise<Block | null> {
    const tip = this.#tree.tip;
    const taken = this.#mempool.takeWithIds({ maxBytes: this.#maxBlockBytes, maxCount: this.#maxBlockTransactions });
    // Safety net: a transaction that reached the chain by another path must not make our block invalid.
    const stale: Uint8Array[] = [];
    const transactions: Transaction[] = [];
    const ids: Uint8Array[] = [];
    const onChain = await this.#tree.hasTransactions(taken.map((t) => t.id));
    taken.forEach(({ id, transaction }, i) => {
      if (onChain[i] === true) {
        stale.push(id);
      } else {
        transactions.push(transaction);
        ids.push(id);
      }
    });
    if (stale.length > 0) await this.#mempool.remove(stale);
    if (transactions.length === 0 && !this.#emptyBlocks) return null;
    if (signal.aborted) return null;

    const now = this.#now();
    const ancestors = await this.#tree.getAncestors(tip.hash, this.#consensus.ancestryDepth);
    // A timestamp never below the parent's, whatever the local clock says; the engine judges the rest.
    const timestamp = Math.max(now, tip.header.timestamp);
    const unsealed = buildBlock({ parent: tip.header, transactions, ids, timestamp });
    const prepared = this.#consensus.prepareHeader(unsealed.header, ancestors, this.#key.publicKey, now);
    if (prepared === null) return null;

    let block: Block;
    try {
      const header = await this.#consensus.seal(prepared, this.#key, signal);
      const gathered = this.#collectSeals === undefined ? header : await this.#collectSeals(header, signal, transactions);
      block = 'data' in gathered ? gathered : { header: gathered, data: transactions };
    } catch (error) {
      if (isAbort(error, signal)) return null;
      throw error;
    }
    const result = await this.#tree.addBlock(block);
    if (result.status === 'canonical' || result.status === 'fork') {
      this.emit('block:produced', { block, result });
      return block;
    }
    this.emit('production:failed', { error: new Error(`the Block Tree answered ${result.status} for a produced block`), result });
    return null;
  }

  #full(): boolean {
    return this.#mempool.size >= this.#maxBlockTransactions || this.#mempool.bytes >= this.#maxBlockBytes;
  }

  #schedule(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#started) return;
    // A steady cadence: the time a production took is not added to the wait for the next one, so a record waits at
    // most one interval (plus one production) for its block.
    const wait = Math.max(0, this.#lastCutAt + this.#intervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#trigger();
    }, wait);
  }

  /** Starts a production unless one runs (its end checks the size again). Never rejects. */
  #trigger(): void {
    if (!this.#started || this.#current !== undefined) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lastCutAt = Date.now();
    this.produce().then(
      (block) => this.#after(block !== null),
      (error: unknown) => {
        this.emit('production:failed', { error });
        this.#after(false);
      },
    );
  }

  #after(produced: boolean): void {
    if (!this.#started) return;
    // Keep cutting while a full block's worth is waiting, but only after a success: a refused or skipped cut waits
    // for the timer instead of spinning.
    if (produced && this.#full()) {
      this.#trigger();
      return;
    }
    this.#schedule();
  }
}
