import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLOCK_SIGNATURE_DOMAIN,
  InvalidArgumentError,
  LengthLimitError,
  MAX_BLOCK_TRANSACTIONS,
  MAX_EXTRA_DATA_BYTES,
  MAX_NONCES,
  NodeKey,
  NonCanonicalOrderError,
  TrailingBytesError,
  TruncatedInputError,
  UnexpectedKindError,
  UnknownVersionError,
  ZERO_HASH,
  blockHash,
  blockSigningMessage,
  blockTransactionIds,
  buildBlock,
  checkBlockBody,
  compareBytes,
  concatBytes,
  createTransaction,
  decodeBlock,
  decodeBlockHeader,
  encodeBlock,
  encodeBlockHeader,
  encodeUnsignedBlockHeader,
  merkleRoot,
  portableCryptoProvider,
  sha256,
  signBlockHeader,
  stripTransaction,
  transactionId,
  utf8,
  verifyBlockSignatures,
  verifySignature,
  withBlockSignature,
  type Block,
  type BlockHeader,
  type DecodeError,
} from '@safechain/core';
import { block as arbBlock, blockHeader as arbBlockHeader } from '../test/support/arbitraries.js';

function decodeError(fn: () => unknown, type: abstract new (...args: never[]) => DecodeError): DecodeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as DecodeError;
  }
  throw new Error(`expected ${type.name}, nothing was thrown`);
}

const sealers = [1, 2, 3, 4].map((n) => NodeKey.fromSeed(sha256(utf8(`sealer ${n}`))));
const origin = NodeKey.fromSeed(sha256(utf8('origin')));
const genesis = buildBlock({ parent: null, transactions: [], timestamp: 1_767_225_600_000, extraData: utf8('{"chain":"t"}') });
const chainId = blockHash(genesis.header);
const txs = Array.from({ length: 5 }, (_, i) =>
  createTransaction({ chainId, sequence: i, createdAt: 1_767_225_601_000 + i, payload: utf8(`record ${i}`) }, origin),
);
const one = buildBlock({ parent: genesis.header, transactions: txs, timestamp: 1_767_225_660_000, nonces: [7n], difficulty: 1000n });

/** Byte offsets in an encoded header (docs/wire-format.md). */
const AT = { kind: 0, version: 1, txCount: 82, nonceCount: 94 } as const;

