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
  /** Each item's hash, so probes skip most key comparisons and growing the table reads no keys. */
  #hashes: Int32Array;
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
    this.#hashes = new Int32Array(initialSlots);
    const seed = randomBytes(8);
    this.#seed0 = seed.readInt32BE(0);
    this.#seed1 = seed.readInt32BE(4);
  }

  #hash(bytes: Uint8Array, at: number): number {
    // All eight words count: keys sharing a long prefix still spread (a murmur-style mix with a random seed).
    const seed1 = this.#seed1;
    let h = this.#seed0;
    for (let i = at; i < at + 32; i += 4) {
      const w = (bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!;
      h = Math.imul(h ^ Math.imul(w ^ seed1, 0xcc9e2d51), 0x1b873593);
      h = (h << 13) | (h >>> 19);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h;
  }

  /** The slot holding the chain of the key at `key[keyAt]` (hash `h`), or the empty slot where it would go. */
  #find(key: Uint8Array, keyAt: number, h: number): number {
    const table = this.#keys();
    const slots = this.#slots;
    const hashes = this.#hashes;
    let slot = h & this.#mask;
    for (;;) {
      const entry = slots[slot]!;
      if (entry === 0) return slot;
      if (hashes[entry - 1] === h) {
        const at = (entry - 1) * 32;
        let i = 0;
        while (i < 32 && table[at + i] === key[keyAt + i]) i++;
        if (i === 32) return slot;
      }
      slot = (slot + 1) & this.#mask;
    }
  }

  /** The newest item with `key`, or -1. */
  first(key: Uint8Array): number {
    return this.#slots[this.#find(key, 0, this.#hash(key, 0))]! - 1;
  }

  /** The next older item with the same key as `item`, or -1. */
  next(item: number): number {
    return this.#next[item]!;
  }

  /** Adds `item`, whose key is already in the key table. */
  add(item: number): void {
    if (item >= this.#next.length) {
      const size = Math.max(item + 1, this.#next.length * 2);
      const next = new Int32Array(size);
      next.set(this.#next);
      this.#next = next;
      const hashes = new Int32Array(size);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
    }
    const table = this.#keys();
    const h = this.#hash(table, item * 32);
    this.#hashes[item] = h;
    const slot = this.#find(table, item * 32, h);
    const head = this.#slots[slot]!;
    this.#next[item] = head - 1;
    this.#slots[slot] = item + 1;
    if (head === 0 && ++this.#heads * 2 > this.#slots.length) this.#rehash();
  }

  #rehash(): void {
    const old = this.#slots;
    const slots = new Int32Array(old.length * 2);
    const mask = slots.length - 1;
    const hashes = this.#hashes;
    for (const entry of old) {
      if (entry === 0) continue;
      let slot = hashes[entry - 1]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = entry;
    }
    this.#slots = slots;
    this.#mask = mask;
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

  /** Appends `key` (32 bytes) and returns its item number. */
  push(key: Uint8Array): number {
    return this.pushAll(key, 1);
  }

  /** Appends `count` keys laid end to end in `keys` and returns the item number of the first. */
  pushAll(keys: Uint8Array, count: number): number {
    const need = (this.#count + count) * 32;
    if (need > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(need, this.#bytes.length * 2));
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    this.#bytes.set(keys.length === 32 * count ? keys : keys.subarray(0, 32 * count), this.#count * 32);
    const first = this.#count;
    this.#count += count;
    return first;
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
