import {
  assertBytes,
  assertTxHeader,
  compareBytes,
  equalBytes,
  InvalidArgumentError,
  toHex,
  transactionId,
  verifyTransaction,
  type Transaction,
} from '@safechain/core';
import { canonicalHeights, type ChainStore, type PendingTransaction } from '@safechain/storage';
import type { TipChangedEvent } from './block-tree.js';
import { MempoolClosedError, MempoolFullError } from './errors.js';
import { Emitter } from './events.js';
import { storeLock } from './lock.js';
import { transactionSize } from './size.js';
import type { TransactionVerifier } from './verify.js';

/**
 * The Mempool: transactions waiting for a block, durable, deduplicated and bounded.
 *
 * Durable: `add` resolves only after the batch is committed to the store, so a source may be acknowledged then
 * (invariant 4); a peer's flooded transactions may be held in memory only (`durable: false`: their origin keeps
 * them durably), and `Mempool.open` on the same store after a crash returns every durably held transaction not yet in a
 * block. Removal is not the mempool's write: the Block Tree drops included transactions from the store's pending set
 * in the same commit that adopts their block, and puts transactions of abandoned blocks back in the commit of a reorg.
 * The mempool follows the tree's `tip:changed` event to mirror both in memory.
 *
 * Bounded: a batch that would exceed `maxCount` or `maxBytes` is refused whole with `MempoolFullError` (backpressure:
 * the caller keeps the source unacknowledged and retries). Transactions returned by a reorg are taken back even
 * when that exceeds the bounds: they were acknowledged long ago and must not be lost.
 */

/** What the mempool needs of the chain: the Block Tree provides it. */
export interface MempoolChain {
  /** Chain id (genesis hash) every transaction must name. */
  readonly chainId: Uint8Array;
  /** True when the transaction is on the canonical chain. */
  hasTransaction(id: Uint8Array): Promise<boolean>;
  /** The same for many ids in one query; optional (the mempool asks `hasTransaction` id by id without it). */
  hasTransactions?(ids: readonly Uint8Array[]): Promise<boolean[]>;
  /** Subscribes to canonical moves; returns an unsubscribe function. */
  on(name: 'tip:changed', listener: (event: TipChangedEvent) => void): () => void;
}

export interface MempoolOptions {
  readonly store: ChainStore;
  /** Most transactions held. */
  readonly maxCount: number;
  /** Most bytes held (encoded transactions). */
  readonly maxBytes: number;
  /** Largest single transaction taken, in encoded bytes. Default `maxBytes`. */
  readonly maxTransactionBytes?: number;
  /**
   * The chain to deduplicate against and follow (the Block Tree). Without it the mempool deduplicates against the
   * store's canonical index, checks no chain id, and does not learn of included transactions until reopened.
   */
  readonly chain?: MempoolChain;
  /**
   * Verifies signatures of added transactions (worker threads, say). Default: `verifyTransaction` inline. `false`
   * skips verification: only for callers that verified every transaction already (ingest signing its own records).
   */
  readonly verifyTransactions?: TransactionVerifier | false;
  /** The retry hint `MempoolFullError` carries, in milliseconds: about one block interval. Default 1000. */
  readonly retryAfterMs?: number;
}

/** What became of one transaction of a batch. */
export type MempoolOutcome =
  | {
      /** `added`: committed now; `duplicate`: already pending (or earlier in the batch); `on-chain`: already in a block. */
      readonly status: 'added' | 'duplicate' | 'on-chain';
      readonly id: Uint8Array;
    }
  | {
      readonly status: 'invalid';
      /** Null when the transaction is too malformed to have an id. */
      readonly id: Uint8Array | null;
      readonly reason: 'malformed' | 'wrong-chain' | 'too-large' | 'bad-signature';
      readonly message: string;
    };

export interface MempoolAddReport {
  /**
   * One outcome per transaction, in batch order. `added`, `duplicate` and `on-chain` are all held (durably, unless
   * the batch was added with `durable: false`).
   */
  readonly outcomes: readonly MempoolOutcome[];
  /** How many were added by this call. */
  readonly added: number;
}

export interface MempoolEvents {
  /** A batch was committed. `size` and `bytes` describe the whole pool afterwards. */
  'transactions:added': { readonly ids: readonly Uint8Array[]; readonly size: number; readonly bytes: number };
  /** Transactions left the pool: included in a canonical block, or removed by `remove`. */
  'transactions:removed': { readonly ids: readonly Uint8Array[]; readonly reason: 'included' | 'removed' };
  /** Transactions of abandoned blocks came back after a reorg. */
  'transactions:returned': { readonly ids: readonly Uint8Array[] };
}