describe('block header codec', () => {
  it('decode(encode(header)) is the header and encode(decode(bytes)) the bytes', () => {
    fc.assert(
      fc.property(arbBlockHeader, (h) => {
        const bytes = encodeBlockHeader(h);
        const back = decodeBlockHeader(bytes);
        expect(back).toEqual(h);
        expect(encodeBlockHeader(back)).toEqual(bytes);
        const unsigned = encodeUnsignedBlockHeader(h);
        expect(bytes.subarray(0, unsigned.length)).toEqual(unsigned);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips blocks, and encode(decode(bytes)) is the bytes', () => {
    fc.assert(
      fc.property(arbBlock, (b) => {
        const bytes = encodeBlock(b);
        const back = decodeBlock(bytes);
        expect(back).toEqual(b);
        expect(encodeBlock(back)).toEqual(bytes);
      }),
      { numRuns: 150 },
    );
  });

  it('fails with TruncatedInputError at every prefix of a header and of a block', () => {
    const header = signBlockHeader(signBlockHeader(one.header, sealers[0]!), sealers[1]!);
    const hb = encodeBlockHeader(header);
    for (let n = 0; n < hb.length; n++) expect(() => decodeBlockHeader(hb.subarray(0, n)), `prefix ${n}`).toThrow(TruncatedInputError);
    const bb = encodeBlock({ header, data: txs.map((tx, i) => (i % 2 ? stripTransaction(tx) : tx)) });
    for (let n = 0; n < bb.length; n++) expect(() => decodeBlock(bb.subarray(0, n)), `prefix ${n}`).toThrow(TruncatedInputError);
  });

  it('rejects trailing bytes, another kind and unknown versions', () => {
    const hb = encodeBlockHeader(one.header);
    expect(decodeError(() => decodeBlockHeader(concatBytes(hb, Uint8Array.of(0))), TrailingBytesError).offset).toBe(hb.length);
    const bb = encodeBlock(one);
    expect(decodeError(() => decodeBlock(concatBytes(bb, Uint8Array.of(0))), TrailingBytesError).field).toBe('block');
    const kind = hb.slice();
    kind[AT.kind] = 0x54;
    expect(decodeError(() => decodeBlockHeader(kind), UnexpectedKindError).field).toBe('blockHeader.kind');
    const version = hb.slice();
    version[AT.version] = 2;
    expect(decodeError(() => decodeBlockHeader(version), UnknownVersionError).offset).toBe(AT.version);
  });

  it('rejects counts and lengths over their limits before allocating', () => {
    const hb = encodeBlockHeader(one.header);
    const tooMany = hb.slice();
    new DataView(tooMany.buffer).setUint32(AT.txCount, MAX_BLOCK_TRANSACTIONS + 1);
    const e = decodeError(() => decodeBlockHeader(tooMany), LengthLimitError);
    expect([e.field, e.offset]).toEqual(['blockHeader.txCount', AT.txCount]);
    const nonces = hb.slice();
    nonces[AT.nonceCount] = MAX_NONCES + 1;
    expect(decodeError(() => decodeBlockHeader(nonces), LengthLimitError).field).toBe('blockHeader.nonces.count');
    // extra data: count 1 nonce (8 bytes) then the length varint
    const extraAt = AT.nonceCount + 1 + 8;
    const big = MAX_EXTRA_DATA_BYTES + 1;
    const extra = concatBytes(hb.subarray(0, extraAt), Uint8Array.of((big & 0x7f) | 0x80, ((big >> 7) & 0x7f) | 0x80, big >> 14));
    expect(decodeError(() => decodeBlockHeader(extra), LengthLimitError).field).toBe('blockHeader.extraData.length');
    // A block header claiming 4 million transactions with none following fails before any array is built.
    const claim = hb.slice();
    new DataView(claim.buffer).setUint32(AT.txCount, MAX_BLOCK_TRANSACTIONS);
    expect(decodeError(() => decodeBlock(claim), TruncatedInputError).field).toBe('block.data');
  });

  it('rejects unsorted and duplicate seals when decoding and when encoding', () => {
    const sealed = signBlockHeader(signBlockHeader(one.header, sealers[0]!), sealers[1]!);
    const [a, b] = sealed.signatures;
    const reversed: BlockHeader = { ...sealed, signatures: [b!, a!] };
    const duplicated: BlockHeader = { ...sealed, signatures: [a!, a!] };
    for (const h of [reversed, duplicated]) {
      expect(() => encodeBlockHeader(h)).toThrow(NonCanonicalOrderError);
      // Build the bytes by hand, as a peer could send them.
      const unsigned = encodeUnsignedBlockHeader({ ...h, signatures: [] });
      const bytes = concatBytes(
        unsigned,
        Uint8Array.of(2),
        ...h.signatures.flatMap((s) => [s.publicKey, s.signature]),
      );
      const e = decodeError(() => decodeBlockHeader(bytes), NonCanonicalOrderError);
      expect(e.field).toBe('blockHeader.signatures[1]');
      expect(e.offset).toBe(unsigned.length + 1 + 96);
    }
  });
});

describe('block hash and seals', () => {
  it('is SHA-256 of the header without seals, unchanged by adding, replacing or reordering seals', () => {
    const hash = blockHash(one.header);
    expect(hash).toEqual(sha256(encodeUnsignedBlockHeader(one.header)));
    const orders = [
      [0, 1, 2],
      [2, 1, 0],
      [1, 0, 2],
    ];
    const encodings = orders.map((order) => {
      let h = one.header;
      for (const i of order) h = signBlockHeader(h, sealers[i]!);
      expect(blockHash(h)).toEqual(hash);
      expect(h.signatures.map((s) => s.publicKey)).toEqual([...h.signatures.map((s) => s.publicKey)].sort(compareBytes));
      return encodeBlockHeader(h);
    });
    expect(encodings[1]).toEqual(encodings[0]);
    expect(encodings[2]).toEqual(encodings[0]);
    // Re-sealing with the same key replaces its seal rather than adding a second one.
    const twice = signBlockHeader(signBlockHeader(one.header, sealers[0]!), sealers[0]!);
    expect(twice.signatures.length).toBe(1);
  });

  it('changes with every field the seals cover', () => {
    const h = one.header;
    const variants: BlockHeader[] = [
      { ...h, height: h.height + 1 },
      { ...h, timestamp: h.timestamp + 1 },
      { ...h, previousHash: ZERO_HASH },
      { ...h, merkleRoot: ZERO_HASH },
      { ...h, txCount: h.txCount + 1 },
      { ...h, difficulty: h.difficulty + 1n },
      { ...h, nonces: [8n] },
      { ...h, nonces: [7n, 0n] },
      { ...h, extraData: Uint8Array.of(0) },
    ];
    const hashes = new Set([h, ...variants].map((v) => Buffer.from(blockHash(v)).toString('hex')));
    expect(hashes.size).toBe(variants.length + 1);
  });

  it('seals sign the domain tag and the hash, and verify with both providers', () => {
    const sealed = signBlockHeader(signBlockHeader(one.header, sealers[0]!), sealers[1]!, portableCryptoProvider);
    expect(blockSigningMessage(blockHash(sealed))).toEqual(concatBytes(BLOCK_SIGNATURE_DOMAIN, blockHash(sealed)));
    for (const s of sealed.signatures) expect(verifySignature(s.publicKey, blockSigningMessage(blockHash(sealed)), s.signature)).toBe(true);
    expect(verifyBlockSignatures(sealed)).toEqual({ valid: true });
    expect(verifyBlockSignatures(sealed, portableCryptoProvider)).toEqual({ valid: true });
  });

  it('a changed seal, a seal of another block or a seal under the wrong key fails, naming the seal', () => {
    const sealed = signBlockHeader(signBlockHeader(one.header, sealers[0]!), sealers[1]!);
    const bad = sealed.signatures[1]!.signature.slice();
    bad[5]! ^= 1;
    const changed = { ...sealed, signatures: [sealed.signatures[0]!, { ...sealed.signatures[1]!, signature: bad }] };
    expect(verifyBlockSignatures(changed)).toMatchObject({ valid: false, index: 1 });
    const otherBlock = signBlockHeader({ ...one.header, timestamp: one.header.timestamp + 1 }, sealers[2]!);
    expect(verifyBlockSignatures(withBlockSignature(one.header, otherBlock.signatures[0]!))).toMatchObject({ valid: false, index: 0 });
    const mine = signBlockHeader(one.header, sealers[0]!).signatures[0]!;
    expect(verifyBlockSignatures(withBlockSignature(one.header, { publicKey: sealers[3]!.publicKey, signature: mine.signature }))).toMatchObject({
      valid: false,
    });
  });
});

describe('blocks', () => {
  it('buildBlock derives height, previous hash, Merkle root and count', () => {
    expect(genesis.header.height).toBe(0);
    expect(genesis.header.previousHash).toEqual(ZERO_HASH);
    expect(genesis.header.merkleRoot).toEqual(sha256(new Uint8Array(0)));
    expect(one.header.height).toBe(1);
    expect(one.header.previousHash).toEqual(blockHash(genesis.header));
    expect(one.header.merkleRoot).toEqual(merkleRoot(txs.map((tx) => transactionId(tx))));
    expect(one.header.txCount).toBe(5);
    expect(one.header.signatures).toEqual([]);
    expect(blockTransactionIds(one)).toEqual(txs.map((tx) => transactionId(tx)));
  });

  it('checkBlockBody accepts a body that matches, stripped or not, and says what is wrong otherwise', () => {
    expect(checkBlockBody(one)).toMatchObject({ valid: true });
    const stripped: Block = { ...one, data: one.data.map(stripTransaction) };
    expect(checkBlockBody(stripped)).toMatchObject({ valid: true });
    expect(checkBlockBody({ ...one, data: txs.slice(0, 4) })).toMatchObject({ valid: false, reason: 'tx-count-mismatch' });
    expect(checkBlockBody({ ...one, data: [txs[1]!, txs[0]!, ...txs.slice(2)] })).toMatchObject({ valid: false, reason: 'merkle-root-mismatch' });
    const dup = buildBlock({ parent: genesis.header, transactions: [txs[0]!, txs[0]!], timestamp: 1 });
    expect(checkBlockBody(dup)).toMatchObject({ valid: false, reason: 'duplicate-transaction' });
  });

  it('encodeBlock refuses a body that does not match the count', () => {
    expect(() => encodeBlock({ ...one, data: txs.slice(1) })).toThrow(InvalidArgumentError);
  });

  it('buildBlock copies the zero hash, so no caller can change ZERO_HASH through a header', () => {
    const g = buildBlock({ parent: null, transactions: [], timestamp: 0 });
    (g.header.previousHash as Uint8Array)[0] = 1;
    expect(ZERO_HASH).toEqual(new Uint8Array(32));
  });
});
