/**
 * fast-check arbitraries for the structures of `@safechain/core`, shared by the unit and integration tests. They
 * produce every shape the encoders accept: absent and empty sources, non-ASCII text, lengths on both sides of the
 * one-byte varint boundary, u64 extremes, sorted seal lists.
 */
import fc from 'fast-check';
import {
  MAX_BLOCK_TRANSACTIONS,
  MAX_CONTENT_TYPE_BYTES,
  MAX_NONCES,
  MAX_SOURCE_BYTES,
  MAX_TRACE_CODE_BYTES,
  MAX_TRACE_CODES,
  compareBytes,
  toHex,
  utf8,
  type Block,
  type BlockHeader,
  type BlockSignature,
  type Transaction,
  type TxHeader,
} from '@safechain/core';

export const bytes32: fc.Arbitrary<Uint8Array> = fc.uint8Array({ minLength: 32, maxLength: 32 });
export const bytes64: fc.Arbitrary<Uint8Array> = fc.uint8Array({ minLength: 64, maxLength: 64 });
export const u53: fc.Arbitrary<number> = fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, 127, 128, 2 ** 32, Number.MAX_SAFE_INTEGER));
export const u64: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.constantFrom(0n, 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n),
);

/** Well-formed text of at most `maxBytes` UTF-8 bytes, ASCII or any Unicode scalar values. */
export function text(maxBytes: number, maxLength = Math.min(maxBytes, 40)): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.string({ unit: 'binary-ascii', maxLength }),
      fc.string({ unit: 'binary', maxLength }),
      fc.string({ unit: 'grapheme', maxLength: Math.max(1, maxLength >> 2) }),
    )
    .filter((s) => utf8(s).length <= maxBytes);
}

export const txHeader: fc.Arbitrary<TxHeader> = fc
  .record({
    chainId: bytes32,
    origin: bytes32,
    sequence: u53,
    createdAt: u53,
    contentType: text(MAX_CONTENT_TYPE_BYTES, 140),
    source: fc.option(text(MAX_SOURCE_BYTES, 200), { nil: undefined }),
    traceCodes: fc.array(text(MAX_TRACE_CODE_BYTES), { maxLength: MAX_TRACE_CODES }),
    payloadHash: bytes32,
    payloadSize: fc.nat({ max: 5000 }),
  })
  .map(({ source, ...rest }) => (source === undefined ? rest : { ...rest, source }));

/** A transaction, full or stripped. The signature is random: the codec does not verify. */
export const transaction: fc.Arbitrary<Transaction> = fc
  .tuple(txHeader, bytes64, fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }))
  .map(([header, signature, payload]) =>
    payload === undefined ? { header, signature } : { header: { ...header, payloadSize: payload.length }, signature, payload },
  );

export const blockSignatures: fc.Arbitrary<BlockSignature[]> = fc
  .uniqueArray(fc.record({ publicKey: bytes32, signature: bytes64 }), { selector: (s) => toHex(s.publicKey), maxLength: 5 })
  .map((list) => list.sort((a, b) => compareBytes(a.publicKey, b.publicKey)));

export function blockHeaderWith(txCount: fc.Arbitrary<number>): fc.Arbitrary<BlockHeader> {
  return fc.record({
    height: u53,
    timestamp: u53,
    previousHash: bytes32,
    merkleRoot: bytes32,
    txCount,
    difficulty: u64,
    nonces: fc.array(u64, { maxLength: MAX_NONCES }),
    extraData: fc.uint8Array({ maxLength: 300 }),
    signatures: blockSignatures,
  });
}

export const blockHeader: fc.Arbitrary<BlockHeader> = blockHeaderWith(
  fc.oneof(fc.nat({ max: MAX_BLOCK_TRANSACTIONS }), fc.constant(MAX_BLOCK_TRANSACTIONS)),
);

/** A block whose header counts its transactions (the Merkle root is random: the codec does not check it). */
export const block: fc.Arbitrary<Block> = fc
  .tuple(blockHeaderWith(fc.constant(0)), fc.array(transaction, { maxLength: 4 }))
  .map(([header, data]) => ({ header: { ...header, txCount: data.length }, data }));
