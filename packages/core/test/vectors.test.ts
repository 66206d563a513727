import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  BLOCK_SIGNATURE_DOMAIN,
  NodeKey,
  TX_SIGNATURE_DOMAIN,
  blockHash,
  concatBytes,
  decodeBlock,
  decodeBlockHeader,
  decodeSignedTxHeader,
  decodeTransaction,
  decodeTxHeader,
  encodeUnsignedBlockHeader,
  fromHex,
  merkleRoot,
  portableCryptoProvider,
  sha256,
  toHex,
  transactionId,
  utf8,
  verifyBlockSignatures,
  verifyInclusion,
  verifyProof,
  verifySignature,
  verifyTransaction,
} from '@safechain/core';
import { VECTOR_DIR, generateVectorFiles } from '../vectors/generate.js';

function committed(name: string): string {
  return readFileSync(join(VECTOR_DIR, name), 'utf8');
}

// The shapes of the vector files, as another implementation would read them.
interface TransactionsFile {
  keys: { name: string; seed: string; publicKey: string }[];
  chainId: string;
  signatureDomain: string;
  vectors: {
    origin: string;
    sequence: number;
    createdAt: number;
    contentType: string;
    source?: string;
    traceCodes: string[];
    payload: string;
    header: string;
    signingMessage: string;
    signature: string;
    signedHeader: string;
    id: string;
    transaction: string;
    strippedTransaction: string;
  }[];
}
interface MerkleFile {
  primitives: { id0: string; leafHashOfId0: string; leafHashOfId1: string; nodeHashOfLeaf0Leaf1: string };
  trees: { size: number; root: string; ids?: string[]; proofs: { index: number; id: string; path: string[] }[] }[];
}
interface HeaderVector {
  fields: { height: number; previousHash: string; difficulty: string; nonces: string[]; signatures: unknown[] };
  sealingBytes: string;
  hash: string;
  signingMessage: string;
  encodedWithoutSignatures: string;
  encoded: string;
}
interface BlocksFile {
  signatureDomain: string;
  headers: HeaderVector[];
  block: { transactionIds: string[]; strippedIndices: number[]; encoded: string };
}
interface ProofFile {
  options: { trustedOrigins: string[]; trustedBlocks: string[] };
  bundle: unknown;
  expected: unknown;
  withoutPayload: { bundle: unknown; expectedWithoutOptions: unknown; expectedWithOptions: unknown };
  invalid: { name: string; bundle: unknown; reason: string }[];
}

function json<T>(name: string): T {
  return JSON.parse(committed(name)) as T;
}

describe('committed vectors', () => {
  const files = generateVectorFiles();

  it('are exactly what the generator produces, byte for byte', () => {
    for (const file of files) {
      const onDisk = readFileSync(join(VECTOR_DIR, file.name));
      expect(onDisk.equals(Buffer.from(file.text, 'utf8')), `${file.name} differs from generate.ts output: run the generator and review the diff`).toBe(
        true,
      );
    }
  });

  it('are all generated: no stale file lies in the folder', () => {
    const json = readdirSync(VECTOR_DIR).filter((f) => f.endsWith('.json')).sort();
    expect(json).toEqual(files.map((f) => f.name).sort());
  });
});

// The checks below read the committed files the way another implementation would, and check them with the
// decoders and verifiers (not with the generator): a wrong vector cannot pass just because the generator made it.

describe('transactions.json', () => {
  const file = json<TransactionsFile>('transactions.json');

  it('derives every key from its seed rule', () => {
    for (const k of file.keys) {
      expect(k.seed).toBe(toHex(sha256(utf8(`safechain test vector seed: ${k.name}`))));
      expect(NodeKey.fromSeedHex(k.seed, portableCryptoProvider).id).toBe(k.publicKey);
    }
    expect(file.signatureDomain).toBe(toHex(TX_SIGNATURE_DOMAIN));
  });

  it('decodes every encoding to the listed fields, and every signature and id checks', () => {
    expect(file.vectors.length).toBeGreaterThanOrEqual(6);
    for (const v of file.vectors) {
      const header = decodeTxHeader(fromHex(v.header));
      expect(toHex(header.chainId)).toBe(file.chainId);
      expect(toHex(header.origin)).toBe(v.origin);
      expect([header.sequence, header.createdAt, header.contentType, header.source, header.traceCodes]).toEqual([
        v.sequence,
        v.createdAt,
        v.contentType,
        v.source,
        v.traceCodes,
      ]);
      expect(toHex(header.payloadHash)).toBe(toHex(nobleSha256(fromHex(v.payload))));
      expect(header.payloadSize).toBe(fromHex(v.payload).length);
      expect(v.signingMessage).toBe(toHex(TX_SIGNATURE_DOMAIN) + v.header);
      expect(verifySignature(fromHex(v.origin), fromHex(v.signingMessage), fromHex(v.signature))).toBe(true);
      expect(v.signedHeader).toBe(v.header + v.signature);
      expect(v.id).toBe(toHex(nobleSha256(fromHex(v.signedHeader))));
      expect(v.transaction).toBe(`${v.signedHeader}01${v.payload}`);
      expect(v.strippedTransaction).toBe(`${v.signedHeader}00`);
      const full = decodeTransaction(fromHex(v.transaction));
      expect(verifyTransaction(full, { chainId: fromHex(file.chainId) })).toEqual({ valid: true });
      expect(toHex(transactionId(decodeSignedTxHeader(fromHex(v.signedHeader))))).toBe(v.id);
    }
  });
});

