import type { Block, BlockHeader, Transaction } from '@safechain/core';
import type { ChainTip } from './messages.js';

/**
 * The ledger adapter: the only way the network touches the chain. The node implements it over its Block Tree and
 * Mempool; `@safechain/p2p` never imports them.
 *
 * Trust assumptions, for implementers:
 * - Everything passed in (`acceptBlock`, `acceptTransactions`) comes from an untrusted peer. The network has decoded
 *   it with the canonical codec (so it is structurally well formed and within the core limits) and, for
 *   transactions, checked the chain id. Signatures, Merkle roots, consensus rules and every other validity rule are
 *   the adapter's to check. The network relays a block or transaction only after the adapter answered `accepted`.
 * - The network never runs two `acceptBlock` calls at once, nor two `acceptTransactions` calls; an `acceptBlock` may
 *   run while an `acceptTransactions` call is in progress (a block does not wait for a backlog of flooded
 *   transactions to be verified; transactions of a block already in are then answered `ignored`). An adapter whose
 *   two methods share state must keep it consistent across that (the node's Block Tree and Mempool commit under one
 *   store lock). Blocks are handed over in arrival order; transactions from one peer in arrival order, several of its
 *   messages in one call when they queued up.
 * - A block's stripped transactions get their payloads back before `acceptBlock` (from the transactions waiting, from
 *   `getTransaction`, else from peers, each checked against its signed header), except those `wantsPayload` declines;
 *   what no peer has arrives stripped.
 * - Read methods (`tip`, `headersFrom`, `hasBlock`, `getBlock`, `getTransaction`, `pendingTransactions`) answer
 *   peers' requests and may run concurrently with each other and with the accept methods.
 * - A method that throws is treated as "no answer" (the peer gets an empty response, a message is dropped); the
 *   network reports it as an `adapter:failed` event and keeps running.
 */

/** A value or a promise of it: adapters over synchronous and asynchronous stores both fit. */
export type Awaitable<T> = T | Promise<T>;

/** Who sent something: the peer's node key (hex) and its address, for the adapter's logs and policies. */
export interface PeerRef {
  readonly key: string;
  readonly address: string;
}

/**
 * The adapter's verdict on a block:
 * - `accepted`: valid and new (on the canonical chain or a fork): the network relays it;
 * - `ignored`: already known, or held for later (a block from the future): not relayed, no blame;
 * - `orphan`: its parent is unknown: the network starts a sync with the sender;
 * - `invalid`: breaks a rule: the sender's score drops.
 */
export type BlockVerdict = 'accepted' | 'ignored' | 'orphan' | 'invalid';

/**
 * The adapter's verdict on one transaction: `accepted` (new and valid, now in the mempool: relayed), `ignored`
 * (known, or already in a block: not relayed, no blame), `busy` (no room now: not relayed, no blame, and forgotten
 * by the seen-cache, so a later copy or announcement of it is taken), `invalid` (bad signature or payload: blamed).
 */
export type TransactionVerdict = 'accepted' | 'ignored' | 'busy' | 'invalid';

export interface LedgerAdapter {
  /** Genesis block hash of the chain (32 bytes): hellos naming another chain are refused. */
  readonly chainId: Uint8Array;

  /** The local canonical tip. */
  tip(): Awaitable<ChainTip>;

  /**
   * Canonical headers from `height` upward, at most `max` of them, ascending and contiguous; fewer (or none) when
   * the chain is shorter.
   */
  headersFrom(height: number, max: number): Awaitable<readonly BlockHeader[]>;

  /** Whether a block with this hash is stored (canonical or not). */
  hasBlock(hash: Uint8Array): Awaitable<boolean>;

  /** The stored block (its transactions full or stripped, as stored), or undefined. */
  getBlock(hash: Uint8Array): Awaitable<Block | undefined>;

  /** The transaction with this id in full (payload present), or undefined when unknown or stored stripped. */
  getTransaction(id: Uint8Array): Awaitable<Transaction | undefined>;

  /** Validates and stores a block received from `from` (flooded or fetched during sync). */
  acceptBlock(block: Block, from: PeerRef): Awaitable<BlockVerdict>;

  /**
   * Validates and adds transactions to the mempool; returns one verdict per transaction, in order. `ids` are their
   * ids, computed by the network from the transactions themselves (not taken from the peer): an adapter may use them
   * instead of hashing each header again.
   */
  acceptTransactions(txs: readonly Transaction[], from: PeerRef, ids?: readonly Uint8Array[]): Awaitable<readonly TransactionVerdict[]>;

  /**
   * Optional: whether this node keeps `tx` (stripped in a block it received) with its payload. A payload it does not
   * keep is not fetched from peers (one at hand is still attached, for relaying). Default: every payload is wanted.
   */
  wantsPayload?(tx: Transaction): boolean;

  /**
   * Optional: up to `max` transactions waiting in the mempool. When present, the network offers them to every newly
   * connected peer, so transactions taken in while the network was split reach the rest once it heals.
   */
  pendingTransactions?(max: number): Awaitable<readonly Transaction[]>;

  /**
   * Optional, for validators of a chain whose blocks need several seals: this node's seal for `block` (its 64-byte
   * signature over the block hash, by this node's key), which `from` asks for while gathering seals, or undefined
   * to refuse (the block does not extend the tip, breaks a rule, or this node already sealed another block at that
   * height). The block's transactions come stripped.
   */
  cosign?(block: Block, from: PeerRef): Awaitable<Uint8Array | undefined>;
}
