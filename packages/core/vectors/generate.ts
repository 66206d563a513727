/**
 * Rebuilds the committed test vectors of `@safechain/core` from fixed seeds and fixed timestamps:
 *
 *   node --conditions=@safechain/source --import tsx packages/core/vectors/generate.ts
 *
 * The output is deterministic: running it twice gives the same bytes, and a test (test/vectors.test.ts) regenerates
 * every file in memory and compares it with the committed one, so a change of the wire format cannot go unnoticed.
 * The files are meant for a second implementation in another language; README.md in this folder describes them.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 as nobleSha256, sha512 } from '@noble/hashes/sha2.js';
import {
  BLOCK_SIGNATURE_DOMAIN,
  MerkleTree,
  NodeKey,
  TX_SIGNATURE_DOMAIN,
  ZERO_HASH,
  blockHash,
  blockSigningMessage,
  buildBlock,
  concatBytes,
  createProofBundle,
  createTransaction,
  encodeBlock,
  encodeBlockHeader,
  encodeSignedTxHeader,
  encodeTransaction,
  encodeTxHeader,
  encodeUnsignedBlockHeader,
  equalBytes,
  fromHex,
  merkleLeafHash,
  merkleNodeHash,
  merkleRoot,
  sha256,
  signBlockHeader,
  stripTransaction,
  toHex,
  transactionId,
  txSigningMessage,
  utf8,
  verifyProof,
  type BlockHeader,
  type ProofBundle,
  type Transaction,
  type VerifyProofOptions,
} from '@safechain/core';

/** One generated file: its name in this folder and its exact text. */
export interface VectorFile {
  readonly name: string;
  readonly text: string;
}

type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json | undefined };

function jsonFile(name: string, value: Json): VectorFile {
  return { name, text: `${JSON.stringify(value, null, 2)}\n` };
}

// ---------------------------------------------------------------------------------------------------------------
// Fixed inputs

/** Seeds are SHA-256 of a label, so anyone can rebuild them: SHA-256(UTF-8("safechain test vector seed: <name>")). */
const SEED_RULE = 'seed = SHA-256(UTF-8("safechain test vector seed: " + name))';
function vectorSeed(name: string): Uint8Array {
  return sha256(utf8(`safechain test vector seed: ${name}`));
}

const KEY_NAMES = ['origin-a', 'origin-b', 'sealer-1', 'sealer-2'] as const;
type KeyName = (typeof KEY_NAMES)[number];
const KEYS = new Map<KeyName, NodeKey>(KEY_NAMES.map((name) => [name, NodeKey.fromSeed(vectorSeed(name))]));
function key(name: KeyName): NodeKey {
  return KEYS.get(name)!;
}

/** 2026-01-01T00:00:00Z in milliseconds. */
const GENESIS_TIME = Date.UTC(2026, 0, 1);

function keyTable(): Json {
  return KEY_NAMES.map((name) => ({ name, seed: toHex(vectorSeed(name)), publicKey: key(name).id }));
}

// ---------------------------------------------------------------------------------------------------------------
// The chain all vectors belong to: a genesis block sealed by sealer-1.

function genesisHeader(): BlockHeader {
  const unsealed = buildBlock({
    parent: null,
    transactions: [],
    timestamp: GENESIS_TIME,
    extraData: utf8('{"chain":"safechain test vectors","consensus":"single"}'),
  }).header;
  return signBlockHeader(unsealed, key('sealer-1'));
}

const GENESIS = genesisHeader();
const CHAIN_ID = blockHash(GENESIS);

// ---------------------------------------------------------------------------------------------------------------
// Transactions

interface TxCase {
  readonly name: string;
  readonly description: string;
  readonly key: KeyName;
  readonly sequence: number;
  readonly createdAt: number;
  readonly contentType: string;
  readonly source?: string;
  readonly traceCodes: readonly string[];
  readonly payload: Uint8Array;
}

