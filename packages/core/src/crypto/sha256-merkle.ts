/**
 * SHA-256 specialised for the two fixed-size inputs of the RFC 9162 Merkle tree: a leaf `0x00 || id` (33 bytes, one
 * compression) and an inner node `0x01 || left || right` (65 bytes, two compressions). Hashes are kept as eight
 * big-endian 32-bit words, so a level of the tree is one flat `Int32Array` and no byte array is allocated per node.
 *
 * Why not the provider's `sha256`: a tree over 100,000 ids is 200,000 hashes of under 66 bytes, where the cost of a
 * call into OpenSSL (or of noble's streaming hasher objects) is several times the cost of the compression itself.
 * The results are the standard SHA-256 (FIPS 180-4) of those exact inputs; tests compare them with both providers.
 */

import { compressWords, SHA256_IV } from './sha256-compress.js';

/** Bit length of the leaf input (33 bytes) and the node input (65 bytes), for the padding's length field. */
const LEAF_BITS = 33 * 8;
const NODE_BITS = 65 * 8;

// Scratch shared by every call: the message schedule and the chaining state. JavaScript runs one call at a time per
// thread, and no function here calls out while they are in use.
const W = new Int32Array(64);
const H = new Int32Array(8);

/** One SHA-256 compression of the block in `W[0..15]` into `H`. */
function compress(): void {
  compressWords(W, H);
}

function storeState(out: Int32Array, at: number): void {
  for (let i = 0; i < 8; i++) out[at + i] = H[i]!;
}

/**
 * Writes the leaf hash SHA-256(0x00 || id) of the 32-byte `id` at byte `idAt` of `ids` into `out[at..at+8)`.
 * The caller has checked the bounds.
 */
export function leafHashWords(ids: Uint8Array, idAt: number, out: Int32Array, at: number): void {
  // Message bytes: 0x00, id[0..31], 0x80, zeros, 64-bit length. The leading zero byte shifts the id by one byte.
  W[0] = (ids[idAt]! << 16) | (ids[idAt + 1]! << 8) | ids[idAt + 2]!;
  for (let j = 1; j < 8; j++) {
    const p = idAt + 4 * j - 1;
    W[j] = (ids[p]! << 24) | (ids[p + 1]! << 16) | (ids[p + 2]! << 8) | ids[p + 3]!;
  }
  W[8] = (ids[idAt + 31]! << 24) | 0x0080_0000;
  for (let j = 9; j < 15; j++) W[j] = 0;
  W[15] = LEAF_BITS;
  H.set(SHA256_IV);
  compress();
  storeState(out, at);
}

/**
 * Writes the node hash SHA-256(0x01 || left || right) into `out[at..at+8)`, where `left` and `right` are the eight
 * words at `words[l..l+8)` and `words[r..r+8)`. `out` may be `words` and `at` may equal `l`: the inputs are read
 * before the output is written.
 */
export function nodeHashWords(words: Int32Array, l: number, r: number, out: Int32Array, at: number): void {
  // First block: 0x01, left (32 bytes), right[0..30]. Every word straddles two input words by one byte.
  W[0] = 0x0100_0000 | (words[l]! >>> 8);
  for (let j = 1; j < 8; j++) W[j] = (words[l + j - 1]! << 24) | (words[l + j]! >>> 8);
  W[8] = (words[l + 7]! << 24) | (words[r]! >>> 8);
  for (let j = 1; j < 8; j++) W[8 + j] = (words[r + j - 1]! << 24) | (words[r + j]! >>> 8);
  const last = words[r + 7]! << 24;
  H.set(SHA256_IV);
  compress();
  // Second block: right[31], 0x80, zeros, 64-bit length.
  W[0] = last | 0x0080_0000;
  for (let j = 1; j < 15; j++) W[j] = 0;
  W[15] = NODE_BITS;
  compress();
  storeState(out, at);
}

/** Reads a 32-byte hash into eight big-endian words at `out[at..at+8)`. */
export function bytesToWords(bytes: Uint8Array, out: Int32Array, at: number): void {
  for (let j = 0; j < 8; j++) {
    const p = 4 * j;
    out[at + j] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
  }
}

/** The 32 bytes of the hash held in the eight words at `words[at..at+8)`. */
export function wordsToBytes(words: Int32Array, at: number): Uint8Array {
  const out = new Uint8Array(32);
  for (let j = 0; j < 8; j++) {
    const w = words[at + j]!;
    const p = 4 * j;
    out[p] = w >>> 24;
    out[p + 1] = w >>> 16;
    out[p + 2] = w >>> 8;
    out[p + 3] = w;
  }
  return out;
}
