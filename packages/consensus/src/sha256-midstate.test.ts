import { buildBlock, encodeUnsignedBlockHeader, getCryptoProvider, sha256, type CryptoProvider } from '@safechain/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { powConsensus } from './pow.js';
import { NonceHasher } from './sha256-midstate.js';
import { meetsTarget, powTargetBytes } from './difficulty.js';
import { deterministicKey } from './testing.js';

describe('NonceHasher', () => {
  it('hashes like SHA-256 for every message length around the block and padding boundaries', () => {
    for (let length = 8; length <= 200; length++) {
      const message = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      for (const at of new Set([0, 55 % (length - 7), 56 % (length - 7), 60 % (length - 7), length - 8])) {
        const hasher = new NonceHasher(message, at);
        hasher.setNonce(0x01020304, 0xa0b0c0d0);
        hasher.hash();
        const expected = message.slice();
        new DataView(expected.buffer).setUint32(at, 0x01020304);
        new DataView(expected.buffer).setUint32(at + 4, 0xa0b0c0d0);
        expect({ length, at, digest: hasher.digestBytes() }).toEqual({ length, at, digest: sha256(expected) });
      }
    }
  });

  it('matches the provider on random messages, offsets and nonces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 300 }), fc.nat(), fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 0xffff_ffff }), (message, at, hi, lo) => {
        const offset = at % (message.length - 7);
        const hasher = new NonceHasher(message, offset);
        hasher.setNonce(hi, lo);
        hasher.hash();
        const expected = message.slice();
        const view = new DataView(expected.buffer);
        view.setUint32(offset, hi);
        view.setUint32(offset + 4, lo);
        expect(hasher.digestBytes()).toEqual(sha256(expected));
      }),
      { numRuns: 300 },
    );
  });
});

describe('nonce search with a provider that is not plain SHA-256', () => {
  it('falls back to the provider for every attempt, so its own verdict accepts the result', async () => {
    const standard = getCryptoProvider();
    const odd: CryptoProvider = {
      ...standard,
      name: 'odd',
      sha256: (data) => {
        const digest = standard.sha256(data).slice();
        digest[0]! ^= 0x80;
        return digest;
      },
    };
    const consensus = powConsensus({ initialDifficulty: 64n, targetBlockTimeMs: 1_000, adjustmentWindow: 10, maxAdjustmentFactor: 2, provider: odd });
    const genesis = buildBlock({ parent: null, transactions: [], timestamp: 0 }).header;
    const miner = deterministicKey(51);
    const unsealed = buildBlock({ parent: genesis, transactions: [], timestamp: 1_000 }, odd).header;
    const header = await consensus.seal(consensus.prepareHeader(unsealed, [genesis], miner.publicKey, 1_000)!, miner);
    expect(consensus.validateHeader(header, [genesis], 1_000)).toEqual({ status: 'valid' });
    expect(meetsTarget(odd.sha256(encodeUnsignedBlockHeader(header)), powTargetBytes(64n))).toBe(true);
  });
});
