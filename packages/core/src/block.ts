import { assertBytes, assertObject, compareBytes, concatBytes, describe, equalBytes, toHex, utf8 } from './bytes.js';
import { isU64Big, Reader, Writer } from './codec.js';
import { getCryptoProvider, type CryptoProvider, type Ed25519Signer } from './crypto/provider.js';
import { verifySignature } from './crypto/signature.js';
import { InvalidArgumentError, LengthLimitError, NonCanonicalOrderError } from './errors.js';
import { MAX_BLOCK_SIGNATURES, MAX_BLOCK_TRANSACTIONS, MAX_EXTRA_DATA_BYTES, MAX_NONCES } from './limits.js';
import { merkleRoot } from './merkle.js';
import { MIN_TX_BYTES, readTransaction, transactionId, writeTransaction, type Transaction } from './transaction.js';

/**
 * Blocks, with the paper's header fields (timestamp, previous digest, difficulty, nonce list, height, Merkle root,
 * signatures) plus the transaction count (needed to check an inclusion path) and extra data for the consensus.
 *
 * The block hash rule: the hash is SHA-256 of the header encoded WITHOUT its signatures (the "sealing bytes").
 * Signatures sign that hash. So nobody can make a second hash for the same block by adding, dropping or reordering
 * signatures: the hash does not depend on them. The signatures themselves are stored in one canonical order
 * (strictly ascending public key, no duplicates), and each is strict ed25519, so the full header bytes are canonical
 * too. Whether a header carries enough signatures is the consensus engine's question, not the hash's.
 */

/** Kind byte `B` and format version of an encoded block header. */
export const BLOCK_HEADER_KIND = 0x42;
export const BLOCK_HEADER_VERSION = 1;
/** Domain tag of block seal signatures: `sign(BLOCK_SIGNATURE_DOMAIN || blockHash)`. */
export const BLOCK_SIGNATURE_DOMAIN: Uint8Array = utf8('safechain/block/v1');
/** The previous hash of a genesis block. */
export const ZERO_HASH: Uint8Array = new Uint8Array(32);

export interface BlockSignature {
  /** The signer's public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** ed25519 signature over `BLOCK_SIGNATURE_DOMAIN || blockHash` (64 bytes). */
  readonly signature: Uint8Array;
}

export interface BlockHeader {
  /** 0 for genesis. */
  readonly height: number;
  /** Milliseconds since the Unix epoch. */
  readonly timestamp: number;
  /** The parent's block hash ("previous digest"); 32 zero bytes for genesis. */
  readonly previousHash: Uint8Array;
  /** RFC 9162 root over the ids of the block's transactions, in block order. */
  readonly merkleRoot: Uint8Array;
  /** Number of transactions: the Merkle tree size. */
  readonly txCount: number;
  /** Consensus difficulty; for proof of work the expected number of hashes. 1 where unused. */
  readonly difficulty: bigint;
  /** Nonces the consensus may vary (proof of work). Each a u64. */
  readonly nonces: readonly bigint[];
  /** Consensus data: chain parameters in genesis, proposer data elsewhere. */
  readonly extraData: Uint8Array;
  /** Seals, in strictly ascending public-key order. Not covered by the block hash. */
  readonly signatures: readonly BlockSignature[];
}

/** The paper's `Block { header, data }`: `data` holds the transactions, full or stripped, in Merkle order. */
export interface Block {
  readonly header: BlockHeader;
  readonly data: readonly Transaction[];
}

