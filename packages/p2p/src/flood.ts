import { encodeTransactionIdsMessage, encodeTransactionsMessage, transactionIdsMessageSize, transactionsMessageSize } from './messages.js';
import { MAX_TRANSACTIONS_PER_MESSAGE } from './limits.js';
import type { Peer } from './peer.js';

/**
 * Flooding of transactions, batched. Accepted transactions wait in a bounded queue for a short flush interval and
 * then go to every open peer in as few messages as fit the message size limit, minus the transactions that peer is
 * known to have (it sent or announced them to us, or we to it). The node that took a transaction in pushes it whole
 * (TRANSACTIONS); a node relaying one it accepted from a peer announces its id (TRANSACTION_IDS), and a peer that
 * lacks it asks for it (GET_TRANSACTIONS). Where nodes are connected to many others, as on a factory network, every
 * peer already has the transaction from its origin by then: a relay costs 32 bytes a peer, not the whole record
 * again. Together with the network's seen-cache (a transaction is accepted and relayed once) a transaction crosses
 * each link whole at most once per direction.
 *
 * A peer that reads slower than we send (more than `maxBufferedBytes` unsent on its socket) is not sent more for
 * now: its transactions wait in a backlog of its own, retried on every flush, bounded by `maxQueued` (beyond that the
 * oldest are dropped and counted as `backpressure`). A burst therefore reaches a healthy peer whole, and a stalled
 * peer cannot make the node buffer without bound.
 */

interface Queued {
  readonly id: string;
  readonly idBytes: Uint8Array;
  /** The encoded transaction, pushed whole; undefined for a relay, which is announced by id. */
  readonly bytes: Uint8Array | undefined;
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
   * Queues one transaction for flooding: `bytes` (its encoding) to push it whole, undefined to announce its id
   * (`idBytes`, hex `id`). Returns false when it cannot be sent: larger than one message, or the queue is full.
   */
  enqueue(id: string, idBytes: Uint8Array, bytes: Uint8Array | undefined, from: string | undefined): boolean {
    if (this.#stopped) return false;
    if (bytes !== undefined && transactionsMessageSize(1, bytes.length) > this.#options.maxMessageBytes) {
      this.#options.drop('transaction-too-large', 1);
      return false;
    }
    if (this.#queue.length >= this.#options.maxQueued) {
      this.#options.drop('relay-queue-full', 1);
      return false;
    }
    this.#queue.push({ id, idBytes, bytes, from });
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
    let txs: Queued[] = [];
    let txBytes = 0;
    let ids: Queued[] = [];
    let blocked = false;
    const left: Queued[] = [];
    const send = (batch: Queued[], message: () => Uint8Array, type: 'transactions' | 'transactionIds'): void => {
      if (batch.length === 0) return;
      if (!blocked && peer.bufferedBytes <= this.#options.maxBufferedBytes) {
        if (peer.sendEncoded(type, message(), false)) {
          for (const q of batch) peer.knownTransactions.add(q.id);
        }
      } else {
        blocked = true;
        left.push(...batch);
      }
    };
    const sendTxs = (): void => {
      const batch = txs;
      send(batch, () => encodeTransactionsMessage(batch.map((q) => q.bytes!)), 'transactions');
      txs = [];
      txBytes = 0;
    };
    const sendIds = (): void => {
      const batch = ids;
      send(batch, () => encodeTransactionIdsMessage(batch.map((q) => q.idBytes)), 'transactionIds');
      ids = [];
    };
    for (const item of items) {
      if (item.from === peer.key || peer.knownTransactions.has(item.id)) continue;
      if (item.bytes === undefined) {
        const fits = ids.length < MAX_TRANSACTIONS_PER_MESSAGE && transactionIdsMessageSize(ids.length + 1) <= this.#options.maxMessageBytes;
        if (!fits) sendIds();
        ids.push(item);
        continue;
      }
      const fits =
        txs.length < MAX_TRANSACTIONS_PER_MESSAGE &&
        transactionsMessageSize(txs.length + 1, txBytes + item.bytes.length) <= this.#options.maxMessageBytes;
      if (!fits) sendTxs();
      txs.push(item);
      txBytes += item.bytes.length;
    }
    sendTxs();
    sendIds();
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
