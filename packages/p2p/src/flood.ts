import { encodeTransactionsMessage, transactionsMessageSize } from './messages.js';
import { MAX_TRANSACTIONS_PER_MESSAGE } from './limits.js';
import type { Peer } from './peer.js';

/**
 * Flooding of transactions, batched. Accepted transactions (local or relayed) wait in a bounded queue for a short
 * flush interval and then go to every open peer in as few TRANSACTIONS messages as fit the message size limit, minus
 * the transactions that peer is known to have (it sent them to us, or we sent them to it). Together with the
 * network's seen-cache (a transaction is accepted and relayed once) a transaction crosses each link at most once per
 * direction; both directions only when the two ends relay it at the same moment, and the later copy is then dropped
 * by the seen-cache without blame.
 *
 * A peer that reads slower than we send (more than `maxBufferedBytes` unsent on its socket) is not sent more for
 * now: its transactions wait in a backlog of its own, retried on every flush, bounded by `maxQueued` (beyond that the
 * oldest are dropped and counted as `backpressure`). A burst therefore reaches a healthy peer whole, and a stalled
 * peer cannot make the node buffer without bound.
 */

interface Queued {
  readonly id: string;
  readonly bytes: Uint8Array;
  /** Key of the peer it came from (not sent back there). */
  readonly from: string | undefined;
}

export interface TransactionRelayOptions {
  readonly maxMessageBytes: number;
  /** Transactions waiting to be flooded, and the backlog of each slow peer; more are dropped. */
  readonly maxQueued: number;
  readonly flushIntervalMs: number;
  /** Unsent bytes on a peer's socket above which it gets nothing more until it drains. */
  readonly maxBufferedBytes: number;
  readonly peers: () => Iterable<Peer>;
  readonly drop: (reason: string, count: number) => void;
}

export class TransactionRelay {
  readonly #options: TransactionRelayOptions;
  #queue: Queued[] = [];
  readonly #backlog = new Map<Peer, Queued[]>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: TransactionRelayOptions) {
    this.#options = options;
  }

  /** Transactions waiting: new ones plus every peer's backlog. */
  get queued(): number {
    let n = this.#queue.length;
    for (const items of this.#backlog.values()) n += items.length;
    return n;
  }

  /**
   * Queues one encoded transaction for flooding. Returns false when it cannot be sent: larger than one message, or
   * the queue is full.
   */
  enqueue(id: string, bytes: Uint8Array, from: string | undefined): boolean {
    if (this.#stopped) return false;
    if (transactionsMessageSize(1, bytes.length) > this.#options.maxMessageBytes) {
      this.#options.drop('transaction-too-large', 1);
      return false;
    }
    if (this.#queue.length >= this.#options.maxQueued) {
      this.#options.drop('relay-queue-full', 1);
      return false;
    }
    this.#queue.push({ id, bytes, from });
    this.#arm();
    return true;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer ??= setTimeout(() => this.flush(), this.#options.flushIntervalMs);
  }

  /** Sends everything queued now, as far as each peer keeps up. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const queue = this.#queue;
    this.#queue = [];
    const open = new Set<Peer>();
    for (const peer of this.#options.peers()) {
      if (peer.state !== 'open') continue;
      open.add(peer);
      const backlog = this.#backlog.get(peer) ?? [];
      const pending = backlog.length === 0 ? queue : backlog.concat(queue);
      const left = this.#sendTo(peer, pending);
      if (left.length === 0) this.#backlog.delete(peer);
      else {
        const excess = left.length - this.#options.maxQueued;
        if (excess > 0) this.#options.drop('backpressure', excess);
        this.#backlog.set(peer, excess > 0 ? left.slice(excess) : left);
      }
    }
    for (const peer of this.#backlog.keys()) if (!open.has(peer)) this.#backlog.delete(peer);
    if (this.#backlog.size > 0) this.#arm();
  }

  /** Sends `items` to `peer` in batches while its socket keeps up; returns what is left for later. */
  #sendTo(peer: Peer, items: readonly Queued[]): Queued[] {
    let batch: Queued[] = [];
    let batchBytes = 0;
    let blocked = false;
    const left: Queued[] = [];
    const send = (): void => {
      if (batch.length === 0) return;
      if (!blocked && peer.bufferedBytes <= this.#options.maxBufferedBytes) {
        if (peer.sendEncoded('transactions', encodeTransactionsMessage(batch.map((q) => q.bytes)), false)) {
          for (const q of batch) peer.knownTransactions.add(q.id);
        }
      } else {
        blocked = true;
        left.push(...batch);
      }
      batch = [];
      batchBytes = 0;
    };
    for (const item of items) {
      if (item.from === peer.key || peer.knownTransactions.has(item.id)) continue;
      const fits =
        batch.length < MAX_TRANSACTIONS_PER_MESSAGE &&
        transactionsMessageSize(batch.length + 1, batchBytes + item.bytes.length) <= this.#options.maxMessageBytes;
      if (!fits) send();
      batch.push(item);
      batchBytes += item.bytes.length;
    }
    send();
    return left;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#backlog.clear();
  }
}
