import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as core from '@safechain/core';
import {
  DecodeError,
  InvalidArgumentError,
  MerkleTree,
  NodeKey,
  Reader,
  SafechainError,
  TruncatedInputError,
  buildBlock,
  createTransaction,
  sha256,
  utf8,
} from '@safechain/core';

const key = NodeKey.fromSeed(new Uint8Array(32).fill(3));
const tx = createTransaction({ chainId: new Uint8Array(32), sequence: 0, createdAt: 1, payload: utf8('x') }, key);
const header = buildBlock({ parent: null, transactions: [tx], timestamp: 1 }).header;
const hash = sha256(new Uint8Array(0));

type Call = readonly [name: string, call: () => unknown];

/** Calls that must throw InvalidArgumentError: each public function given a value of the wrong type. */
const wrongTypes: readonly Call[] = [
  ['assertBytes', () => core.assertBytes('ab', 'x')],
  ['fromHex', () => core.fromHex(5 as never)],
  ['fromBase64', () => core.fromBase64({} as never)],
  ['toHex', () => core.toHex('ab' as never)],
  ['toBase64', () => core.toBase64([1, 2] as never)],
  ['concatBytes', () => core.concatBytes(new Uint8Array(1), 'b' as never)],
  ['equalBytes', () => core.equalBytes(null as never, new Uint8Array(0))],
  ['compareBytes', () => core.compareBytes(new Uint8Array(0), [] as never)],
  ['utf8', () => core.utf8(5 as never)],
  ['sha256', () => core.sha256('abc' as never)],
  ['NodeKey.fromSeed', () => NodeKey.fromSeed('00' as never)],
  ['NodeKey.fromSeedHex', () => NodeKey.fromSeedHex(5 as never)],
  ['NodeKey.fromPem', () => NodeKey.fromPem(null as never)],
  ['NodeKey.sign', () => key.sign('message' as never)],
  ['assertPublicKey', () => core.assertPublicKey('ab')],
  ['publicKeyFromHex', () => core.publicKeyFromHex(5 as never)],
  ['publicKeyFromPem', () => core.publicKeyFromPem(5 as never)],
  ['publicKeyToPem', () => core.publicKeyToPem('ab' as never)],
  ['assertTxHeader', () => core.assertTxHeader(5 as never)],
  ['encodeTxHeader', () => core.encodeTxHeader(null as never)],
  ['decodeTxHeader', () => core.decodeTxHeader('ab' as never)],
  ['txSigningMessage', () => core.txSigningMessage({} as never)],
  ['encodeSignedTxHeader', () => core.encodeSignedTxHeader(null as never)],
  ['decodeSignedTxHeader', () => core.decodeSignedTxHeader([1] as never)],
  ['transactionId', () => core.transactionId(5 as never)],
  ['createTransaction (input)', () => createTransaction(null as never, key)],
  ['createTransaction (signer)', () => createTransaction({ chainId: new Uint8Array(32), sequence: 0, payload: new Uint8Array(0) }, null as never)],
  ['encodeTransaction', () => core.encodeTransaction('tx' as never)],
  ['writeTransaction', () => core.writeTransaction(null as never, tx)],
  ['readTransaction', () => core.readTransaction(null as never)],
  ['decodeTransaction', () => core.decodeTransaction(null as never)],
  ['stripTransaction', () => core.stripTransaction(null as never)],
  ['isStripped', () => core.isStripped(5 as never)],
  ['attachPayload (tx)', () => core.attachPayload(null as never, new Uint8Array(0))],
  ['attachPayload (payload)', () => core.attachPayload(tx, 'x' as never)],
  ['verifyTransaction (tx)', () => core.verifyTransaction(null as never)],
  ['verifyTransaction (options)', () => core.verifyTransaction(tx, { chainId: 'x' as never })],
  ['merkleLeafHash', () => core.merkleLeafHash('x' as never)],
  ['merkleNodeHash', () => core.merkleNodeHash(hash, 5 as never)],
  ['merkleRoot', () => core.merkleRoot('ids' as never)],
  ['merkleProof', () => core.merkleProof([hash, 'x'] as never, 0)],
  ['MerkleTree.build', () => MerkleTree.build(5 as never)],
  ['assertBlockHeader', () => core.assertBlockHeader(null as never)],
  ['encodeBlockHeader', () => core.encodeBlockHeader({ ...header, signatures: [null] } as never)],
  ['encodeUnsignedBlockHeader', () => core.encodeUnsignedBlockHeader({ ...header, difficulty: 1 } as never)],
  ['decodeBlockHeader', () => core.decodeBlockHeader('x' as never)],
  ['blockHash', () => core.blockHash(null as never)],
  ['blockSigningMessage', () => core.blockSigningMessage('x' as never)],
  ['signBlockHeader', () => core.signBlockHeader(header, null as never)],
  ['withBlockSignature', () => core.withBlockSignature(header, 5 as never)],
  ['verifyBlockSignatures', () => core.verifyBlockSignatures(null as never)],
  ['encodeBlock', () => core.encodeBlock(null as never)],
  ['decodeBlock', () => core.decodeBlock(5 as never)],
  ['blockTransactionIds', () => core.blockTransactionIds({ header, data: 'x' } as never)],
  ['buildBlock (input)', () => buildBlock(null as never)],
  ['buildBlock (parent)', () => buildBlock({ parent: 5 as never, transactions: [], timestamp: 0 })],
  ['buildBlock (transactions)', () => buildBlock({ parent: null, transactions: 'x' as never, timestamp: 0 })],
  ['checkBlockBody', () => core.checkBlockBody(null as never)],
  ['createProofBundle (input)', () => core.createProofBundle(null as never)],
  ['createProofBundle (path)', () => core.createProofBundle({ transaction: tx, header, index: 0, path: ['ab'] as never })],
  ['createProofBundle (index)', () => core.createProofBundle({ transaction: tx, header, index: -1, path: [] })],
  ['verifyProof (options)', () => core.verifyProof({}, 5 as never)],
];

