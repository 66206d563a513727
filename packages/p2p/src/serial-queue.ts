/**
 * Runs asynchronous tasks one at a time, in order, with a bounded backlog: the network hands blocks and
 * transactions to the ledger adapter through it, so the adapter never sees two at once and a flood of messages
 * cannot pile up unbounded work. Between two tasks the event loop gets a turn at I/O, so a backlog of verification
 * work never starves the sockets (keep-alives keep flowing while a burst is verified).
 */

function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
export class SerialQueue {
  readonly capacity: number;
  #pending = 0;
  #tail: Promise<void> = Promise.resolve();
  #idle: (() => void)[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Tasks waiting or running. */
  get size(): number {
    return this.#pending;
  }

  /**
   * Appends `task`; returns false (and does not run it) when the backlog is full. A task's rejection is passed to
   * `onError` and does not stop the queue.
   */
  push(task: () => Promise<void>, onError: (error: unknown) => void): boolean {
    if (this.#pending >= this.capacity) return false;
    this.#pending++;
    this.#tail = this.#tail.then(async () => {
      try {
        await yieldToIo();
        await task();
      } catch (error) {
        onError(error);
      } finally {
        this.#pending--;
        if (this.#pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
      }
    });
    return true;
  }

  /**
   * Appends `task` whatever the backlog (for callers that wait for each result, so they add at most one at a time)
   * and resolves or rejects with its outcome.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending++;
      this.#tail = this.#tail.then(async () => {
        try {
          await yieldToIo();
          resolve(await task());
        } catch (error) {
          reject(error);
        } finally {
          this.#pending--;
          if (this.#pending === 0) for (const done of this.#idle.splice(0)) done();
        }
      });
    });
  }

  /** Resolves once no task is waiting or running. */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
