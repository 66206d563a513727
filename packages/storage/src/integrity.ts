import {
  blockHash,
  encodeBlockHeader,
  equalBytes,
  getCryptoProvider,
  merkleRoot,
  toHex,
  transactionId,
  verifyTransaction,
  ZERO_HASH,
  type CryptoProvider,
} from '@safechain/core';
import type { ChainStore, StoredBlockInfo } from './store.js';

/**
 * The full integrity pass behind `safechain db check` and the crash tests. It trusts nothing the store says about
 * itself and checks, with `@safechain/core` alone:
 * 1. the canonical chain: every height from genesis to the tip holds a stored block of that height whose hash is the
 *    hash of its header and whose previous hash is the block below (genesis: zeros); the tip is the last one;
 * 2. every stored block, canonical or fork: its body's header is the stored header, the leaves are `txCount` long and
 *    their Merkle root is the header's, each stored transaction's id is its leaf; a stripped transaction's signature
 *    verifies against its signed header, a full transaction's payload matches the signed payload hash;
 * 3. the transaction index: each transaction of a canonical block is found by id at its block, height and position.
 * It stops at the first bad block and says why, since one bad block usually explains the ones after it.
 */

export type IntegrityFailure =
  /** A canonical height, or the block a canonical height names, is missing. */
  | 'missing-block'
  /** A stored header does not hash to the hash it is stored under, or the body's header differs from it. */
  | 'hash-mismatch'
  /** A block sits at a canonical height other than its header's. */
  | 'height-mismatch'
  /** A canonical block's previous hash is not the hash of the canonical block below. */
  | 'broken-link'
  /** The tip is not the last canonical block, or a canonical entry exists above it. */
  | 'tip-mismatch'
  /** The body or the leaves do not hold `txCount` transactions. */
  | 'tx-count-mismatch'
  /** The Merkle root over the leaves is not the header's. */
  | 'merkle-root-mismatch'
  /** A stored transaction's id is not its leaf. */
  | 'leaf-mismatch'
  /** A transaction's origin signature does not verify. */
  | 'bad-signature'
  /** A full transaction's payload does not match its signed payload hash. */
  | 'payload-mismatch'
  /** A canonical transaction is not found by id where it is, or found elsewhere. */
  | 'index-mismatch'
  /** Reading failed: the store reported damage (checksum, decoding) or another error. */
  | 'unreadable';

export interface IntegrityProblem {
  readonly reason: IntegrityFailure;
  /** Hex hash of the bad block, when known. */
  readonly hash?: string;
  readonly height: number;
  /** Position of the bad transaction in its block, when one is to blame. */
  readonly txIndex?: number;
  readonly message: string;
}

export interface IntegrityProgress {
  /** `chain`: walking the canonical chain; `blocks`: checking stored blocks. */
  readonly phase: 'chain' | 'blocks';
  /** Heights walked or blocks checked so far in this phase. */
  readonly done: number;
  /** Height of the block just checked. */
  readonly height: number;
}

export type IntegrityReport =
  | {
      readonly ok: true;
      /** Tip height, or -1 for an empty store. */
      readonly tipHeight: number;
      readonly blocks: number;
      readonly transactions: number;
    }
  | {
      readonly ok: false;
      readonly problem: IntegrityProblem;
      /** Blocks and transactions found good before the problem. */
      readonly blocks: number;
      readonly transactions: number;
    };

export interface IntegrityOptions {
  /** Also verify the signatures of full transactions (the payload check already proves their bytes). Default false. */
  readonly verifyAllSignatures?: boolean;
  readonly provider?: CryptoProvider;
}