describe('wrong-type arguments', () => {
  it.each(wrongTypes)('%s throws InvalidArgumentError', (_name, call) => {
    expect(call).toThrow(InvalidArgumentError);
  });

  it('say what was expected and what came', () => {
    expect(() => core.toHex('ab' as never)).toThrow('bytes: expected Uint8Array, got string');
    expect(() => core.merkleLeafHash(new Uint8Array(31))).toThrow('id: expected 32 bytes, got 31');
    expect(() => core.encodeTxHeader({ ...tx.header, sequence: -1 })).toThrow('header.sequence: expected a non-negative safe integer, got number -1');
    expect(() => core.stripTransaction(null as never)).toThrow('transaction: expected object, got null');
  });

  it('the verifiers answer "not valid" instead of throwing', () => {
    expect(core.verifySignature(5 as never, 'm' as never, null as never)).toBe(false);
    expect(core.passesEd25519Rules(null as never, null as never)).toBe(false);
    expect(core.isAcceptablePublicKey('x' as never)).toBe(false);
    expect(core.verifyInclusion('x' as never, 0, 1, [], hash)).toBe(false);
    expect(core.verifyProof(5)).toMatchObject({ valid: false, reason: 'malformed-bundle' });
  });

  it('no public function throws anything but a SafechainError, whatever it is given', () => {
    const isClass = (f: unknown): boolean => typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));
    // The provider registry is configuration, not input; Reader, Writer and the error classes are constructors.
    const skip = new Set(['setCryptoProvider', 'getCryptoProvider']);
    const functions = Object.entries(core).filter(([name, f]) => typeof f === 'function' && !isClass(f) && !skip.has(name)) as [
      string,
      (...args: unknown[]) => unknown,
    ][];
    expect(functions.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const [name, f] of functions) {
      fc.assert(
        fc.property(fc.array(fc.anything(), { minLength: f.length, maxLength: f.length }), (args) => {
          try {
            f(...args);
          } catch (error) {
            if (!(error instanceof SafechainError)) offenders.push(`${name}: ${String(error)}`);
          }
        }),
        { numRuns: 200 },
      );
    }
    expect(offenders).toEqual([]);
  });
});

describe('error classes', () => {
  it('carry a literal name, and decode errors a field and an offset', () => {
    let error: unknown;
    try {
      new Reader(new Uint8Array(0)).u8('thing');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TruncatedInputError);
    expect(error).toBeInstanceOf(DecodeError);
    expect(error).toBeInstanceOf(SafechainError);
    expect(error).toMatchObject({ name: 'TruncatedInputError', field: 'thing', offset: 0, message: 'thing at byte 0: needs 1 bytes, 0 left' });
    // Every concrete error class names itself with the name it is exported under.
    const classes = Object.entries(core).filter(
      ([name, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof SafechainError && name !== 'DecodeError',
    ) as [string, new (...args: unknown[]) => Error][];
    expect(classes.length).toBeGreaterThanOrEqual(15);
    for (const [exported, ErrorClass] of classes) {
      const instance = new ErrorClass('f', 0, 'detail');
      expect(instance).toBeInstanceOf(SafechainError);
      expect(instance.name).toBe(exported);
    }
  });
});
