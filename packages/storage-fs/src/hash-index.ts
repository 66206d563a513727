import { randomBytes } from 'node:crypto';

/**
 * An in-memory hash index from 32-byte keys (block hashes, transaction ids) to item numbers, built for millions of
 * entries: open addressing over an Int32Array, the keys themselves kept once in the caller's byte table, no object
 * per entry. Several items may share a key (a transaction in a fork block and in a canonical one); they are chained,
 * newest first.
 *
 * Keys are SHA-256 outputs, but not chosen by chance: a signer can grind ids. Mixing every key word with a
 * per-process random seed keeps a crafted set of ids from piling into one probe sequence.
 */
export class HashIndex {
  #slots: Int32Array;
  #mask: number;
  #next: Int32Array;
  #heads = 0;
  readonly #keys: () => Uint8Array;
  readonly #seed0: number;
  readonly #seed1: number;

  /** `keys()` returns the current key table: item `i`'s key is `keys()[32 i, 32 i + 32)`. */
  constructor(keys: () => Uint8Array, initialSlots = 1024) {
    this.#keys = keys;
    this.#slots = new Int32Array(initialSlots);
    this.#mask = initialSlots - 1;
    this.#next = new Int32Array(initialSlots);
    const seed = randomBytes(8);
    this.#seed0 = seed.readInt32BE(0);
    this.#seed1 = seed.readInt32BE(4);
  }

  #hash(bytes: Uint8Array, at: number): number {
    // All eight words count: keys sharing a long prefix still spread (a murmur-style mix with a random seed).
    let h = this.#seed0;
    for (let i = at; i < at + 32; i += 4) {
      const w = (bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!;
      h = Math.imul(h ^ Math.imul(w ^ this.#seed1, 0xcc9e2d51), 0x1b873593);
      h = (h << 13) | (h >>> 19);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h;
  }

  /** The slot holding `key`'s chain, or the empty slot where it would go. */
  #find(key: Uint8Array, keyAt: number): number {
    const table = this.#keys();
    let slot = this.#hash(key, keyAt) & this.#mask;
    for (;;) {
      const entry = this.#slots[slot]!;
      if (entry === 0) return slot;
      const at = (entry - 1) * 32;
      let same = true;
      for (let i = 0; i < 32; i++) {
        if (table[at + i] !== key[keyAt + i]) {
          same = false;
          break;
        }
      }
      if (same) return slot;
      slot = (slot + 1) & this.#mask;
    }
  }

  /** The newest item with `key`, or -1. */
  first(key: Uint8Array): number {
    return this.#slots[this.#find(key, 0)]! - 1;
  }

  /** The next older item with the same key as `item`, or -1. */
  next(item: number): number {
    return this.#next[item]!;
  }

  /** Adds `item`, whose key is already in the key table. */
  add(item: number): void {
    if (item >= this.#next.length) {
      const grown = new Int32Array(Math.max(item + 1, this.#next.length * 2));
      grown.set(this.#next);
      this.#next = grown;
    }
    const slot = this.#find(this.#keys(), item * 32);
    const head = this.#slots[slot]!;
    this.#next[item] = head - 1;
    this.#slots[slot] = item + 1;
    if (head === 0 && ++this.#heads * 2 > this.#slots.length) this.#rehash();
  }

  #rehash(): void {
    const old = this.#slots;
    this.#slots = new Int32Array(old.length * 2);
    this.#mask = this.#slots.length - 1;
    const table = this.#keys();
    for (const entry of old) {
      if (entry === 0) continue;
      let slot = this.#hash(table, (entry - 1) * 32) & this.#mask;
      while (this.#slots[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#slots[slot] = entry;
    }
  }
}

/** A byte table of 32-byte keys that grows by doubling. */
export class KeyTable {
  #bytes = new Uint8Array(32 * 1024);
  #count = 0;

  get bytes(): Uint8Array {
    return this.#bytes;
  }

  get count(): number {
    return this.#count;
  }

  /** Appends `key` (32 bytes at `key[at]`) and returns its item number. */
  push(key: Uint8Array, at = 0): number {
    if ((this.#count + 1) * 32 > this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2);
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    this.#bytes.set(key.subarray(at, at + 32), this.#count * 32);
    return this.#count++;
  }

  /** A copy of item `i`'s key. */
  key(i: number): Uint8Array {
    return this.#bytes.slice(i * 32, i * 32 + 32);
  }

  /** True when item `i`'s key equals `key`. */
  equals(i: number, key: Uint8Array): boolean {
    const at = i * 32;
    for (let k = 0; k < 32; k++) if (this.#bytes[at + k] !== key[k]) return false;
    return true;
  }
}

/** A Float64Array that grows by doubling: numbers per item (offsets, heights) without an object per item. */
export class NumberColumn {
  #values = new Float64Array(1024);

  get(i: number): number {
    return this.#values[i]!;
  }

  set(i: number, value: number): void {
    if (i >= this.#values.length) {
      const grown = new Float64Array(Math.max(i + 1, this.#values.length * 2));
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[i] = value;
  }
}