function assertU53(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name}: expected a non-negative safe integer, got ${describe(value)} ${String(value)}`);
  }
}

/** Checks every field of a header a caller built. @throws InvalidArgumentError, NonCanonicalOrderError */
export function assertBlockHeader(h: BlockHeader): void {
  assertObject(h, 'header');
  assertU53(h.height, 'header.height');
  assertU53(h.timestamp, 'header.timestamp');
  assertBytes(h.previousHash, 'header.previousHash', 32);
  assertBytes(h.merkleRoot, 'header.merkleRoot', 32);
  assertU53(h.txCount, 'header.txCount');
  if (h.txCount > MAX_BLOCK_TRANSACTIONS) {
    throw new InvalidArgumentError(`header.txCount: expected at most ${MAX_BLOCK_TRANSACTIONS}, got ${h.txCount}`);
  }
  if (!isU64Big(h.difficulty)) throw new InvalidArgumentError('header.difficulty: expected a u64 bigint');
  if (!Array.isArray(h.nonces) || h.nonces.length > MAX_NONCES) {
    throw new InvalidArgumentError(`header.nonces: expected an array of at most ${MAX_NONCES} u64 bigints`);
  }
  h.nonces.forEach((n, i) => {
    if (!isU64Big(n)) throw new InvalidArgumentError(`header.nonces[${i}]: expected a u64 bigint`);
  });
  assertBytes(h.extraData, 'header.extraData');
  if (h.extraData.length > MAX_EXTRA_DATA_BYTES) {
    throw new InvalidArgumentError(`header.extraData: expected at most ${MAX_EXTRA_DATA_BYTES} bytes, got ${h.extraData.length}`);
  }
  if (!Array.isArray(h.signatures) || h.signatures.length > MAX_BLOCK_SIGNATURES) {
    throw new InvalidArgumentError(`header.signatures: expected an array of at most ${MAX_BLOCK_SIGNATURES}`);
  }
  h.signatures.forEach((s, i) => {
    assertObject(s, `header.signatures[${i}]`);
    assertBytes(s.publicKey, `header.signatures[${i}].publicKey`, 32);
    assertBytes(s.signature, `header.signatures[${i}].signature`, 64);
    if (i > 0 && compareBytes(h.signatures[i - 1]!.publicKey, s.publicKey) >= 0) {
      throw new NonCanonicalOrderError(`header.signatures[${i}]`, -1, 'public keys must be strictly ascending');
    }
  });
}

function writeUnsigned(w: Writer, h: BlockHeader): void {
  w.u8(BLOCK_HEADER_KIND).u8(BLOCK_HEADER_VERSION).u64(h.height).u64(h.timestamp);
  w.fixed(h.previousHash).fixed(h.merkleRoot).u32(h.txCount).u64Big(h.difficulty);
  w.varint(h.nonces.length);
  for (const n of h.nonces) w.u64Big(n);
  w.varBytes(h.extraData);
}

function writeHeader(w: Writer, h: BlockHeader): void {
  writeUnsigned(w, h);
  w.varint(h.signatures.length);
  for (const s of h.signatures) w.fixed(s.publicKey).fixed(s.signature);
}

function readHeader(r: Reader): BlockHeader {
  r.tag('blockHeader', BLOCK_HEADER_KIND, [BLOCK_HEADER_VERSION]);
  const height = r.u64('blockHeader.height');
  const timestamp = r.u64('blockHeader.timestamp');
  const previousHash = r.fixed('blockHeader.previousHash', 32);
  const merkleRoot = r.fixed('blockHeader.merkleRoot', 32);
  const txCountAt = r.offset;
  const txCount = r.u32('blockHeader.txCount');
  if (txCount > MAX_BLOCK_TRANSACTIONS) {
    throw new LengthLimitError('blockHeader.txCount', txCountAt, `${txCount} above limit ${MAX_BLOCK_TRANSACTIONS}`);
  }
  const difficulty = r.u64Big('blockHeader.difficulty');
  const nonceCount = r.count('blockHeader.nonces.count', MAX_NONCES, 8);
  const nonces: bigint[] = [];
  for (let i = 0; i < nonceCount; i++) nonces.push(r.u64Big(`blockHeader.nonces[${i}]`));
  const extraData = r.varBytes('blockHeader.extraData', MAX_EXTRA_DATA_BYTES);
  const sigCount = r.count('blockHeader.signatures.count', MAX_BLOCK_SIGNATURES, 96);
  const signatures: BlockSignature[] = [];
  for (let i = 0; i < sigCount; i++) {
    const at = r.offset;
    const publicKey = r.fixed(`blockHeader.signatures[${i}].publicKey`, 32);
    const signature = r.fixed(`blockHeader.signatures[${i}].signature`, 64);
    if (i > 0 && compareBytes(signatures[i - 1]!.publicKey, publicKey) >= 0) {
      throw new NonCanonicalOrderError(`blockHeader.signatures[${i}]`, at, 'public keys must be strictly ascending');
    }
    signatures.push({ publicKey, signature });
  }
  return { height, timestamp, previousHash, merkleRoot, txCount, difficulty, nonces, extraData, signatures };
}

/** Canonical bytes of a header, signatures included: what is stored and sent. */
export function encodeBlockHeader(header: BlockHeader): Uint8Array {
  assertBlockHeader(header);
  const w = new Writer(160 + header.extraData.length + header.signatures.length * 96);
  writeHeader(w, header);
  return w.finish();
}

/** The sealing bytes: the header without its signatures. The block hash is their SHA-256. */
export function encodeUnsignedBlockHeader(header: BlockHeader): Uint8Array {
  assertBlockHeader(header);
  const w = new Writer(160 + header.extraData.length);
  writeUnsigned(w, header);
  return w.finish();
}

/** Decodes exactly one block header. @throws a DecodeError subclass naming field and offset */
export function decodeBlockHeader(bytes: Uint8Array): BlockHeader {
  assertBytes(bytes, 'bytes');
  const r = new Reader(bytes);
  const header = readHeader(r);
  r.end('blockHeader');
  return header;
}

/** The block hash: SHA-256 of the sealing bytes (signatures excluded, see the module comment). */
export function blockHash(header: BlockHeader, provider: CryptoProvider = getCryptoProvider()): Uint8Array {
  return provider.sha256(encodeUnsignedBlockHeader(header));
}

/** The bytes a validator or producer signs to seal a block with hash `hash`. */
export function blockSigningMessage(hash: Uint8Array): Uint8Array {
  assertBytes(hash, 'hash', 32);
  return concatBytes(BLOCK_SIGNATURE_DOMAIN, hash);
}

/**
 * Returns `header` with `signer`'s seal added in canonical position (replacing an earlier seal by the same key).
 * The block hash does not change. @throws InvalidArgumentError when the header is malformed.
 */
export function signBlockHeader(
  header: BlockHeader,
  signer: Ed25519Signer,
  provider: CryptoProvider = getCryptoProvider(),
): BlockHeader {
  assertObject(signer, 'signer');
  if (typeof signer.sign !== 'function') throw new InvalidArgumentError('signer: expected an object with a sign method');
  const signature = signer.sign(blockSigningMessage(blockHash(header, provider)));
  return withBlockSignature(header, { publicKey: signer.publicKey, signature });
}

/**
 * Returns `header` with `seal` inserted in canonical order (replacing a seal by the same key). The seal is not verified.
 * @throws InvalidArgumentError when the header or the seal is malformed.
 */
export function withBlockSignature(header: BlockHeader, seal: BlockSignature): BlockHeader {
  assertBlockHeader(header);
  assertObject(seal, 'seal');
  assertBytes(seal.publicKey, 'seal.publicKey', 32);
  assertBytes(seal.signature, 'seal.signature', 64);
  const others = header.signatures.filter((s) => !equalBytes(s.publicKey, seal.publicKey));
  const signatures = [...others, seal].sort((a, b) => compareBytes(a.publicKey, b.publicKey));
  return { ...header, signatures };
}

export type BlockSignatureVerdict =
  | { readonly valid: true }
  | { readonly valid: false; readonly index: number; readonly signer: string; readonly message: string };

/**
 * Checks that every seal on the header is a valid signature of the block hash by its listed key. Says nothing about
 * whether those keys may seal this chain: that is the consensus engine's rule.
 */
export function verifyBlockSignatures(
  header: BlockHeader,
  provider: CryptoProvider = getCryptoProvider(),
): BlockSignatureVerdict {
  const message = blockSigningMessage(blockHash(header, provider));
  for (let i = 0; i < header.signatures.length; i++) {
    const s = header.signatures[i]!;
    if (!verifySignature(s.publicKey, message, s.signature, provider)) {
      const signer = toHex(s.publicKey);
      return { valid: false, index: i, signer, message: `block signature ${i} by ${signer} does not verify` };
    }
  }
  return { valid: true };
}

/**
 * Canonical bytes of a block: the header, then each transaction (full or stripped) in order.
 * @throws InvalidArgumentError when the block is malformed or `data` does not hold `txCount` transactions.
 */
export function encodeBlock(block: Block): Uint8Array {
  assertObject(block, 'block');
  assertBlockHeader(block.header);
  if (!Array.isArray(block.data) || block.data.length !== block.header.txCount) {
    throw new InvalidArgumentError(`block.data: header says ${block.header.txCount} transactions, got ${describe(block.data)}`);
  }
  let size = 256 + block.header.extraData.length + block.header.signatures.length * 96;
  for (const tx of block.data) size += 256 + (tx?.payload instanceof Uint8Array ? tx.payload.length : 0);
  const w = new Writer(size);
  writeHeader(w, block.header);
  for (const tx of block.data) writeTransaction(w, tx);
  return w.finish();
}

/** Decodes exactly one block. @throws a DecodeError subclass naming field and offset */
export function decodeBlock(bytes: Uint8Array): Block {
  assertBytes(bytes, 'bytes');
  const r = new Reader(bytes);
  const header = readHeader(r);
  if (header.txCount * MIN_TX_BYTES > r.remaining) {
    r.fixed('block.data', header.txCount * MIN_TX_BYTES); // throws TruncatedInputError before allocating
  }
  const data: Transaction[] = [];
  for (let i = 0; i < header.txCount; i++) data.push(readTransaction(r));
  r.end('block');
  return { header, data };
}

/** The ids of a block's transactions, in order. @throws InvalidArgumentError when the block is malformed. */
export function blockTransactionIds(block: Block, provider: CryptoProvider = getCryptoProvider()): Uint8Array[] {
  assertObject(block, 'block');
  if (!Array.isArray(block.data)) throw new InvalidArgumentError(`block.data: expected array, got ${describe(block.data)}`);
  return block.data.map((tx) => transactionId(tx, provider));
}

export interface BuildBlockInput {
  /** The parent header, or `null` for a genesis block. */
  readonly parent: BlockHeader | null;
  readonly transactions: readonly Transaction[];
  /**
   * The transactions' ids, when the caller already has them (a mempool computed them on admission): saves hashing
   * every header again. Trusted as given: a wrong id makes a Merkle root that does not match the transactions, and
   * any Block Tree refuses such a block.
   */
  readonly ids?: readonly Uint8Array[];
  readonly timestamp: number;
  readonly difficulty?: bigint;
  readonly nonces?: readonly bigint[];
  readonly extraData?: Uint8Array;
}

/**
 * Assembles an unsealed block on `parent`: height, previous hash, Merkle root and count are derived.
 * The consensus engine seals it afterwards. @throws InvalidArgumentError when an input is malformed.
 */
export function buildBlock(input: BuildBlockInput, provider: CryptoProvider = getCryptoProvider()): Block {
  assertObject(input, 'input');
  if (!Array.isArray(input.transactions)) {
    throw new InvalidArgumentError(`input.transactions: expected array, got ${describe(input.transactions)}`);
  }
  if (input.parent !== null) assertBlockHeader(input.parent);
  let ids: readonly Uint8Array[];
  if (input.ids === undefined) {
    ids = input.transactions.map((tx) => transactionId(tx, provider));
  } else {
    // Each id's length is checked by merkleRoot.
    if (!Array.isArray(input.ids) || input.ids.length !== input.transactions.length) {
      throw new InvalidArgumentError(`input.ids: expected one id per transaction (${input.transactions.length}), got ${describe(input.ids)}`);
    }
    ids = input.ids;
  }
  const header: BlockHeader = {
    height: input.parent === null ? 0 : input.parent.height + 1,
    timestamp: input.timestamp,
    previousHash: input.parent === null ? ZERO_HASH.slice() : blockHash(input.parent, provider),
    merkleRoot: merkleRoot(ids, provider),
    txCount: ids.length,
    difficulty: input.difficulty ?? 1n,
    nonces: input.nonces ?? [],
    extraData: input.extraData ?? new Uint8Array(0),
    signatures: [],
  };
  assertBlockHeader(header);
  return { header, data: input.transactions };
}

export type BlockBodyVerdict =
  | { readonly valid: true; readonly ids: readonly Uint8Array[] }
  | { readonly valid: false; readonly reason: 'tx-count-mismatch' | 'merkle-root-mismatch' | 'duplicate-transaction'; readonly message: string };

/**
 * Cheap structural checks of a block body against its header: transaction count, no transaction twice, Merkle root.
 * Signatures of transactions are not checked here. @throws InvalidArgumentError when the block is malformed.
 */
export function checkBlockBody(block: Block, provider: CryptoProvider = getCryptoProvider()): BlockBodyVerdict {
  assertObject(block, 'block');
  assertBlockHeader(block.header);
  if (!Array.isArray(block.data)) throw new InvalidArgumentError(`block.data: expected array, got ${describe(block.data)}`);
  if (block.data.length !== block.header.txCount) {
    return { valid: false, reason: 'tx-count-mismatch', message: `header says ${block.header.txCount}, body has ${block.data.length}` };
  }
  const ids = blockTransactionIds(block, provider);
  const seen = new Set<string>();
  for (const id of ids) {
    const key = toHex(id);
    if (seen.has(key)) return { valid: false, reason: 'duplicate-transaction', message: `transaction ${key} appears twice` };
    seen.add(key);
  }
  if (!equalBytes(merkleRoot(ids, provider), block.header.merkleRoot)) {
    return { valid: false, reason: 'merkle-root-mismatch', message: 'Merkle root does not match the transactions' };
  }
  return { valid: true, ids };
}
