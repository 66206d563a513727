import { InvalidArgumentError } from '@safechain/core';

/**
 * A bounded set of ids in insertion order: when full, the oldest id is forgotten. Flooding uses it so a message
 * crosses each link at most once; the handshake uses it to refuse replayed hello nonces. First-in-first-out rather
 * than least-recently-used on purpose: a hit does not extend an id's life, so a peer repeating an id cannot keep it
 * (and the memory) alive.
 */
export class SeenCache {
  readonly capacity: number;
  /** Id to the number of the slot it was added in (ids re-added after a delete get a new one). */
  readonly #ids = new Map<string, number>();
  /**
   * The ids in insertion order, as a ring: the oldest is found in O(1). (Evicting through a Set's iterator instead
   * costs time proportional to the deleted entries V8 has not compacted yet: minutes for a full cache under load.)
   */
  readonly #ring: (string | undefined)[];
  #added = 0;

  /** @throws InvalidArgumentError unless `capacity` is a positive integer */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError(`capacity: expected a positive integer, got ${String(capacity)}`);
    }
    this.capacity = capacity;
    this.#ring = new Array<string | undefined>(capacity);
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
    const slot = this.#added % this.capacity;
    const oldest = this.#ring[slot];
    // The slot's id leaves unless it was deleted and added again since (then a later slot holds it).
    if (oldest !== undefined && this.#ids.get(oldest) === this.#added - this.capacity) this.#ids.delete(oldest);
    this.#ring[slot] = id;
    this.#ids.set(id, this.#added);
    this.#added++;
    return true;
  }

  delete(id: string): boolean {
    return this.#ids.delete(id);
  }

  clear(): void {
    this.#ids.clear();
    this.#ring.fill(undefined);
    this.#added = 0;
  }
}
