import { assertBytes } from './bytes.js';
import { getCryptoProvider, type CryptoProvider } from './crypto/provider.js';
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
 */

function leafHashInto(scratch: Uint8Array, id: Uint8Array, provider: CryptoProvider): Uint8Array {
  scratch[0] = 0x00;
  scratch.set(id, 1);
  return provider.sha256(scratch.subarray(0, 33));
}

function nodeHashInto(scratch: Uint8Array, left: Uint8Array, right: Uint8Array, provider: CryptoProvider): Uint8Array {
  scratch[0] = 0x01;
  scratch.set(left, 1);
  scratch.set(right, 33);
  return provider.sha256(scratch);
}

/** RFC 9162 leaf hash of a transaction id. */
export function merkleLeafHash(id: Uint8Array, provider: CryptoProvider = getCryptoProvider()): Uint8Array {
  assertBytes(id, 'id', 32);
  return leafHashInto(new Uint8Array(65), id, provider);
}

/** RFC 9162 inner node hash. */
export function merkleNodeHash(
  left: Uint8Array,
  right: Uint8Array,
  provider: CryptoProvider = getCryptoProvider(),
): Uint8Array {
  return nodeHashInto(new Uint8Array(65), left, right, provider);
}

function checkIds(ids: readonly Uint8Array[]): void {
  if (!Array.isArray(ids)) throw new InvalidArgumentError('ids: expected an array of 32-byte ids');
  if (ids.length > MAX_BLOCK_TRANSACTIONS) {
    throw new InvalidArgumentError(`ids: expected at most ${MAX_BLOCK_TRANSACTIONS}, got ${ids.length}`);
  }
  for (let i = 0; i < ids.length; i++) assertBytes(ids[i], `ids[${i}]`, 32);
}

function nextLevel(level: readonly Uint8Array[], scratch: Uint8Array, provider: CryptoProvider): Uint8Array[] {
  const up: Uint8Array[] = new Array<Uint8Array>(Math.ceil(level.length / 2));
  let j = 0;
  for (let i = 0; i + 1 < level.length; i += 2) up[j++] = nodeHashInto(scratch, level[i]!, level[i + 1]!, provider);
  if (level.length % 2 === 1) up[j] = level[level.length - 1]!;
  return up;
}

/** Root over `ids` in order; 0 leaves give SHA-256(""). @throws InvalidArgumentError on a malformed id. */
export function merkleRoot(ids: readonly Uint8Array[], provider: CryptoProvider = getCryptoProvider()): Uint8Array {
  checkIds(ids);
  if (ids.length === 0) return provider.sha256(new Uint8Array(0));
  const scratch = new Uint8Array(65);
  let level = ids.map((id) => leafHashInto(scratch, id, provider));
  while (level.length > 1) level = nextLevel(level, scratch, provider);
  return level[0]!;
}

/**
 * A built tree that keeps every level, for handing out many inclusion paths (a node serving proofs for a block).
 * Memory: about 2 × leaves × 32 bytes.
 */
export class MerkleTree {
  readonly size: number;
  readonly root: Uint8Array;
  readonly #levels: readonly (readonly Uint8Array[])[];

  private constructor(levels: readonly (readonly Uint8Array[])[], root: Uint8Array, size: number) {
    this.#levels = levels;
    this.root = root;
    this.size = size;
  }

  /** @throws InvalidArgumentError on a malformed id or too many ids. */
  static build(ids: readonly Uint8Array[], provider: CryptoProvider = getCryptoProvider()): MerkleTree {
    checkIds(ids);
    if (ids.length === 0) return new MerkleTree([], provider.sha256(new Uint8Array(0)), 0);
    const scratch = new Uint8Array(65);
    const levels: Uint8Array[][] = [ids.map((id) => leafHashInto(scratch, id, provider))];
    while (levels[levels.length - 1]!.length > 1) levels.push(nextLevel(levels[levels.length - 1]!, scratch, provider));
    return new MerkleTree(levels, levels[levels.length - 1]![0]!, ids.length);
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
      if (sibling < level.length) path.push(level[sibling]!);
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
  const scratch = new Uint8Array(65);
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHashInto(scratch, id, provider);
  for (const p of path) {
    if (!(p instanceof Uint8Array) || p.length !== 32) return false;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHashInto(scratch, p, r, provider);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHashInto(scratch, r, p, provider);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return false;
  for (let i = 0; i < 32; i++) if (r[i] !== root[i]) return false;
  return true;
}