const TX_CASES: readonly TxCase[] = [
  {
    name: 'minimal',
    description: 'empty payload, empty content type, no source (flag 0x00), no trace codes',
    key: 'origin-a',
    sequence: 0,
    createdAt: GENESIS_TIME + 1_000,
    contentType: '',
    traceCodes: [],
    payload: new Uint8Array(0),
  },
  {
    name: 'json-record',
    description: 'a machine record with source and two trace codes',
    key: 'origin-a',
    sequence: 1,
    createdAt: GENESIS_TIME + 2_000,
    contentType: 'application/json',
    source: 'press-07/spindle.csv',
    traceCodes: ['ORDER-4711', 'BATCH-2026-001'],
    payload: utf8('{"machine":"press-07","spindleRpm":11800,"tempC":41.5}'),
  },
  {
    name: 'unicode-strings',
    description: 'non-ASCII content type parameter, source and trace codes (2-, 3- and 4-byte UTF-8 sequences)',
    key: 'origin-b',
    sequence: 7,
    createdAt: GENESIS_TIME + 3_000,
    contentType: 'text/plain;charset=utf-8',
    source: 'Prüfstand 3 — 温度センサー',
    traceCodes: ['Ωmega-🚀', 'Ä', '\u00e9\u0301'],
    payload: utf8('Prüfprotokoll: Maß 12,5 mm ✓ 🚀'),
  },
  {
    name: 'empty-source-present',
    description: 'source present but empty (flag 0x01, length 0): distinct from an absent source',
    key: 'origin-b',
    sequence: 8,
    createdAt: GENESIS_TIME + 4_000,
    contentType: 'application/octet-stream',
    source: '',
    traceCodes: [''],
    payload: Uint8Array.from([0x00, 0xff]),
  },
  {
    name: 'two-byte-lengths',
    description: 'a 200-byte source and a 300-byte binary payload: lengths of 128 and more take two varint bytes',
    key: 'origin-a',
    sequence: 2,
    createdAt: GENESIS_TIME + 5_000,
    contentType: 'application/vnd.safechain.test',
    source: 'cell-4/'.padEnd(200, 'x'),
    traceCodes: ['P'.repeat(128)],
    payload: Uint8Array.from({ length: 300 }, (_, i) => i & 0xff),
  },
  {
    name: 'largest-integers',
    description: 'sequence and createdAt at 2^53 - 1, the largest values a decoder accepts',
    key: 'origin-a',
    sequence: Number.MAX_SAFE_INTEGER,
    createdAt: Number.MAX_SAFE_INTEGER,
    contentType: 'text/csv',
    traceCodes: ['A', 'B', 'C'],
    payload: utf8('t,rpm\n0,11800\n'),
  },
];

function makeTransaction(c: TxCase): Transaction {
  const base = {
    chainId: CHAIN_ID,
    payload: c.payload,
    sequence: c.sequence,
    createdAt: c.createdAt,
    contentType: c.contentType,
    traceCodes: c.traceCodes,
  };
  return createTransaction(c.source === undefined ? base : { ...base, source: c.source }, key(c.key));
}

const TRANSACTIONS: readonly Transaction[] = TX_CASES.map(makeTransaction);

