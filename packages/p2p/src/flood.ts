import { encodeTransactionsMessage, transactionsMessageSize } from './messages.js';
import { MAX_TRANSACTIONS_PER_MESSAGE } from './limits.js';
import type { Peer } from './peer.js';

/**
 * Flooding of transactions, batched. Accepted transactions (local or relayed) wait in a bounded queue for a short
 * flush interval and then go to every open peer in as few TRANSACTIONS messages as fit the message size limit, minus
 * the transactions that peer is known to have (it sent them to us, or we sent them to it). Together with the
 * network's seen-cache (a transaction is accepted and relayed once) a transaction crosses each link at most once,
 * except when both ends send it at the same moment; the later copy is then dropped by the seen-cache without blame.
 */

interface Queued {
  readonly id: string;
  readonly bytes: Uint8Array;
  /** Key of the peer it came from (not sent back there). */
  readonly from: string | undefined;
}

export interface TransactionRelayOptions {
  readonly maxMessageBytes: number;
  /** Transactions waiting to be flooded; more are dropped (counted as `relay-queue-full`). */
  readonly maxQueued: number;
  readonly flushIntervalMs: number;
  readonly peers: () => Iterable<Peer>;
  readonly drop: (reason: string, count: number) => void;
}

export class TransactionRelay {
  readonly #options: TransactionRelayOptions;
  #queue: Queued[] = [];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: TransactionRelayOptions) {
    this.#options = options;
  }

  get queued(): number {
    return this.#queue.length;
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
    this.#timer ??= setTimeout(() => this.flush(), this.#options.flushIntervalMs);
    return true;
  }

  /** Sends everything queued now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const queue = this.#queue;
    this.#queue = [];
    if (queue.length === 0) return;
    for (const peer of this.#options.peers()) {
      if (peer.state !== 'open') continue;
      let batch: Queued[] = [];
      let batchBytes = 0;
      const send = (): void => {
        if (batch.length === 0) return;
        const ok = peer.sendEncoded('transactions', encodeTransactionsMessage(batch.map((q) => q.bytes)), true);
        if (ok) for (const q of batch) peer.knownTransactions.add(q.id);
        else this.#options.drop('backpressure', batch.length);
        batch = [];
        batchBytes = 0;
      };
      for (const item of queue) {
        if (item.from === peer.key || peer.knownTransactions.has(item.id)) continue;
        const fits =
          batch.length < MAX_TRANSACTIONS_PER_MESSAGE &&
          transactionsMessageSize(batch.length + 1, batchBytes + item.bytes.length) <= this.#options.maxMessageBytes;
        if (!fits) send();
        batch.push(item);
        batchBytes += item.bytes.length;
      }
      send();
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
  }
}
