import { assertBytes } from './bytes.js';
import { getCryptoProvider, hasStandardSha256, type CryptoProvider } from './crypto/provider.js';
import { bytesToWords, leafHashWords, nodeHashWords, wordsToBytes } from './crypto/sha256-merkle.js';
import { InvalidArgumentError, LeafIndexError } from './errors.js';
import { MAX_BLOCK_TRANSACTIONS } from './limits.js';

/**
 * The Merkle tree over a block's transaction ids, as RFC 9162 §2.1 defines it (SHA-256):
 * - empty tree: SHA-256 of the empty string;
 * - leaf: SHA-256(0x00 || id), inner node: SHA-256(0x01 || left || right), so a leaf can never pass as a node;
 * - a tree of n leaves splits at the largest power of two below n; the last leaf is never duplicated.
 *
 * Built bottom-up: at each level pairs are hashed and a lone last node moves up unchanged, which yields exactly
 * RFC 9162's tree. An inclusion path lists the sibling hashes from the leaf up.
 *
 * Hashes are held as eight 32-bit words each, a level in one flat `Int32Array`: a 1,000,000-leaf tree is two arrays
 * of numbers, not two million small byte arrays. With the built-in providers the hashing itself goes through the
 * fixed-input SHA-256 of `crypto/sha256-merkle.ts`; any other provider has its own `sha256` called.
 */

/** Hashes of the tree on word storage: the leaf hash of an id, and the node hash of two word ranges. */
interface WordHasher {
  leaf(id: Uint8Array, out: Int32Array, at: number): void;
  node(words: Int32Array, l: number, r: number, out: Int32Array, at: number): void;
}

const fixedHasher: WordHasher = {
  leaf: (id, out, at) => leafHashWords(id, 0, out, at),
  node: nodeHashWords,
};

/** The same hashes through a provider's general `sha256`, for providers supplied from outside. */
function providerHasher(provider: CryptoProvider): WordHasher {
  const scratch = new Uint8Array(65);
  return {
    leaf(id, out, at): void {
      scratch[0] = 0x00;
      scratch.set(id, 1);
      bytesToWords(provider.sha256(scratch.subarray(0, 33)), out, at);
    },
    node(words, l, r, out, at): void {
      scratch[0] = 0x01;
      scratch.set(wordsToBytes(words, l), 1);
      scratch.set(wordsToBytes(words, r), 33);
      bytesToWords(provider.sha256(scratch), out, at);
    },
  };
}

function hasherFor(provider: CryptoProvider): WordHasher {
  return hasStandardSha256(provider) ? fixedHasher : providerHasher(provider);
}

/** RFC 9162 leaf hash of a transaction id. @throws InvalidArgumentError unless `id` is 32 bytes. */
export function merkleLeafHash(id: Uint8Array, provider: CryptoProvider = getCryptoProvider()): Uint8Array {
  assertBytes(id, 'id', 32);
  const words = new Int32Array(8);
  hasherFor(provider).leaf(id, words, 0);
  return wordsToBytes(words, 0);
}

/** RFC 9162 inner node hash. @throws InvalidArgumentError unless both hashes are 32 bytes. */
export function merkleNodeHash(
  left: Uint8Array,
  right: Uint8Array,
  provider: CryptoProvider = getCryptoProvider(),
): Uint8Array {
  assertBytes(left, 'left', 32);
  assertBytes(right, 'right', 32);
  const words = new Int32Array(16);
  bytesToWords(left, words, 0);
  bytesToWords(right, words, 8);
  hasherFor(provider).node(words, 0, 8, words, 0);
  return wordsToBytes(words, 0);
}

function checkIds(ids: readonly Uint8Array[]): void {
  if (!Array.isArray(ids)) throw new InvalidArgumentError('ids: expected an array of 32-byte ids');
  if (ids.length > MAX_BLOCK_TRANSACTIONS) {
    throw new InvalidArgumentError(`ids: expected at most ${MAX_BLOCK_TRANSACTIONS}, got ${ids.length}`);
  }
  for (let i = 0; i < ids.length; i++) assertBytes(ids[i], `ids[${i}]`, 32);
}

function leafLevel(ids: readonly Uint8Array[], hasher: WordHasher): Int32Array {
  const level = new Int32Array(ids.length * 8);
  for (let i = 0; i < ids.length; i++) hasher.leaf(ids[i]!, level, 8 * i);
  return level;
}

/**
 * Hashes the `count` nodes in `from` pairwise into `to` (which may be `from`: node j is written after nodes 2j and
 * 2j + 1 are read, and j <= 2j). A lone last node moves up unchanged. Returns the number of nodes written.
 */
