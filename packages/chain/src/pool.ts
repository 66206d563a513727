import type { Block } from '@safechain/core';

/** A block held outside the tree: an orphan waiting for its parent, or a future block waiting for its time. */
export interface HeldBlock {
  readonly hash: Uint8Array;
  /** Lower-case hex of `hash`. */
  readonly key: string;
  /** Lower-case hex of the parent hash. */
  readonly parentKey: string;
  readonly block: Block;
  /** Encoded size, counted against the pool's byte bound. */
  readonly bytes: number;
  /** For future blocks: when to try again (ms since the epoch). */
  readonly retryAt: number;
}

/**
 * A pool of held blocks bounded by count and bytes. When a new block does not fit, the oldest are evicted first:
 * an attacker flooding the pool pushes its own blocks out as fast as anyone's, and memory stays bounded.
 */
export class BlockPool {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  readonly #entries = new Map<string, HeldBlock>();
  readonly #byParent = new Map<string, Set<string>>();
  #bytes = 0;

  constructor(maxCount: number, maxBytes: number) {
    this.#maxCount = maxCount;
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /**
   * Holds `entry`, evicting the oldest entries until it fits. Returns the evicted ones, or `null` when the entry alone
   * exceeds the pool's bounds (it is then not held).
   */
  add(entry: HeldBlock): HeldBlock[] | null {
    if (this.#maxCount < 1 || entry.bytes > this.#maxBytes) return null;
    const evicted: HeldBlock[] = [];
    for (const oldest of this.#entries.values()) {
      if (this.#entries.size < this.#maxCount && this.#bytes + entry.bytes <= this.#maxBytes) break;
      this.delete(oldest.key);
      evicted.push(oldest);
    }
    this.#entries.set(entry.key, entry);
    this.#bytes += entry.bytes;
    let siblings = this.#byParent.get(entry.parentKey);
    if (siblings === undefined) {
      siblings = new Set();
      this.#byParent.set(entry.parentKey, siblings);
    }
    siblings.add(entry.key);
    return evicted;
  }

  /** Removes and returns the entry with `key`. */
  delete(key: string): HeldBlock | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    const siblings = this.#byParent.get(entry.parentKey);
    siblings?.delete(key);
    if (siblings?.size === 0) this.#byParent.delete(entry.parentKey);
    return entry;
  }

  /** Removes and returns every entry whose parent is `parentKey`, oldest first. */
  takeChildren(parentKey: string): HeldBlock[] {
    const keys = this.#byParent.get(parentKey);
    if (keys === undefined) return [];
    const children: HeldBlock[] = [];
    for (const key of [...keys]) {
      const entry = this.delete(key);
      if (entry !== undefined) children.push(entry);
    }
    return children;
  }

  /** Removes and returns every entry with `retryAt <= now`, oldest first. */
  takeDue(now: number): HeldBlock[] {
    const due: HeldBlock[] = [];
    for (const entry of [...this.#entries.values()]) {
      if (entry.retryAt <= now) {
        this.delete(entry.key);
        due.push(entry);
      }
    }
    return due;
  }

  /** The earliest `retryAt` in the pool. */
  earliestRetryAt(): number | undefined {
    let earliest: number | undefined;
    for (const entry of this.#entries.values()) if (earliest === undefined || entry.retryAt < earliest) earliest = entry.retryAt;
    return earliest;
  }
}