class Found {
  constructor(readonly problem: IntegrityProblem) {}
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Checks `store` as described above. Reads every stored block once, so it takes time proportional to the store.
 * Never throws for damage it finds: it answers with the first problem. Calls `onProgress` after each height and block.
 * @throws only what `store` throws outside of reading blocks (StoreClosedError when the store is closed).
 */
export async function checkStoreIntegrity(
  store: ChainStore,
  onProgress?: (progress: IntegrityProgress) => void,
  options: IntegrityOptions = {},
): Promise<IntegrityReport> {
  const provider = options.provider ?? getCryptoProvider();
  let blocks = 0;
  let transactions = 0;
  const fail: (problem: IntegrityProblem) => never = (problem) => {
    throw new Found(problem);
  };
  const read = async <T>(what: () => Promise<T>, height: number, hash: string | undefined): Promise<T> => {
    try {
      return await what();
    } catch (error) {
      if (error instanceof Found) throw error;
      const where = hash === undefined ? {} : { hash };
      return fail({ reason: 'unreadable', height, ...where, message: describeError(error) });
    }
  };

  try {
    // 1. The canonical chain, headers only.
    const tip = await store.getTip();
    const canonical = new Set<string>();
    let previous: Uint8Array = ZERO_HASH;
    const tipHeight = tip?.height ?? -1;
    for (let height = 0; height <= tipHeight; height++) {
      const hash = await read(() => store.getCanonicalHash(height), height, undefined);
      if (hash === undefined) fail({ reason: 'missing-block', height, message: `no canonical block at height ${height}, below the tip` });
      const hex = toHex(hash);
      const info = await read(() => store.getBlockInfo(hash), height, hex);
      if (info === undefined) fail({ reason: 'missing-block', height, hash: hex, message: `canonical block ${hex} is not stored` });
      checkHeader(info, hash, provider, fail, height);
      if (info.header.height !== height) {
        fail({ reason: 'height-mismatch', height, hash: hex, message: `block of height ${info.header.height} at canonical height ${height}` });
      }
      if (!equalBytes(info.header.previousHash, previous)) {
        const expected = height === 0 ? 'zeros' : toHex(previous);
        fail({ reason: 'broken-link', height, hash: hex, message: `previous hash ${toHex(info.header.previousHash)}, expected ${expected}` });
      }
      canonical.add(hex);
      previous = hash;
      onProgress?.({ phase: 'chain', done: height + 1, height });
    }
    if (tip !== undefined && !equalBytes(tip.hash, previous)) {
      fail({ reason: 'tip-mismatch', height: tip.height, hash: toHex(tip.hash), message: `the tip is not the canonical block at height ${tip.height}` });
    }
    const above = await read(() => store.getCanonicalHash(tipHeight + 1), tipHeight + 1, undefined);
    if (above !== undefined) {
      fail({ reason: 'tip-mismatch', height: tipHeight + 1, hash: toHex(above), message: `a canonical entry exists above the tip (height ${tipHeight})` });
    }

    // 2 and 3. Every stored block's body; the index for canonical ones.
    const infos = store.blockInfos(0)[Symbol.asyncIterator]();
    for (;;) {
      const next = await read(() => infos.next(), -1, undefined);
      if (next.done === true) break;
      const info = next.value;
      const hex = toHex(info.hash);
      const height = info.header.height;
      const at = { height, hash: hex };
      checkHeader(info, info.hash, provider, fail, height);
      const block = await read(() => store.getBlock(info.hash), height, hex);
      const leaves = await read(() => store.getLeaves(info.hash), height, hex);
      if (block === undefined || leaves === undefined) fail({ reason: 'missing-block', ...at, message: `block ${hex} is listed but its body is missing` });
      if (!equalBytes(encodeBlockHeader(block.header), encodeBlockHeader(info.header))) {
        fail({ reason: 'hash-mismatch', ...at, message: 'the block body carries a header other than the stored one' });
      }
      const txCount = info.header.txCount;
      if (block.data.length !== txCount || leaves.length !== txCount) {
        fail({ reason: 'tx-count-mismatch', ...at, message: `header says ${txCount} transactions; body has ${block.data.length}, leaves ${leaves.length}` });
      }
      if (!equalBytes(merkleRoot(leaves, provider), info.header.merkleRoot)) {
        fail({ reason: 'merkle-root-mismatch', ...at, message: 'the Merkle root over the stored leaves is not the header root' });
      }
      const isCanonical = canonical.has(hex);
      for (let i = 0; i < txCount; i++) {
        const tx = block.data[i]!;
        const leaf = leaves[i]!;
        if (!equalBytes(transactionId(tx, provider), leaf)) {
          fail({ reason: 'leaf-mismatch', ...at, txIndex: i, message: `transaction ${i}'s id is not leaf ${i} (${toHex(leaf)})` });
        }
        if (tx.payload !== undefined) {
          const payloadOk = tx.payload.length === tx.header.payloadSize && equalBytes(provider.sha256(tx.payload), tx.header.payloadHash);
          if (!payloadOk) fail({ reason: 'payload-mismatch', ...at, txIndex: i, message: `transaction ${i}'s payload does not match its signed payload hash` });
        }
        if (tx.payload === undefined || options.verifyAllSignatures === true) {
          const verdict = verifyTransaction(tx, { provider });
          if (!verdict.valid) fail({ reason: 'bad-signature', ...at, txIndex: i, message: `transaction ${i}: ${verdict.message}` });
        }
        if (isCanonical) {
          const found = await read(() => store.getTransaction(leaf), height, hex);
          if (found === undefined || !equalBytes(found.blockHash, info.hash) || found.height !== height || found.index !== i) {
            const where = found === undefined ? 'not found' : `found at height ${found.height} position ${found.index}`;
            fail({ reason: 'index-mismatch', ...at, txIndex: i, message: `canonical transaction ${toHex(leaf)} ${where}` });
          }
        }
        transactions++;
      }
      blocks++;
      onProgress?.({ phase: 'blocks', done: blocks, height });
    }
    return { ok: true, tipHeight, blocks, transactions };
  } catch (error) {
    if (error instanceof Found) return { ok: false, problem: error.problem, blocks, transactions };
    throw error;
  }
}

function checkHeader(
  info: StoredBlockInfo,
  hash: Uint8Array,
  provider: CryptoProvider,
  fail: (problem: IntegrityProblem) => never,
  height: number,
): void {
  let actual: Uint8Array;
  try {
    actual = blockHash(info.header, provider);
  } catch (error) {
    return fail({ reason: 'unreadable', height, hash: toHex(hash), message: `stored header is malformed: ${describeError(error)}` });
  }
  if (!equalBytes(actual, hash) || !equalBytes(info.hash, hash)) {
    fail({ reason: 'hash-mismatch', height, hash: toHex(hash), message: `the stored header hashes to ${toHex(actual)}` });
  }
}