function hashLevel(from: Int32Array, count: number, to: Int32Array, hasher: WordHasher): number {
  const pairs = count >>> 1;
  for (let j = 0; j < pairs; j++) hasher.node(from, 16 * j, 16 * j + 8, to, 8 * j);
  if (count % 2 === 1) to.set(from.subarray(8 * (count - 1), 8 * count), 8 * pairs);
  return pairs + (count % 2);
}

/** Root over `ids` in order; 0 leaves give SHA-256(""). @throws InvalidArgumentError on a malformed id. */
export function merkleRoot(ids: readonly Uint8Array[], provider: CryptoProvider = getCryptoProvider()): Uint8Array {
  checkIds(ids);
  if (ids.length === 0) return provider.sha256(new Uint8Array(0));
  const hasher = hasherFor(provider);
  // One array for the whole tree: each level overwrites the front of the one below.
  const words = leafLevel(ids, hasher);
  let count = ids.length;
  while (count > 1) count = hashLevel(words, count, words, hasher);
  return wordsToBytes(words, 0);
}

/**
 * A built tree that keeps every level, for handing out many inclusion paths (a node serving proofs for a block).
 * Memory: about 2 × leaves × 32 bytes.
 */
export class MerkleTree {
  readonly size: number;
  readonly root: Uint8Array;
  /** Level 0 holds the leaf hashes; the last level holds the root alone. */
  readonly #levels: readonly Int32Array[];

  private constructor(levels: readonly Int32Array[], root: Uint8Array, size: number) {
    this.#levels = levels;
    this.root = root;
    this.size = size;
  }

  /** @throws InvalidArgumentError on a malformed id or too many ids. */
  static build(ids: readonly Uint8Array[], provider: CryptoProvider = getCryptoProvider()): MerkleTree {
    checkIds(ids);
    if (ids.length === 0) return new MerkleTree([], provider.sha256(new Uint8Array(0)), 0);
    const hasher = hasherFor(provider);
    const levels: Int32Array[] = [leafLevel(ids, hasher)];
    let count = ids.length;
    while (count > 1) {
      const up = new Int32Array(Math.ceil(count / 2) * 8);
      count = hashLevel(levels[levels.length - 1]!, count, up, hasher);
      levels.push(up);
    }
    return new MerkleTree(levels, wordsToBytes(levels[levels.length - 1]!, 0), ids.length);
  }

  /** The inclusion path of leaf `index`, leaf to root. @throws LeafIndexError */
  proof(index: number): Uint8Array[] {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      throw new LeafIndexError(`leaf index ${index} outside a tree of ${this.size} leaves`);
    }
    const path: Uint8Array[] = [];
    let i = index;
    for (let d = 0; d < this.#levels.length - 1; d++) {
      const level = this.#levels[d]!;
      const sibling = i % 2 === 1 ? i - 1 : i + 1;
      if (sibling * 8 < level.length) path.push(wordsToBytes(level, sibling * 8));
      i = Math.floor(i / 2);
    }
    return path;
  }
}

/** The inclusion path of leaf `index` in the tree over `ids`. @throws LeafIndexError, InvalidArgumentError */
export function merkleProof(
  ids: readonly Uint8Array[],
  index: number,
  provider: CryptoProvider = getCryptoProvider(),
): Uint8Array[] {
  return MerkleTree.build(ids, provider).proof(index);
}

/**
 * Checks that `id` is leaf `index` of a tree of `treeSize` leaves with root `root`, by RFC 9162 §2.1.3.2. A path
 * one hash too short or too long fails. Never throws on malformed input: it answers false.
 */
export function verifyInclusion(
  id: Uint8Array,
  index: number,
  treeSize: number,
  path: readonly Uint8Array[],
  root: Uint8Array,
  provider: CryptoProvider = getCryptoProvider(),
): boolean {
  if (!(id instanceof Uint8Array) || id.length !== 32 || !(root instanceof Uint8Array) || root.length !== 32) return false;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return false;
  if (!Array.isArray(path)) return false;
  const hasher = hasherFor(provider);
  // words[0..8) is the running hash r, words[8..16) the current path element p.
  const words = new Int32Array(16);
  let fn = index;
  let sn = treeSize - 1;
  hasher.leaf(id, words, 0);
  for (const p of path) {
    if (!(p instanceof Uint8Array) || p.length !== 32) return false;
    if (sn === 0) return false;
    bytesToWords(p, words, 8);
    if (fn % 2 === 1 || fn === sn) {
      hasher.node(words, 8, 0, words, 0);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      hasher.node(words, 0, 8, words, 0);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return false;
  bytesToWords(root, words, 8);
  for (let i = 0; i < 8; i++) if (words[i] !== words[8 + i]) return false;
  return true;
}
