import { utf8, type Block, type BlockHeader, type Transaction } from '@safechain/core';

/**
 * Exact sizes of canonical encodings, computed without encoding: the mempool, the producer and the Block Tree bound
 * memory and blocks by these numbers, so they must match `encodeTransaction` / `encodeBlock` to the byte.
 */

function varintSize(value: number): number {
  let n = 1;
  let v = value;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function stringSize(value: string): number {
  // Content types and trace codes are nearly always ASCII: counted without encoding (and allocating) them.
  let n = value.length;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) >= 0x80) {
      n = utf8(value).length;
      break;
    }
  }
  return varintSize(n) + n;
}

/** Bytes of `encodeTransaction(tx)`: signed header, signature, payload flag and payload. */
export function transactionSize(tx: Transaction): number {
  const h = tx.header;
  let n = 2 + 32 + 32 + 8 + 8; // kind, version, chain id, origin, sequence, created at
  n += stringSize(h.contentType);
  n += 1 + (h.source === undefined ? 0 : stringSize(h.source));
  n += varintSize(h.traceCodes.length);
  for (const code of h.traceCodes) n += stringSize(code);
  n += 32 + 8 + 64 + 1; // payload hash, payload size, signature, payload flag
  return n + (tx.payload?.length ?? 0);
}

/** Bytes of `encodeBlockHeader(header)`, signatures included. */
export function blockHeaderSize(header: BlockHeader): number {
  let n = 2 + 8 + 8 + 32 + 32 + 4 + 8; // kind, version, height, timestamp, previous hash, root, count, difficulty
  n += varintSize(header.nonces.length) + 8 * header.nonces.length;
  n += varintSize(header.extraData.length) + header.extraData.length;
  n += varintSize(header.signatures.length) + 96 * header.signatures.length;
  return n;
}

/** Bytes of `encodeBlock(block)`. */
export function blockSize(block: Block): number {
  let n = blockHeaderSize(block.header);
  for (const tx of block.data) n += transactionSize(tx);
  return n;
}
