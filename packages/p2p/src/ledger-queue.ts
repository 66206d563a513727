/**
 * The network's hand-over to the ledger adapter, in two lanes with bounded backlogs. Each lane makes one call at a
 * time; a block may be handed over while a call with transactions is still in progress.
 *
 * - Blocks do not wait for flooded transactions. A block waiting behind a backlog of transactions being verified
 *   would reach the chain seconds late on a busy node, and the transactions behind it are mostly in it: once the
 *   block is in, they are answered `ignored`.
 * - Transaction messages waiting are handed over together: one adapter call (one verification round, one store
 *   commit) for everything that queued up while the previous call ran, up to `maxBatch` transactions. A burst then
 *   costs a few large calls instead of one small call per message, and the backlog shrinks faster the longer it is.
 *
 * Between two calls of a lane the event loop gets a turn at I/O, so a backlog never starves the sockets (keep-alives
 * keep flowing while a burst is verified).
 */

function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface LedgerQueueOptions<T> {
  /** Block tasks waiting; more are refused (`pushBlock` answers false). */
  readonly maxBlocks: number;
  /** Transaction messages waiting; more are refused (`pushTransactions` answers false). */
  readonly maxMessages: number;
  /** Transactions handed over in one drain: whole messages until this many (at least one message). */
  readonly maxBatch: number;
  /** Transactions in a message. */
  readonly count: (message: T) => number;
  /** Hands waiting messages over. A rejection goes to `onError` with the same messages. */
  readonly drain: (messages: readonly T[]) => Promise<void>;
  readonly onError: (error: unknown, messages: readonly T[]) => void;
}

interface BlockTask {
  readonly run: () => Promise<void>;
}

export class LedgerQueue<T> {
  readonly #options: LedgerQueueOptions<T>;
  readonly #blocks: BlockTask[] = [];
  #messages: T[] = [];
  #queuedTransactions = 0;
  #blocksRunning = false;
  #messagesRunning = false;
  #busy = 0;
  #idle: (() => void)[] = [];

  constructor(options: LedgerQueueOptions<T>) {
    this.#options = options;
  }

  /** Tasks and messages waiting or being handed over. */
  get size(): number {
    return this.#blocks.length + this.#messages.length + this.#busy;
  }

  /** Transactions waiting (not yet handed over). */
  get queuedTransactions(): number {
    return this.#queuedTransactions;
  }

  /**
   * Queues a block task; false (and not run) when the block lane is full. A task's rejection goes to `onError` and
   * does not stop the queue.
   */
  pushBlock(task: () => Promise<void>, onError: (error: unknown) => void): boolean {
    if (this.#blocks.length >= this.#options.maxBlocks) return false;
    this.#blocks.push({ run: () => task().catch(onError) });
    this.#kickBlocks();
    return true;
  }

  /**
   * Queues a block task whatever the backlog (for callers that wait for each result, so they add at most one at a
   * time) and resolves or rejects with its outcome.
   */
  runBlock<R>(task: () => Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#blocks.push({ run: () => task().then(resolve, reject) });
      this.#kickBlocks();
    });
  }

  /** Queues a transaction message; false (and not queued) when the transaction lane is full. */
  pushTransactions(message: T): boolean {
    if (this.#messages.length >= this.#options.maxMessages) return false;
    this.#messages.push(message);
    this.#queuedTransactions += this.#options.count(message);
    this.#kickMessages();
    return true;
  }

  /** Resolves once nothing is waiting or running. */
  idle(): Promise<void> {
    if (!this.#blocksRunning && !this.#messagesRunning) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #kickBlocks(): void {
    if (this.#blocksRunning) return;
    this.#blocksRunning = true;
    void this.#blockLoop();
  }

  #kickMessages(): void {
    if (this.#messagesRunning) return;
    this.#messagesRunning = true;
    void this.#messageLoop();
  }

  async #blockLoop(): Promise<void> {
    try {
      for (let block = await this.#nextBlock(); block !== undefined; block = await this.#nextBlock()) {
        this.#busy++;
        try {
          await block.run();
        } finally {
          this.#busy--;
        }
      }
    } finally {
      this.#blocksRunning = false;
      this.#settle();
    }
  }

  async #nextBlock(): Promise<BlockTask | undefined> {
    await yieldToIo();
    return this.#blocks.shift();
  }

  async #messageLoop(): Promise<void> {
    try {
      for (;;) {
        await yieldToIo();
        if (this.#messages.length === 0) break;
        const batch = this.#take();
        this.#busy++;
        try {
          await this.#options.drain(batch);
        } catch (error) {
          this.#options.onError(error, batch);
        } finally {
          this.#busy--;
        }
      }
    } finally {
      this.#messagesRunning = false;
      this.#settle();
    }
  }

  #settle(): void {
    if (this.#blocksRunning || this.#messagesRunning) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Whole messages from the front until `maxBatch` transactions (at least one message). */
  #take(): T[] {
    let n = 0;
    let taken = 0;
    while (taken < this.#messages.length) {
      const c = this.#options.count(this.#messages[taken]!);
      if (taken > 0 && n + c > this.#options.maxBatch) break;
      n += c;
      taken++;
    }
    const batch = this.#messages.slice(0, taken);
    this.#messages = this.#messages.slice(taken);
    this.#queuedTransactions -= n;
    return batch;
  }
}
