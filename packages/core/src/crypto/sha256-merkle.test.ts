import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { concatBytes, nodeCryptoProvider, portableCryptoProvider } from '@safechain/core';
import { bytesToWords, leafHashWords, nodeHashWords, wordsToBytes } from './sha256-merkle.js';

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

function opensslSha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

describe('fixed-input SHA-256 for Merkle hashing', () => {
  it('leaf hash equals SHA-256(0x00 || id) by OpenSSL, noble and both providers', () => {
    fc.assert(
      fc.property(bytes32, (id) => {
        const out = new Int32Array(8);
        leafHashWords(id, 0, out, 0);
        const expected = opensslSha256(concatBytes(Uint8Array.of(0), id));
        expect(wordsToBytes(out, 0)).toEqual(expected);
        expect(nobleSha256(concatBytes(Uint8Array.of(0), id))).toEqual(expected);
        expect(nodeCryptoProvider.sha256(concatBytes(Uint8Array.of(0), id))).toEqual(expected);
        expect(portableCryptoProvider.sha256(concatBytes(Uint8Array.of(0), id))).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('node hash equals SHA-256(0x01 || left || right)', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (left, right) => {
        const words = new Int32Array(16);
        bytesToWords(left, words, 0);
        bytesToWords(right, words, 8);
        const out = new Int32Array(8);
        nodeHashWords(words, 0, 8, out, 0);
        expect(wordsToBytes(out, 0)).toEqual(opensslSha256(concatBytes(Uint8Array.of(1), left, right)));
      }),
      { numRuns: 500 },
    );
  });

  it('reads an id at an offset and writes at an offset', () => {
    const ids = Uint8Array.from({ length: 96 }, (_, i) => (i * 7) & 0xff);
    const out = new Int32Array(24).fill(-1);
    leafHashWords(ids, 32, out, 8);
    expect(wordsToBytes(out, 8)).toEqual(opensslSha256(concatBytes(Uint8Array.of(0), ids.subarray(32, 64))));
    expect(Array.from(out.subarray(0, 8))).toEqual(Array(8).fill(-1));
    expect(Array.from(out.subarray(16))).toEqual(Array(8).fill(-1));
  });

  it('may write its output over its left input (the in-place level reduction relies on it)', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (left, right) => {
        const words = new Int32Array(16);
        bytesToWords(left, words, 0);
        bytesToWords(right, words, 8);
        nodeHashWords(words, 0, 8, words, 0);
        expect(wordsToBytes(words, 0)).toEqual(opensslSha256(concatBytes(Uint8Array.of(1), left, right)));
        // and with the inputs swapped, over the right one
        bytesToWords(left, words, 0);
        bytesToWords(right, words, 8);
        nodeHashWords(words, 8, 0, words, 8);
        expect(wordsToBytes(words, 8)).toEqual(opensslSha256(concatBytes(Uint8Array.of(1), right, left)));
      }),
      { numRuns: 200 },
    );
  });

  it('converts between bytes and words losslessly, for bytes with the high bit set too', () => {
    fc.assert(
      fc.property(bytes32, (b) => {
        const words = new Int32Array(8);
        bytesToWords(b, words, 0);
        expect(wordsToBytes(words, 0)).toEqual(b);
      }),
    );
    const ff = new Uint8Array(32).fill(0xff);
    const words = new Int32Array(8);
    bytesToWords(ff, words, 0);
    expect(wordsToBytes(words, 0)).toEqual(ff);
  });
});