function transactionsFile(): VectorFile {
  const vectors = TX_CASES.map((c, i) => {
    const tx = TRANSACTIONS[i]!;
    return {
      name: c.name,
      description: c.description,
      key: c.key,
      origin: toHex(tx.header.origin),
      sequence: c.sequence,
      createdAt: c.createdAt,
      contentType: c.contentType,
      source: c.source,
      traceCodes: c.traceCodes,
      payload: toHex(c.payload),
      payloadHash: toHex(tx.header.payloadHash),
      payloadSize: tx.header.payloadSize,
      header: toHex(encodeTxHeader(tx.header)),
      signingMessage: toHex(txSigningMessage(tx.header)),
      signature: toHex(tx.signature),
      signedHeader: toHex(encodeSignedTxHeader(tx)),
      id: toHex(transactionId(tx)),
      transaction: toHex(encodeTransaction(tx)),
      strippedTransaction: toHex(encodeTransaction(stripTransaction(tx))),
    };
  });
  return jsonFile('transactions.json', {
    description:
      'safechain transaction vectors (docs/wire-format.md). All byte strings are lower-case hex. "source" absent means ' +
      'no source (flag byte 0x00). signingMessage = signatureDomain || header; signature = Ed25519(seed, signingMessage); ' +
      'signedHeader = header || signature; id = SHA-256(signedHeader); transaction = signedHeader || 0x01 || payload; ' +
      'strippedTransaction = signedHeader || 0x00.',
    seedRule: SEED_RULE,
    keys: keyTable(),
    chainId: toHex(CHAIN_ID),
    chainIdNote: 'the block hash of the genesis header in blocks.json',
    signatureDomain: toHex(TX_SIGNATURE_DOMAIN),
    signatureDomainText: 'safechain/transaction/v1',
    vectors,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Merkle trees

/** Leaf i of the Merkle vectors: SHA-256 of i as an 8-byte big-endian integer. */
function merkleId(i: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(i));
  return sha256(b);
}

const MERKLE_SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 1000] as const;
const LARGE_TREE_INDICES = [0, 1, 2, 499, 500, 511, 512, 767, 768, 998, 999];

function merkleFile(): VectorFile {
  const trees = MERKLE_SIZES.map((size) => {
    const ids = Array.from({ length: size }, (_, i) => merkleId(i));
    const tree = MerkleTree.build(ids);
    const indices = size <= 8 ? ids.map((_, i) => i) : LARGE_TREE_INDICES;
    return {
      size,
      root: toHex(merkleRoot(ids)),
      ids: size <= 8 ? ids.map(toHex) : undefined,
      proofs: indices.map((index) => ({ index, id: toHex(ids[index]!), path: tree.proof(index).map(toHex) })),
    };
  });
  const id0 = merkleId(0);
  const id1 = merkleId(1);
  const leaf0 = merkleLeafHash(id0);
  const leaf1 = merkleLeafHash(id1);
  return jsonFile('merkle.json', {
    description:
      'RFC 9162 §2.1 Merkle trees over SHA-256 (docs/wire-format.md §Merkle tree). The empty tree hashes to SHA-256(""); ' +
      'a leaf hashes to SHA-256(0x00 || id); an inner node to SHA-256(0x01 || left || right); a tree of n > 1 leaves ' +
      'splits after the largest power of two below n. A path lists sibling hashes from the leaf up (RFC 9162 §2.1.3).',
    idRule: 'id i = SHA-256(i as 8-byte big-endian unsigned integer); "ids" lists them for trees of up to 8 leaves',
    primitives: {
      id0: toHex(id0),
      id1: toHex(id1),
      leafHashOfId0: toHex(leaf0),
      leafHashOfId1: toHex(leaf1),
      nodeHashOfLeaf0Leaf1: toHex(merkleNodeHash(leaf0, leaf1)),
    },
    trees,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Blocks

function headerFields(h: BlockHeader): Json {
  return {
    height: h.height,
    timestamp: h.timestamp,
    previousHash: toHex(h.previousHash),
    merkleRoot: toHex(h.merkleRoot),
    txCount: h.txCount,
    difficulty: h.difficulty.toString(),
    nonces: h.nonces.map((n) => n.toString()),
    extraData: toHex(h.extraData),
    signatures: h.signatures.map((s) => ({ publicKey: toHex(s.publicKey), signature: toHex(s.signature) })),
  };
}

function headerVector(name: string, description: string, sealed: BlockHeader): Json {
  const unsealed: BlockHeader = { ...sealed, signatures: [] };
  const hash = blockHash(sealed);
  return {
    name,
    description,
    fields: headerFields(sealed),
    sealingBytes: toHex(encodeUnsignedBlockHeader(sealed)),
    hash: toHex(hash),
    signingMessage: toHex(blockSigningMessage(hash)),
    encodedWithoutSignatures: toHex(encodeBlockHeader(unsealed)),
    encoded: toHex(encodeBlockHeader(sealed)),
  };
}

/** Block 1 holds every transaction vector in order; the second is stored stripped. */
function blockOne(): { readonly header: BlockHeader; readonly data: readonly Transaction[] } {
  const built = buildBlock({
    parent: GENESIS,
    transactions: TRANSACTIONS,
    timestamp: GENESIS_TIME + 60_000,
    difficulty: 1n << 40n,
    nonces: [0n, (1n << 64n) - 1n],
  });
  const header = signBlockHeader(signBlockHeader(built.header, key('sealer-2')), key('sealer-1'));
  const data = TRANSACTIONS.map((tx, i) => (i === 1 ? stripTransaction(tx) : tx));
  return { header, data };
}

const BLOCK_ONE = blockOne();

function blocksFile(): VectorFile {
  return jsonFile('blocks.json', {
    description:
      'safechain block header and block vectors (docs/wire-format.md). sealingBytes is the header without its signature ' +
      'list; hash = SHA-256(sealingBytes); each seal signs signingMessage = signatureDomain || hash. encoded is the ' +
      'header with its seals (strictly ascending public keys); encodedWithoutSignatures is the same header with no ' +
      'seals (sealingBytes || 0x00). difficulty and nonces are decimal strings of u64 values.',
    seedRule: SEED_RULE,
    keys: keyTable(),
    signatureDomain: toHex(BLOCK_SIGNATURE_DOMAIN),
    signatureDomainText: 'safechain/block/v1',
    headers: [
      headerVector('genesis', 'height 0, zero previous hash, empty tree, extra data, sealed by sealer-1', GENESIS),
      headerVector(
        'block-1',
        'the transactions of transactions.json in order; u64 difficulty 2^40, nonces 0 and 2^64 - 1; sealed by sealer-1 and sealer-2',
        BLOCK_ONE.header,
      ),
    ],
    block: {
      name: 'block-1',
      description: 'block 1 with its transactions in Merkle order; the second transaction (json-record) is stripped',
      transactionIds: TRANSACTIONS.map((tx) => toHex(transactionId(tx))),
      strippedIndices: [1],
      encoded: toHex(encodeBlock(BLOCK_ONE)),
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Proof bundles

function bundleFor(index: number, withoutPayload: boolean): ProofBundle {
  const tree = MerkleTree.build(TRANSACTIONS.map((tx) => transactionId(tx)));
  return createProofBundle({
    transaction: TRANSACTIONS[index]!,
    header: BLOCK_ONE.header,
    index,
    path: tree.proof(index),
    withoutPayload,
  });
}

function flipHexDigit(hex: string, at: number): string {
  return hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);
}

function proofFile(): VectorFile {
  const bundle = bundleFor(2, false);
  const options: VerifyProofOptions = {
    trustedOrigins: [toHex(TRANSACTIONS[2]!.header.origin)],
    trustedBlocks: [toHex(blockHash(BLOCK_ONE.header))],
  };
  const expected = verifyProof(bundle, options);
  if (!expected.valid) throw new Error(`the proof vector does not verify: ${expected.reason}`);
  const stripped = bundleFor(1, true);
  const strippedExpected = verifyProof(stripped, options);
  if (strippedExpected.valid) throw new Error('the stripped bundle must fail the trusted-origin check');

  const payloadBytes = TRANSACTIONS[2]!.payload!;
  const changedPayload = createProofBundle({
    transaction: { ...TRANSACTIONS[2]!, payload: Uint8Array.from(payloadBytes, (b, i) => (i === 0 ? b ^ 1 : b)) },
    header: BLOCK_ONE.header,
    index: 2,
    path: bundle.inclusion.path.map((p) => fromHex(p)),
  });
  const invalid: { name: string; bundle: ProofBundle; reason: string }[] = [
    { name: 'payload-changed', bundle: changedPayload, reason: 'payload-mismatch' },
    {
      name: 'created-at-changed',
      // The createdAt field is bytes 74..81 of the signed header: hex characters 148..163.
      bundle: { ...bundle, transaction: { ...bundle.transaction, signedHeader: flipHexDigit(bundle.transaction.signedHeader, 163) } },
      reason: 'bad-transaction-signature',
    },
    { name: 'wrong-index', bundle: { ...bundle, inclusion: { ...bundle.inclusion, index: 3 } }, reason: 'merkle-path-mismatch' },
    {
      name: 'path-hash-changed',
      bundle: { ...bundle, inclusion: { ...bundle.inclusion, path: bundle.inclusion.path.map((p, i) => (i === 0 ? flipHexDigit(p, 0) : p)) } },
      reason: 'merkle-path-mismatch',
    },
    {
      name: 'block-timestamp-changed',
      // The timestamp is bytes 10..17 of the header: hex characters 20..35.
      bundle: { ...bundle, block: { header: flipHexDigit(bundle.block.header, 35) } },
      reason: 'bad-block-signature',
    },
    { name: 'other-chain', bundle: { ...bundle, chainId: toHex(ZERO_HASH) }, reason: 'chain-mismatch' },
  ];
  for (const v of invalid) {
    const verdict = verifyProof(v.bundle, options);
    if (verdict.valid || verdict.reason !== v.reason) throw new Error(`invalid bundle ${v.name} gave ${JSON.stringify(verdict)}`);
  }
  return jsonFile('proof-bundle.json', {
    description:
      'A proof bundle (docs/proof-format.md) for the transaction "unicode-strings" (index 2) of block 1 in blocks.json, ' +
      'its verdict under the given options, a payload-less bundle, and changed bundles with the reason verification gives.',
    options: { trustedOrigins: options.trustedOrigins!, trustedBlocks: options.trustedBlocks! },
    bundle: bundle as unknown as Json,
    expected: expected as unknown as Json,
    withoutPayload: {
      description: 'transaction "json-record" (index 1) without its payload; its origin is not the trusted one',
      bundle: stripped as unknown as Json,
      expectedWithoutOptions: verifyProof(stripped) as unknown as Json,
      expectedWithOptions: strippedExpected as unknown as Json,
    },
    invalid: invalid.map((v) => ({ name: v.name, bundle: v.bundle as unknown as Json, reason: v.reason })),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Ed25519

const Point = ed25519.Point;
type EdPoint = InstanceType<typeof Point>;
const P = 2n ** 255n - 19n;
const L = Point.Fn.ORDER;

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function leToBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

function withSignBit(bytes: Uint8Array, sign: boolean): Uint8Array {
  const out = bytes.slice();
  out[31] = (out[31]! & 0x7f) | (sign ? 0x80 : 0);
  return out;
}

/** k = SHA-512(R || A || M) mod L over the given encodings, as RFC 8032 §5.1.7 computes it. */
function challenge(r: Uint8Array, a: Uint8Array, message: Uint8Array): bigint {
  return leToBig(sha512(concatBytes(r, a, message))) % L;
}

function scalarFromLabel(label: string): bigint {
  return leToBig(sha512(utf8(`safechain ed25519 vector scalar: ${label}`))) % L;
}

/** Decodes leniently (ZIP-215: y may be >= p, x = 0 with the sign bit set is accepted). */
function decodeLenient(bytes: Uint8Array): EdPoint | null {
  if (bytes.length !== 32) return null;
  try {
    return Point.fromBytes(bytes, true);
  } catch {
    return null;
  }
}

function mul(point: EdPoint, scalar: bigint): EdPoint {
  return point.multiplyUnsafe(((scalar % L) + L) % L);
}

type Reason =
  | 'accepted'
  | 'length'
  | 'non-canonical-public-key'
  | 'small-order-public-key'
  | 'public-key-not-on-curve'
  | 'non-canonical-r'
  | 'small-order-r'
  | 'non-canonical-s'
  | 'equation';

/**
 * safechain's verdict, derived here from the curve arithmetic and the rules as docs/wire-format.md states them,
 * without calling the library's rule code (the test then checks the library against it).
 */
function expectedReason(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Reason {
  if (publicKey.length !== 32 || signature.length !== 64) return 'length';
  const r = signature.subarray(0, 32);
  const yOf = (b: Uint8Array): bigint => leToBig(withSignBit(b, false));
  if (yOf(publicKey) >= P) return 'non-canonical-public-key';
  const a = decodeLenient(publicKey);
  if (a !== null && a.isSmallOrder()) return 'small-order-public-key';
  if (yOf(r) >= P) return 'non-canonical-r';
  const rPoint = decodeLenient(r);
  if (rPoint !== null && rPoint.isSmallOrder()) return 'small-order-r';
  const s = leToBig(signature.subarray(32));
  if (s >= L) return 'non-canonical-s';
  if (a === null) return 'public-key-not-on-curve';
  const check = mul(Point.BASE, s).subtract(mul(a, challenge(r, publicKey, message))).toBytes();
  return equalBytes(check, r) ? 'accepted' : 'equation';
}

/** The two verification equations as curve arithmetic on leniently decoded points (null: a point does not decode). */
function equations(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): { cofactorless: boolean | null; cofactored: boolean | null } {
  if (publicKey.length !== 32 || signature.length !== 64) return { cofactorless: null, cofactored: null };
  const a = decodeLenient(publicKey);
  const r = decodeLenient(signature.subarray(0, 32));
  if (a === null || r === null) return { cofactorless: null, cofactored: null };
  const s = leToBig(signature.subarray(32)) % L;
  const lhs = mul(Point.BASE, s);
  const rhs = r.add(mul(a, challenge(signature.subarray(0, 32), publicKey, message)));
  return { cofactorless: lhs.equals(rhs), cofactored: lhs.clearCofactor().equals(rhs.clearCofactor()) };
}

interface EdVector {
  readonly name: string;
  readonly group: string;
  readonly note?: string;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/** RFC 8032 §7.1, TEST 1, 2, 3, 1024 and SHA(abc): secret key, public key, message, signature. */
const RFC8032: readonly { name: string; secret: string; publicKey: string; message: string; signature: string }[] = [
  {
    name: 'RFC 8032 TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'RFC 8032 TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'RFC 8032 TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'RFC 8032 TEST 1024',
    secret: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    publicKey: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    message:
      '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0',
    signature:
      '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03',
  },
  {
    name: 'RFC 8032 TEST SHA(abc)',
    secret: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    publicKey: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message:
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    signature:
      'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

/** The eight points of order dividing 8, from a point of order 8 found on the curve (not from a table). */
function torsionPoints(): EdPoint[] {
  for (let y = 2n; ; y++) {
    const p = decodeLenient(le32(y));
    if (p === null) continue;
    // [L]P removes the prime-order part and leaves the torsion component (times L, which is odd: still a generator).
    const t = mul(p, L - 1n).add(p);
    if (!t.multiplyUnsafe(4n).is0()) return Array.from({ length: 8 }, (_, k) => (k === 0 ? Point.ZERO : mul(t, BigInt(k))));
  }
}

/** Signs `message` as if the public key were `publicKeyBytes`, with secret scalar `a` and nonce `r`: S = r + k·a. */
function signWith(publicKeyBytes: Uint8Array, a: bigint, rBytes: Uint8Array, r: bigint, message: Uint8Array): Uint8Array {
  const k = challenge(rBytes, publicKeyBytes, message);
  return concatBytes(rBytes, le32((((r + k * a) % L) + L) % L));
}

function ed25519Vectors(): EdVector[] {
  const out: EdVector[] = [];
  for (const v of RFC8032) {
    const secret = fromHex(v.secret);
    const message = fromHex(v.message);
    // Guards the transcription: the key and the deterministic signature must come out exactly as the RFC prints them.
    if (toHex(ed25519.getPublicKey(secret)) !== v.publicKey) throw new Error(`${v.name}: public key differs`);
    if (toHex(ed25519.sign(message, secret)) !== v.signature) throw new Error(`${v.name}: signature differs`);
    out.push({ name: v.name, group: 'rfc8032', publicKey: fromHex(v.publicKey), message, signature: fromHex(v.signature) });
  }
  if (toHex(out[4]!.message) !== toHex(sha512(utf8('abc')))) throw new Error('SHA(abc) message differs');

  // A base key and signature that the edge cases below alter.
  const baseSeed = vectorSeed('ed25519-base');
  const basePublic = ed25519.getPublicKey(baseSeed);
  // The secret scalar a of the base key (RFC 8032 §5.1.5), for signatures built by hand below.
  const baseScalar = ed25519.utils.getExtendedPublicKey(baseSeed).scalar % L;
  const baseMessage = utf8('safechain ed25519 edge cases');
  const baseSignature = ed25519.sign(baseMessage, baseSeed);
  const R = baseSignature.subarray(0, 32);
  const S = leToBig(baseSignature.subarray(32));
  const base = (name: string, group: string, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, note?: string): void => {
    out.push(note === undefined ? { name, group, publicKey, message, signature } : { name, group, note, publicKey, message, signature });
  };
  const flip = (bytes: Uint8Array, bit: number): Uint8Array => {
    const c = bytes.slice();
    c[bit >> 3] = c[bit >> 3]! ^ (1 << (bit & 7));
    return c;
  };

  base('base signature', 'valid', basePublic, baseMessage, baseSignature, 'the unaltered signature the edge cases start from');
  base('empty message, other key', 'valid', ed25519.getPublicKey(vectorSeed('ed25519-other')), new Uint8Array(0),
    ed25519.sign(new Uint8Array(0), vectorSeed('ed25519-other')));

  // Wrong message and flipped bits.
  base('wrong message', 'tampered', basePublic, utf8('safechain ed25519 edge cases!'), baseSignature);
  base('message last bit flipped', 'tampered', basePublic, flip(baseMessage, baseMessage.length * 8 - 1), baseSignature);
  base('signature from another key', 'tampered', ed25519.getPublicKey(vectorSeed('ed25519-other')), baseMessage, baseSignature);
  for (const bit of [0, 100, 254, 255]) base(`public key bit ${bit} flipped`, 'tampered', flip(basePublic, bit), baseMessage, baseSignature);
  for (const bit of [0, 100, 254, 255]) base(`R bit ${bit} flipped`, 'tampered', basePublic, baseMessage, flip(baseSignature, bit));
  for (const bit of [256, 400, 507, 508, 511]) base(`S bit ${bit - 256} flipped`, 'tampered', basePublic, baseMessage, flip(baseSignature, bit));

  // Non-canonical S: the same equation holds for S + L, but only S < L is accepted.
  base('S + L', 'non-canonical-s', basePublic, baseMessage, concatBytes(R, le32(S + L)), 'the equation holds for S + L; rejected only because S >= L');
  base('S = L', 'non-canonical-s', basePublic, baseMessage, concatBytes(R, le32(L)));
  base('S = 2^256 - 1', 'non-canonical-s', basePublic, baseMessage, concatBytes(R, le32(2n ** 256n - 1n)));
  base('S = L - 1 (largest canonical S)', 'tampered', basePublic, baseMessage, concatBytes(R, le32(L - 1n)));

  // Non-canonical point encodings: y in [p, 2^255 - 1], both sign bits, as A and as R.
  for (let t = 0n; t < 19n; t++) {
    for (const sign of [false, true]) {
      const enc = withSignBit(le32(P + t), sign);
      const label = `y = p + ${t}${sign ? ', sign bit set' : ''}`;
      base(`non-canonical public key ${label}`, 'non-canonical-public-key', enc, baseMessage, baseSignature);
      base(`non-canonical R ${label}`, 'non-canonical-r', basePublic, baseMessage, concatBytes(enc, baseSignature.subarray(32)));
    }
  }

  // Small-order points, as A and as R, every point and both sign bits. The signatures are built so that the
  // cofactorless equation holds wherever it can: only the small-order rule rejects them.
  const torsion = torsionPoints();
  torsion.forEach((t, k) => {
    for (const sign of [false, true]) {
      const canonical = t.toBytes();
      const enc = sign ? withSignBit(canonical, (canonical[31]! & 0x80) === 0) : canonical;
      const label = `[${k}]T8${sign ? ', sign bit flipped' : ''}`;
      // As A: R = [r]B and S = r satisfy [S]B = R + [k]A exactly when [k]A is the identity; search r for it.
      for (let i = 0; ; i++) {
        const r = scalarFromLabel(`small-order A ${k} ${sign} ${i}`);
        const rBytes = mul(Point.BASE, r).toBytes();
        const kk = challenge(rBytes, enc, baseMessage);
        const a = decodeLenient(enc);
        if (a === null || mul(a, kk).is0()) {
          base(`small-order public key ${label}`, 'small-order-public-key', enc, baseMessage, concatBytes(rBytes, le32(r)),
            'the cofactorless equation holds: only the small-order rule rejects it');
          break;
        }
      }
      // As R: S = k·a satisfies the cofactored equation for every small-order R, the cofactorless one only for R = 0.
      base(`small-order R ${label}`, 'small-order-r', basePublic, baseMessage, signWith(basePublic, baseScalar, enc, 0n, baseMessage));
    }
  });

  // Mixed-order points: a prime-order point plus a point of order 8. Cofactored and cofactorless verification
  // disagree unless k is a multiple of 8; safechain uses the cofactorless equation.
  const t8 = torsion[1]!;
  const mixedA = mul(Point.BASE, baseScalar).add(t8).toBytes();
  let disagree = false;
  let agree = false;
  for (let i = 0; !(disagree && agree); i++) {
    const r = scalarFromLabel(`mixed-order A ${i}`);
    const rBytes = mul(Point.BASE, r).toBytes();
    const k = challenge(rBytes, mixedA, baseMessage);
    const sig = signWith(mixedA, baseScalar, rBytes, r, baseMessage);
    if (k % 8n !== 0n && !disagree) {
      disagree = true;
      base('mixed-order public key, k not a multiple of 8', 'mixed-order', mixedA, baseMessage, sig,
        'A = [a]B + T8: the cofactored equation holds, the cofactorless one does not; rejected');
    } else if (k % 8n === 0n && !agree) {
      agree = true;
      base('mixed-order public key, k a multiple of 8', 'mixed-order', mixedA, baseMessage, sig,
        'A = [a]B + T8 with [k]T8 = 0: both equations hold; accepted (A is canonical and not of small order)');
    }
  }
  const rMixedScalar = scalarFromLabel('mixed-order R');
  const rMixed = mul(Point.BASE, rMixedScalar).add(t8).toBytes();
  base('mixed-order R', 'mixed-order', basePublic, baseMessage, signWith(basePublic, baseScalar, rMixed, rMixedScalar, baseMessage),
    'R = [r]B + T8 with S = r + k·a: the cofactored equation holds, the cofactorless one does not; rejected');

  // Points that are not on the curve.
  for (let y = 2n; y < 40n; y++) {
    if (decodeLenient(le32(y)) === null) {
      base(`public key not on the curve (y = ${y})`, 'not-on-curve', le32(y), baseMessage, baseSignature);
      base(`R not on the curve (y = ${y})`, 'not-on-curve', basePublic, baseMessage, concatBytes(le32(y), baseSignature.subarray(32)));
      break;
    }
  }

  // Wrong lengths.
  const resized = (bytes: Uint8Array, n: number): Uint8Array =>
    n <= bytes.length ? bytes.slice(0, n) : concatBytes(bytes, new Uint8Array(n - bytes.length));
  for (const n of [0, 31, 33, 64]) base(`public key of ${n} bytes`, 'length', resized(basePublic, n), baseMessage, baseSignature);
  for (const n of [0, 32, 63, 65]) base(`signature of ${n} bytes`, 'length', basePublic, baseMessage, resized(baseSignature, n));
  return out;
}

function ed25519File(): VectorFile {
  const vectors = ed25519Vectors().map((v) => {
    const reason = expectedReason(v.publicKey, v.message, v.signature);
    const eq = equations(v.publicKey, v.message, v.signature);
    return {
      name: v.name,
      group: v.group,
      note: v.note,
      publicKey: toHex(v.publicKey),
      message: toHex(v.message),
      signature: toHex(v.signature),
      valid: reason === 'accepted',
      reason,
      cofactorless: eq.cofactorless,
      cofactored: eq.cofactored,
    };
  });
  return jsonFile('ed25519.json', {
    description:
      'Ed25519 verification vectors with the verdict under safechain\'s rules (docs/wire-format.md §Signatures): ' +
      '32-byte public key and 64-byte signature; A and R canonical (y < p); neither A nor R of small order, whatever ' +
      'the sign bit; S < L; then the cofactorless equation [S]B = R + [k]A, compared as encodings. "reason" names the ' +
      'first rule that rejects, or "equation" when the rules pass and the equation fails, or "accepted". ' +
      '"cofactorless" and "cofactored" are informative: the two equations evaluated on leniently decoded points ' +
      '(ZIP-215 decoding, S reduced mod L), null when a point does not decode. They show which library behaviour the ' +
      'rules override: a ZIP-215 verifier (noble\'s default) accepts exactly where "cofactored" is true and S < L, so ' +
      'it accepts the mixed-order vectors; OpenSSL checks the cofactorless equation but accepts small-order public keys.',
    vectors,
  });
}

// ---------------------------------------------------------------------------------------------------------------

/** Every vector file, generated in memory. */
export function generateVectorFiles(): VectorFile[] {
  // Cross-check the provider's SHA-256 with noble's once, so a provider bug cannot be frozen into the vectors.
  if (toHex(sha256(utf8('abc'))) !== toHex(nobleSha256(utf8('abc')))) throw new Error('SHA-256 providers disagree');
  return [transactionsFile(), merkleFile(), blocksFile(), proofFile(), ed25519File()];
}

/** The folder the committed vectors live in. */
export const VECTOR_DIR: string = dirname(fileURLToPath(import.meta.url));

const invokedAs = process.argv[1];
if (invokedAs !== undefined && import.meta.url === pathToFileURL(resolve(invokedAs)).href) {
  for (const file of generateVectorFiles()) {
    writeFileSync(join(VECTOR_DIR, file.name), file.text);
    console.log(`wrote ${file.name} (${Buffer.byteLength(file.text)} bytes)`);
  }
}
