import type { ChainStore } from '@safechain/storage';

/**
 * A first-come first-served async lock. `run` executes one task at a time, in call order; a failing task does not
 * block the ones after it.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` once every task queued before it has settled; resolves or rejects as `task` does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

const storeLocks = new WeakMap<ChainStore, Mutex>();

/**
 * The lock every component of this package holds around its check-then-commit sections on one store. The Block Tree
 * (moving the canonical chain, dropping included transactions from the pending set) and the Mempool (checking a
 * transaction is not on the chain, then adding it to the pending set) both write pending entries; without a shared
 * lock a transaction could be checked against the chain just before a block including it commits and then be added
 * back as pending after it.
 */
export function storeLock(store: ChainStore): Mutex {
  let lock = storeLocks.get(store);
  if (lock === undefined) {
    lock = new Mutex();
    storeLocks.set(store, lock);
  }
  return lock;
}
