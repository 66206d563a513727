import { InvalidArgumentError } from '@safechain/core';

/**
 * A bounded set of ids in insertion order: when full, the oldest id is forgotten. Flooding uses it so a message
 * crosses each link at most once; the handshake uses it to refuse replayed hello nonces. First-in-first-out rather
 * than least-recently-used on purpose: a hit does not extend an id's life, so a peer repeating an id cannot keep it
 * (and the memory) alive.
 */
export class SeenCache {
  readonly capacity: number;
  readonly #ids = new Set<string>();

  /** @throws InvalidArgumentError unless `capacity` is a positive integer */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError(`capacity: expected a positive integer, got ${String(capacity)}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.#ids.size;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Adds `id`; returns false when it was already present (nothing changes then). */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.capacity) {
      const oldest = this.#ids.values().next();
      if (oldest.done !== true) this.#ids.delete(oldest.value);
    }
    return true;
  }

  delete(id: string): boolean {
    return this.#ids.delete(id);
  }

  clear(): void {
    this.#ids.clear();
  }
}