describe('merkle.json', () => {
  const file = json<MerkleFile>('merkle.json');
  const id = (i: number): Uint8Array => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(i));
    return nobleSha256(b);
  };

  it('follows its id rule and the RFC 9162 primitives', () => {
    const p = file.primitives;
    expect(p.id0).toBe(toHex(id(0)));
    expect(p.leafHashOfId0).toBe(toHex(nobleSha256(concatBytes(Uint8Array.of(0), id(0)))));
    expect(p.nodeHashOfLeaf0Leaf1).toBe(toHex(nobleSha256(concatBytes(Uint8Array.of(1), fromHex(p.leafHashOfId0), fromHex(p.leafHashOfId1)))));
  });

  it('has the right roots for 0, 1, 2, 3, 4, 5, 7, 8 and 1000 leaves, and every path verifies', () => {
    expect(file.trees.map((t) => t.size)).toEqual([0, 1, 2, 3, 4, 5, 7, 8, 1000]);
    for (const t of file.trees) {
      const ids = Array.from({ length: t.size }, (_, i) => id(i));
      expect(t.root).toBe(toHex(merkleRoot(ids, portableCryptoProvider)));
      if (t.ids !== undefined) expect(t.ids).toEqual(ids.map(toHex));
      for (const p of t.proofs) {
        expect(p.id).toBe(toHex(id(p.index)));
        expect(verifyInclusion(id(p.index), p.index, t.size, p.path.map((h) => fromHex(h)), fromHex(t.root))).toBe(true);
      }
    }
  });
});

describe('blocks.json', () => {
  const file = json<BlocksFile>('blocks.json');

  it('decodes every header, whose hash is SHA-256 of its sealing bytes, with seals that verify', () => {
    expect(file.signatureDomain).toBe(toHex(BLOCK_SIGNATURE_DOMAIN));
    for (const v of file.headers) {
      const header = decodeBlockHeader(fromHex(v.encoded));
      expect(header.height).toBe(v.fields.height);
      expect(header.difficulty.toString()).toBe(v.fields.difficulty);
      expect(header.nonces.map(String)).toEqual(v.fields.nonces);
      expect(toHex(encodeUnsignedBlockHeader(header))).toBe(v.sealingBytes);
      expect(v.encoded.startsWith(v.sealingBytes)).toBe(true);
      expect(v.encodedWithoutSignatures).toBe(`${v.sealingBytes}00`);
      expect(v.hash).toBe(toHex(nobleSha256(fromHex(v.sealingBytes))));
      expect(toHex(blockHash(decodeBlockHeader(fromHex(v.encodedWithoutSignatures))))).toBe(v.hash);
      expect(v.signingMessage).toBe(toHex(BLOCK_SIGNATURE_DOMAIN) + v.hash);
      expect(header.signatures.length).toBe(v.fields.signatures.length);
      expect(verifyBlockSignatures(header)).toEqual({ valid: true });
    }
    const [genesis, one] = file.headers as [HeaderVector, HeaderVector];
    expect(genesis.hash).toBe(json<TransactionsFile>('transactions.json').chainId);
    expect(one.fields.previousHash).toBe(genesis.hash);
  });

  it('decodes the block, with its stripped transaction, to the listed ids and Merkle root', () => {
    const b = decodeBlock(fromHex(file.block.encoded));
    expect(b.data.map((tx) => toHex(transactionId(tx)))).toEqual(file.block.transactionIds);
    expect(b.data.map((tx, i) => (tx.payload === undefined ? i : -1)).filter((i) => i >= 0)).toEqual(file.block.strippedIndices);
    expect(toHex(merkleRoot(b.data.map((tx) => transactionId(tx))))).toBe(toHex(b.header.merkleRoot));
    expect(toHex(blockHash(b.header))).toBe(file.headers[1]!.hash);
  });
});

describe('proof-bundle.json', () => {
  const file = json<ProofFile>('proof-bundle.json');

  it('verifies to the listed verdicts, with both providers', () => {
    for (const provider of [undefined, portableCryptoProvider]) {
      const options = provider === undefined ? file.options : { ...file.options, provider };
      expect(verifyProof(file.bundle, options)).toEqual(file.expected);
      expect(verifyProof(file.withoutPayload.bundle)).toEqual(file.withoutPayload.expectedWithoutOptions);
      expect(verifyProof(file.withoutPayload.bundle, options)).toEqual(file.withoutPayload.expectedWithOptions);
      for (const v of file.invalid) expect(verifyProof(v.bundle, options), v.name).toMatchObject({ valid: false, reason: v.reason });
    }
  });
});