interface Entry {
  readonly id: Uint8Array;
  /** `toHex(id)`: the map key, computed once. */
  readonly key: string;
  readonly transaction: Transaction;
  readonly bytes: number;
  /** False for an entry held in memory only (see `MempoolAddOptions.durable`). */
  readonly durable: boolean;
}

/** How `Mempool.add` takes a batch. */
export interface MempoolAddOptions {
  /**
   * The ids of `transactions` (`transactionId` of each, same order), when the caller computed them already: they
   * are used as given, not hashed again (an undefined element is computed). A wrong id is a caller bug the mempool
   * does not detect.
   */
  readonly ids?: readonly (Uint8Array | undefined)[];
  /**
   * Default true: the batch is committed to the store before `add` resolves. False holds the new transactions in
   * memory only: for transactions whose origin keeps them durably until a block takes them in (a peer's flooded
   * transactions: the origin offers its pending transactions again when a link comes back), so that every node of
   * the network does not write every record twice. A crash loses such entries, never an acknowledged record. A
   * durable add of a transaction held in memory only makes it durable.
   */
  readonly durable?: boolean;
}

function limit(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name}: expected a positive integer, got ${String(value)}`);
  }
  return value;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Mempool extends Emitter<MempoolEvents> {
  readonly #store: ChainStore;
  readonly #maxCount: number;
  readonly #maxBytes: number;
  readonly #maxTransactionBytes: number;
  readonly #chain: MempoolChain | undefined;
  readonly #verify: TransactionVerifier | false | undefined;
  readonly #retryAfterMs: number;
  /** Insertion order is inclusion order. */
  #entries = new Map<string, Entry>();
  #bytes = 0;
  #unfollow: (() => void) | undefined;
  #closed = false;

  private constructor(options: MempoolOptions) {
    super();
    this.#store = options.store;
    this.#maxCount = limit(options.maxCount, 'maxCount');
    this.#maxBytes = limit(options.maxBytes, 'maxBytes');
    this.#maxTransactionBytes =
      options.maxTransactionBytes === undefined ? this.#maxBytes : limit(options.maxTransactionBytes, 'maxTransactionBytes');
    this.#chain = options.chain;
    this.#verify = options.verifyTransactions;
    this.#retryAfterMs = options.retryAfterMs === undefined ? 1000 : limit(options.retryAfterMs, 'retryAfterMs');
  }

  /**
   * Opens the mempool over `store`, loading its durable pending entries (oldest first). With a `chain`, entries the
   * chain already holds are dropped (one commit) and the mempool follows the chain from then on.
   * @throws InvalidArgumentError on bad options; the store's errors.
   */
  static async open(options: MempoolOptions): Promise<Mempool> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options: expected an object');
    if (typeof options.store?.commit !== 'function') throw new InvalidArgumentError('store: expected a ChainStore');
    const mempool = new Mempool(options);
    await mempool.#load();
    return mempool;
  }

  async #load(): Promise<void> {
    const lock = storeLock(this.#store);
    await lock.run(async () => {
      const stored: PendingTransaction[] = [];
      for await (const p of this.#store.pending()) stored.push(p);
      const onChain = await this.#onChainMany(stored.map((p) => p.id));
      const stale: Uint8Array[] = [];
      stored.forEach((p, i) => {
        if (onChain[i] === true) stale.push(p.id);
        else this.#insert({ id: p.id, key: toHex(p.id), transaction: p.transaction, bytes: transactionSize(p.transaction), durable: true });
      });
      if (stale.length > 0) await this.#store.commit({ pendingRemove: stale });
      // Subscribed inside the lock: no canonical move can slip between loading and following.
      if (this.#chain !== undefined) this.#unfollow = this.#chain.on('tip:changed', (event) => this.#follow(event));
    });
  }

  /** Transactions held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Encoded bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True when the transaction `id` is pending. @throws InvalidArgumentError when `id` is not 32 bytes */
  has(id: Uint8Array): boolean {
    assertBytes(id, 'id', 32);
    return this.#entries.has(toHex(id));
  }

  /** The pending transaction `id`, or undefined. @throws InvalidArgumentError when `id` is not 32 bytes */
  get(id: Uint8Array): Transaction | undefined {
    assertBytes(id, 'id', 32);
    return this.#entries.get(toHex(id))?.transaction;
  }

  /**
   * Adds a batch: checks each transaction (fields, chain, size, signature), drops duplicates (pending, earlier in
   * the batch, or on the canonical chain), then commits the new ones to the store in one commit and resolves. When
   * the new ones do not fit the bounds, nothing is added and the promise rejects with MempoolFullError.
   * @throws MempoolFullError (retry later); MempoolClosedError after `close()`; InvalidArgumentError when `transactions` is
   *   not an array or `options.ids` does not match it; the store's errors (nothing added then); a rejection of the
   *   injected verifier.
   */
  async add(transactions: readonly Transaction[], options: MempoolAddOptions = {}): Promise<MempoolAddReport> {
    if (this.#closed) throw new MempoolClosedError('mempool is closed');
    if (!Array.isArray(transactions)) throw new InvalidArgumentError('transactions: expected an array');
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options: expected an object');
    const durable = options.durable ?? true;
    if (typeof durable !== 'boolean') throw new InvalidArgumentError('options.durable: expected a boolean');
    const givenIds = options.ids;
    if (givenIds !== undefined && (!Array.isArray(givenIds) || givenIds.length !== transactions.length)) {
      throw new InvalidArgumentError(`options.ids: expected an array of ${transactions.length} ids`);
    }
    // Held in memory only, now asked for durably: written with this batch, and their outcome stays `duplicate`.
    const upgrades: Entry[] = [];
    const outcomes: (MempoolOutcome | undefined)[] = new Array(transactions.length);
    const candidates: { index: number; entry: Entry }[] = [];
    const chainId = this.#chain?.chainId;
    for (let i = 0; i < transactions.length; i++) {
      const tx = transactions[i]!;
      let id: Uint8Array;
      try {
        if (typeof tx !== 'object' || tx === null) throw new InvalidArgumentError('expected an object');
        assertTxHeader(tx.header);
        assertBytes(tx.signature, 'signature', 64);
        if (tx.payload !== undefined) assertBytes(tx.payload, 'payload', tx.header.payloadSize);
        const given = givenIds?.[i];
        if (given !== undefined) assertBytes(given, `options.ids[${i}]`, 32);
        id = given ?? transactionId(tx);
      } catch (error) {
        outcomes[i] = { status: 'invalid', id: null, reason: 'malformed', message: errorMessage(error) };
        continue;
      }
      const key = toHex(id);
      const existing = this.#entries.get(key);
      if (existing !== undefined) {
        if (durable && !existing.durable) upgrades.push(existing);
        outcomes[i] = { status: 'duplicate', id };
        continue;
      }
      if (chainId !== undefined && !equalBytes(tx.header.chainId, chainId)) {
        outcomes[i] = { status: 'invalid', id, reason: 'wrong-chain', message: `transaction of chain ${toHex(tx.header.chainId)}` };
        continue;
      }
      const bytes = transactionSize(tx);
      if (bytes > this.#maxTransactionBytes) {
        outcomes[i] = {
          status: 'invalid',
          id,
          reason: 'too-large',
          message: `${bytes} bytes; the mempool holds transactions of at most ${this.#maxTransactionBytes}`,
        };
        continue;
      }
      candidates.push({ index: i, entry: { id, key, transaction: tx, bytes, durable } });
    }

    // Repeats within the batch are verified too: the id does not cover the payload, so a first copy with a bad
    // payload must not shadow a good second one.
    const verified = await this.#verifyAll(candidates.map((c) => c.entry.transaction));
    const inBatch = new Set<string>();
    const valid = candidates.filter((c, i) => {
      const failure = verified[i];
      if (failure !== undefined) {
        outcomes[c.index] = { status: 'invalid', id: c.entry.id, reason: 'bad-signature', message: failure };
        return false;
      }
      if (inBatch.has(c.entry.key)) {
        outcomes[c.index] = { status: 'duplicate', id: c.entry.id };
        return false;
      }
      inBatch.add(c.entry.key);
      return true;
    });

    const added = await storeLock(this.#store).run(async () => {
      if (this.#closed) throw new MempoolClosedError('mempool is closed');
      const fresh: { index: number; entry: Entry }[] = [];
      const unseen = valid.filter((c) => {
        const existing = this.#entries.get(c.entry.key);
        if (existing === undefined) return true;
        if (durable && !existing.durable) upgrades.push(existing);
        outcomes[c.index] = { status: 'duplicate', id: c.entry.id };
        return false;
      });
      // Upgrades still held (a block may have taken one in meanwhile), each once.
      const upgrade = [...new Set(upgrades)].filter((e) => this.#entries.get(e.key) === e);
      const onChain = await this.#onChainMany(unseen.map((c) => c.entry.id));
      unseen.forEach((c, i) => {
        if (onChain[i] === true) outcomes[c.index] = { status: 'on-chain', id: c.entry.id };
        else fresh.push(c);
      });
      if (fresh.length === 0 && upgrade.length === 0) return fresh;
      let bytes = 0;
      for (const c of fresh) bytes += c.entry.bytes;
      if (this.#entries.size + fresh.length > this.#maxCount || this.#bytes + bytes > this.#maxBytes) {
        throw new MempoolFullError(
          `mempool full: ${this.#entries.size}/${this.#maxCount} transactions, ${this.#bytes}/${this.#maxBytes} bytes; ` +
            `the batch needs ${fresh.length} and ${bytes} bytes`,
          {
            retryAfterMs: this.#retryAfterMs,
            needed: { count: fresh.length, bytes },
            available: {
              count: Math.max(0, this.#maxCount - this.#entries.size),
              bytes: Math.max(0, this.#maxBytes - this.#bytes),
            },
          },
        );
      }
      const written = (durable ? fresh.map((c) => c.entry) : []).concat(upgrade);
      if (written.length > 0) await this.#store.commit({ pendingAdd: written.map((e) => ({ id: e.id, transaction: e.transaction })) });
      // Map.set on a present key keeps its place in line.
      for (const e of upgrade) this.#entries.set(e.key, { ...e, durable: true });
      for (const c of fresh) {
        this.#insert(c.entry);
        outcomes[c.index] = { status: 'added', id: c.entry.id };
      }
      return fresh;
    });
    if (added.length > 0) {
      this.emit('transactions:added', { ids: added.map((c) => c.entry.id), size: this.#entries.size, bytes: this.#bytes });
    }
    return { outcomes: outcomes as MempoolOutcome[], added: added.length };
  }

  /** Failure messages by position (undefined where the transaction verifies). */
  async #verifyAll(transactions: readonly Transaction[]): Promise<(string | undefined)[]> {
    if (transactions.length === 0 || this.#verify === false) return [];
    if (this.#verify === undefined) {
      return transactions.map((tx) => {
        const verdict = verifyTransaction(tx);
        return verdict.valid ? undefined : verdict.message;
      });
    }
    const verdicts = await this.#verify(transactions);
    if (!Array.isArray(verdicts) || verdicts.length !== transactions.length) {
      throw new InvalidArgumentError(`verifyTransactions: expected ${transactions.length} verdicts`);
    }
    return verdicts.map((ok) => (ok ? undefined : 'signature or payload does not verify'));
  }

  /**
   * Up to `maxCount` transactions and `maxBytes` encoded bytes in inclusion order, without removing them. Inclusion
   * order is arrival order, except that the transactions of one origin come out in ascending sequence order (they
   * keep the positions their origin's transactions occupy). A single transaction larger than `maxBytes` is returned
   * alone when it is first in line, so an oversized one cannot stall the pool.
   * @throws InvalidArgumentError on bad limits.
   */
  take(limits: { readonly maxBytes: number; readonly maxCount: number }): Transaction[] {
    return this.takeWithIds(limits).map((e) => e.transaction);
  }

  /**
   * `take`, with each transaction's id beside it (the id the mempool computed when it admitted the transaction), so
   * a block producer need not hash every header again. Same order and limits as `take`.
   * @throws InvalidArgumentError on bad limits.
   */
  takeWithIds(limits: { readonly maxBytes: number; readonly maxCount: number }): { readonly id: Uint8Array; readonly transaction: Transaction }[] {
    const maxBytes = limit(limits?.maxBytes, 'maxBytes');
    const maxCount = limit(limits?.maxCount, 'maxCount');
    const picked: Entry[] = [];
    let bytes = 0;
    for (const entry of this.#entries.values()) {
      if (picked.length >= maxCount) break;
      if (bytes + entry.bytes > maxBytes && picked.length > 0) break;
      picked.push(entry);
      bytes += entry.bytes;
    }
    // Keep per-origin sequence order within the selection: each origin's slots, refilled in sequence order.
    // Transactions of one origin usually share one origin array and arrive in order: the key of the previous
    // origin is reused when the array is the same object, and a list already in order is not sorted.
    const origins: string[] = new Array<string>(picked.length);
    const byOrigin = new Map<string, Entry[]>();
    let lastOrigin: Uint8Array | undefined;
    let lastKey = '';
    for (let i = 0; i < picked.length; i++) {
      const e = picked[i]!;
      const o = e.transaction.header.origin;
      if (o !== lastOrigin) {
        lastOrigin = o;
        lastKey = toHex(o);
      }
      origins[i] = lastKey;
      const list = byOrigin.get(lastKey);
      if (list === undefined) byOrigin.set(lastKey, [e]);
      else list.push(e);
    }
    const order = (a: Entry, b: Entry): number => a.transaction.header.sequence - b.transaction.header.sequence || compareBytes(a.id, b.id);
    for (const list of byOrigin.values()) {
      let sorted = true;
      for (let i = 1; i < list.length && sorted; i++) sorted = order(list[i - 1]!, list[i]!) < 0;
      if (!sorted) list.sort(order);
    }
    if (byOrigin.size === 1) return [...byOrigin.values()][0]!.map((e) => ({ id: e.id, transaction: e.transaction }));
    const cursor = new Map<string, number>();
    return picked.map((_, k) => {
      const origin = origins[k]!;
      const i = cursor.get(origin) ?? 0;
      cursor.set(origin, i + 1);
      const chosen = byOrigin.get(origin)![i]!;
      return { id: chosen.id, transaction: chosen.transaction };
    });
  }

  /**
   * Removes transactions from the pool and the store (one commit), for transactions found to be unincludable.
   * Returns how many were pending. @throws MempoolClosedError; the store's errors.
   */
  async remove(ids: readonly Uint8Array[]): Promise<number> {
    if (this.#closed) throw new MempoolClosedError('mempool is closed');
    if (!Array.isArray(ids)) throw new InvalidArgumentError('ids: expected an array');
    ids.forEach((id, i) => assertBytes(id, `ids[${i}]`, 32));
    if (ids.length === 0) return 0;
    const removed = await storeLock(this.#store).run(async () => {
      await this.#store.commit({ pendingRemove: ids });
      return ids.filter((id) => this.#delete(toHex(id)));
    });
    if (removed.length > 0) this.emit('transactions:removed', { ids: removed, reason: 'removed' });
    return removed.length;
  }

  /** Stops following the chain. Pending entries stay in the store. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#unfollow?.();
    this.#unfollow = undefined;
  }

  async #onChainMany(ids: readonly Uint8Array[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const chain = this.#chain;
    if (chain === undefined) return (await canonicalHeights(this.#store, ids)).map((height) => height !== undefined);
    if (chain.hasTransactions !== undefined) {
      const answers = await chain.hasTransactions(ids);
      if (answers.length !== ids.length) throw new InvalidArgumentError(`hasTransactions: ${answers.length} answers for ${ids.length} ids`);
      return answers;
    }
    const out: boolean[] = [];
    for (const id of ids) out.push(await chain.hasTransaction(id));
    return out;
  }

  #insert(entry: Entry): void {
    this.#entries.set(entry.key, entry);
    this.#bytes += entry.bytes;
  }

  #delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    return true;
  }

  /** Mirrors a canonical move the tree has already committed (pending removes and returns included). */
  #follow(event: TipChangedEvent): void {
    const removed = event.included.filter((id) => this.#delete(toHex(id)));
    const back: PendingTransaction[] = event.returned.filter((p) => !this.#entries.has(toHex(p.id)));
    if (back.length > 0) {
      // Returned transactions are older than anything that arrived since: they go first in line.
      const rest = this.#entries;
      this.#entries = new Map();
      // The tree wrote them to the store's pending set in the commit of the reorg.
      for (const p of back) this.#insert({ id: p.id, key: toHex(p.id), transaction: p.transaction, bytes: transactionSize(p.transaction), durable: true });
      for (const [key, e] of rest) this.#entries.set(key, e);
    }
    if (removed.length > 0) this.emit('transactions:removed', { ids: removed, reason: 'included' });
    if (back.length > 0) this.emit('transactions:returned', { ids: back.map((p) => p.id) });
  }
}
